"""The decision trail's vocabulary: the kinds of its rows, and which kind a status, an update
or a signal of a history is (the activities and updates the trail reads: `onething.history_names`).

Procedure revision 2026-12 (`workflows.common.PROCEDURE_REVISION`) added the correction
before acceptance (补正: `awaiting_correction`, then accepted or `lapsed`), the refusal by a
window clerk (the `refuse` update), excluded time (Art. 45), the department head's extension
and the referral to supervision; histories from before keep reading as they did.
"""

from __future__ import annotations

from enum import StrEnum

from domain.application import ApplicationStatus
from domain.people import Role


class Kind(StrEnum):
    """What a row of the trail is."""

    ACCEPTED = "accepted"  # 受理, outright or with deficiency
    CORRECTION = "correction"  # 补正: the notice, and the materials or answers to it
    LAPSED = "lapsed"  # the correction limit passed: deemed withdrawn, never accepted
    REFUSED = "refused"  # 不予受理
    COMMITMENT = "commitment"  # approved on the applicant's commitment
    DECISION = "decision"  # a reviewer's verdict
    SUPPLEMENT = "supplement"  # deficient materials after acceptance (容缺)
    INSPECTION = "inspection"
    EXTENSION = "extension"  # Art. 42
    EXCLUDED_TIME = "excluded_time"  # Art. 45: started, ended with its result
    ESCALATION = "escalation"  # a limit passed: a supervision case
    REFERRAL = "referral"  # the procedure hands the case to supervision on purpose
    REVOCATION = "revocation"
    LICENSE = "license"
    CREDIT = "credit"
    WITHDRAWAL = "withdrawal"
    CANCELLATION = "cancellation"
    COMPLETED = "completed"
    REJECTED = "rejected"
    STOPPED = "stopped"
    TERMINATED = "terminated"
    FAILED = "failed"
    # A license's term (LicenseTermWorkflow: audit.term_trail).
    TERM = "term"  # a term planned from the registry: valid from, through, its window
    REMINDER = "reminder"  # the holder reminded when the renewal window opened
    RENEWAL_APPLIED = "renewal_applied"  # 延续申请 received: its case number
    RENEWAL = "renewal"  # the department's decision on it, or the next term it gave
    DEEMED_RENEWED = "deemed_renewed"  # undecided at expiry: renewed by law (Art. 50)
    EXPIRED = "expired"  # the term ended at its expiry
    # A 差评's follow-up (RatingFollowUpWorkflow).
    FOLLOW_UP = "follow_up"  # the department's answer: fixed or explained
    APPEAL = "appeal"  # an appeal upheld by supervision: the rating excluded
    STATUS = "status"  # a status that echoes a decision another row records
    UPDATE = "update"  # an update or signal the trail has no word for
    SIGNAL = "signal"

    @property
    def label(self) -> str:
        """What an auditor reads in the table (the JSON keeps the code)."""
        return KIND_LABELS[self]


KIND_LABELS = {
    Kind.ACCEPTED: "受理",
    Kind.CORRECTION: "补正",
    Kind.LAPSED: "视为撤回",
    Kind.REFUSED: "不予受理",
    Kind.COMMITMENT: "告知承诺",
    Kind.DECISION: "审查决定",
    Kind.SUPPLEMENT: "容缺补齐",
    Kind.INSPECTION: "现场核查",
    Kind.EXTENSION: "延长期限",
    Kind.EXCLUDED_TIME: "不计入时限",
    Kind.ESCALATION: "超期督办",
    Kind.REFERRAL: "移送监管",
    Kind.REVOCATION: "撤销",
    Kind.LICENSE: "发证",
    Kind.CREDIT: "信用记录",
    Kind.WITHDRAWAL: "撤回申请",
    Kind.CANCELLATION: "取消",
    Kind.COMPLETED: "办结",
    Kind.REJECTED: "不予许可",
    Kind.STOPPED: "终止办理",
    Kind.TERMINATED: "运维终止",
    Kind.FAILED: "运行失败",
    Kind.TERM: "有效期",
    Kind.REMINDER: "延续提醒",
    Kind.RENEWAL_APPLIED: "延续申请",
    Kind.RENEWAL: "延续决定",
    Kind.DEEMED_RENEWED: "视为准予延续",
    Kind.EXPIRED: "有效期届满",
    Kind.FOLLOW_UP: "差评回访",
    Kind.APPEAL: "申诉复核",
    Kind.STATUS: "状态",
    Kind.UPDATE: "操作",
    Kind.SIGNAL: "信号",
}


# Words in an update or signal name, first match wins.
NAME_WORDS: tuple[tuple[str, Kind], ...] = (
    ("exclud", Kind.EXCLUDED_TIME),
    ("revok", Kind.REVOCATION),
    ("revocation", Kind.REVOCATION),
    ("supplement", Kind.SUPPLEMENT),
    ("inspect", Kind.INSPECTION),
    ("rectif", Kind.INSPECTION),
    ("extend", Kind.EXTENSION),
    ("extension", Kind.EXTENSION),
    ("escalat", Kind.ESCALATION),
    ("supervision", Kind.ESCALATION),
    ("decide", Kind.DECISION),
    ("review", Kind.DECISION),
    ("approv", Kind.DECISION),
    ("commit", Kind.COMMITMENT),
    ("credit", Kind.CREDIT),
    ("correct", Kind.CORRECTION),
    ("withdraw", Kind.WITHDRAWAL),
    ("cancel", Kind.CANCELLATION),
    ("accept", Kind.ACCEPTED),
    ("refus", Kind.REFUSED),
)


def kind_of_name(name: str, default: Kind) -> Kind:
    lowered = name.lower()
    for word, kind in NAME_WORDS:
        if word in lowered:
            return kind
    return default


# The first of these statuses is the acceptance (with deficiency, or outright); one after a
# correction notice (`awaiting_correction`) is the acceptance too.
OPEN_AFTER_ACCEPTANCE = frozenset(
    {
        ApplicationStatus.IN_PROGRESS.value,
        ApplicationStatus.AWAITING_SUPPLEMENT.value,
        "accepted",  # written by early histories
    }
)
# Statuses the window's receipt explains: the clerk who received the application (or the
# channel it came by) is their actor.
AT_THE_WINDOW = frozenset({Kind.ACCEPTED, Kind.REFUSED, Kind.CORRECTION})

_STATUS_AS = {
    ApplicationStatus.AWAITING_CORRECTION.value: Kind.CORRECTION,
    ApplicationStatus.LAPSED.value: Kind.LAPSED,
    ApplicationStatus.REFUSED.value: Kind.REFUSED,
    ApplicationStatus.COMPLETED.value: Kind.COMPLETED,
    ApplicationStatus.REJECTED.value: Kind.REJECTED,
    ApplicationStatus.STOPPED.value: Kind.STOPPED,
    ApplicationStatus.REVOKED.value: Kind.REVOCATION,  # nothing of the application stands
}


def status_kind(status: str, *, accepted_before: bool, refused_by_update: bool) -> Kind:
    """The trail kind of an application status. Statuses that only echo a decision an update
    recorded (withdrawn, cancelled; refused by a clerk's `refuse`) stay plain status rows;
    before the revision a refusal had no update: the status is the refusal."""
    if status in OPEN_AFTER_ACCEPTANCE:
        return Kind.STATUS if accepted_before else Kind.ACCEPTED
    if status == ApplicationStatus.REFUSED.value and refused_by_update:
        return Kind.STATUS
    return _STATUS_AS.get(status, Kind.STATUS)


ROLES = frozenset(r.value for r in Role)
