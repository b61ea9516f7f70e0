"""What the window, the applicant and operators send to an application (workflow code, for
ApplicationWorkflow): Updates, each beside its validator (bad input is refused before it
enters history), and the signal of an item's license."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import notices
    from domain.application import (
        ITEM_ISSUED_SIGNAL,
        ApplicationStatus,
        Cancellation,
        Channel,
        ExtensionReceipt,
        ItemIssued,
        ItemStatus,
        LimitExtension,
        Refusal,
        StopOrder,
        Supplement,
        Withdrawal,
    )
    from domain.extension import check_joint_extension
    from domain.people import Role
    from workflows.application_record import ApplicationRecord
    from workflows.common import notify


class ApplicationHandlers(ApplicationRecord):
    @workflow.update(description="Deficient materials arrive (window, mail or online).")
    def supplement(self, supplement: Supplement) -> list[str]:
        arrived = set(supplement.materials)
        if supplement.channel is Channel.WINDOW:
            self._trips += 1
        correcting = self._status is ApplicationStatus.AWAITING_CORRECTION
        if correcting:
            self._provided |= arrived
        else:
            self._outstanding = [m for m in self._outstanding if m.code not in arrived]
        clerk = supplement.received_by
        self._record(
            f"{'correction' if correcting else 'supplement'} received by "
            f"{supplement.channel.value}",
            actor=clerk.staff_id if clerk else supplement.channel.value,
            role=clerk.role.value if clerk else "applicant",
            detail=", ".join(sorted(arrived)),
        )
        self._changes += 1
        still = self._assess().missing if correcting else self._outstanding
        return [m.code for m in still]

    @supplement.validator
    def _validate_supplement(self, supplement: Supplement) -> None:
        awaiting = (ApplicationStatus.AWAITING_SUPPLEMENT, ApplicationStatus.AWAITING_CORRECTION)
        if self._status not in awaiting or self._stop is not None or self._unaccepted_end():
            raise ValueError(
                f"status: no materials are awaited (application is {self._status.value})"
            )
        if self._status is ApplicationStatus.AWAITING_CORRECTION:
            outstanding = {m.code for m in self._assess().missing}
        else:
            outstanding = {m.code for m in self._outstanding}
        for index, code in enumerate(supplement.materials):
            if code not in outstanding:
                raise ValueError(
                    f"materials[{index}]: {code!r} is not awaited; awaited: {sorted(outstanding)}"
                )

    @workflow.update(
        description="A window clerk refuses to accept (不予受理): no license needed, or outside "
        "the office's powers. Only before acceptance; never for incomplete materials."
    )
    def refuse(self, refusal: Refusal) -> ApplicationStatus:
        clerk = refusal.refused_by
        self._refusal = refusal
        self._record(
            ApplicationStatus.REFUSED.value,
            actor=clerk.staff_id,
            role=clerk.role.value,
            detail=f"{refusal.ground.label}: {refusal.reason}",
        )
        self._set_status(ApplicationStatus.REFUSED)
        self._changes += 1
        return ApplicationStatus.REFUSED

    @refuse.validator
    def _validate_refuse(self, refusal: Refusal) -> None:
        if refusal.refused_by.role is not Role.WINDOW_CLERK:
            raise ValueError(
                f"refused_by.role: only a window clerk refuses, not {refusal.refused_by.role.value}"
            )
        if self._status is not ApplicationStatus.AWAITING_CORRECTION or self._unaccepted_end():
            raise ValueError(
                f"status: only an application not yet accepted may be refused "
                f"(it is {self._status.value})"
            )

    @workflow.update(
        description="The joint limit of a bundle is extended once by up to 15 working days "
        "(Art. 42 (2)), with the government's approval recorded by a supervisor."
    )
    async def extend_joint_limit(self, extension: LimitExtension) -> ExtensionReceipt:
        clock = self._joint_clock
        assert clock is not None
        by = extension.decided_by
        clock.extend(extension.days, extension.reason, by=by.staff_id)
        self._joint_extended = True
        self._record(
            f"joint limit extended by {extension.days} working days",
            actor=by.staff_id,
            role=by.role.value,
            detail=extension.reason,
        )
        await notify(
            self.submission.application_id,
            "applicant",
            "extension",
            notices.joint_extension_notice(
                self.snapshot.bundle.name, extension.days, extension.reason
            ),
            key="joint-extension",
        )
        return ExtensionReceipt(limit="joint", days=extension.days)

    @extend_joint_limit.validator
    def _validate_extend_joint_limit(self, extension: LimitExtension) -> None:
        clock = self._joint_clock
        if clock is None or clock.record is None or self._stop is not None or self._status.closed:
            raise ValueError("status: no joint limit is running for this application")
        check_joint_extension(extension, extended_before=self._joint_extended)
        clock.validate_extend(extension.days, extension.reason)

    @workflow.update(description="The applicant withdraws; issued licenses stay valid.")
    def withdraw(self, withdrawal: Withdrawal) -> ApplicationStatus:
        clerk = withdrawal.received_by
        if clerk is not None and self.revised:  # at the window, for the applicant
            order = StopOrder(reason=withdrawal.reason, actor=clerk.staff_id, role=clerk.role.value)
            self._stop_with(order, ApplicationStatus.WITHDRAWN, on_behalf_of="applicant")
        else:
            order = StopOrder(reason=withdrawal.reason, actor="applicant", role="applicant")
            self._stop_with(order, ApplicationStatus.WITHDRAWN)
        return ApplicationStatus.WITHDRAWN

    @withdraw.validator
    def _validate_withdraw(self, withdrawal: Withdrawal) -> None:
        self._check_open()

    @workflow.update(description="An operator cancels; issued licenses stay valid.")
    def cancel(self, cancellation: Cancellation) -> ApplicationStatus:
        operator = cancellation.operator
        self._stop_with(
            StopOrder(
                reason=cancellation.reason, actor=operator.staff_id, role=operator.role.value
            ),
            ApplicationStatus.CANCELLED,
        )
        return ApplicationStatus.CANCELLED

    @cancel.validator
    def _validate_cancel(self, cancellation: Cancellation) -> None:
        if cancellation.operator.role is not Role.OPERATOR:
            role = cancellation.operator.role.value
            raise ValueError(f"operator.role: only an operator may cancel, not {role}")
        self._check_open()

    @workflow.signal(
        name=ITEM_ISSUED_SIGNAL,
        description="An item's license is issued; items depending on it may start.",
    )
    def item_issued(self, issued: ItemIssued) -> None:
        ref = self._items[issued.item_code]
        ref.status, ref.license = ItemStatus.ISSUED, issued.license
        self._changes += 1
        self._show_details()
