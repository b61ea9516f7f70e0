"""The activities and updates the auditors' trail (`audit.trail`) and the KPI read model's
projector (`onething.case_facts`) recognise in a history, by the names their definitions
register them under: one table, so a renamed activity or update is renamed here
too, and no reader repeats a name as a string."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity, workflow

from activities.calendar import CalendarActivities
from activities.catalog import CatalogActivities
from activities.credit import CreditActivities
from activities.license_terms import LicenseTermActivities
from activities.licensing import LicensingActivities
from activities.notify import NotifyActivities
from activities.reception import ReceptionActivities
from activities.supervision import SupervisionActivities
from workflows.application import ApplicationWorkflow
from workflows.item import ItemWorkflow
from workflows.license_term import LicenseTermWorkflow
from workflows.rating_follow_up import RatingFollowUpWorkflow


def activity_name(fn: Callable[..., Any]) -> str:
    """The name an activity method is registered under (the SDK has no public reader)."""
    name = activity._Definition.must_from_callable(fn).name
    if not name:
        raise TypeError(f"{fn!r} is a dynamic activity: it has no name")
    return name


def signal_name(fn: Callable[..., Any]) -> str:
    """The name a workflow's signal method is sent by."""
    return workflow._SignalDefinition.must_name_from_fn_or_str(fn)


def update_name(fn: Callable[..., Any]) -> str:
    """The name a workflow's update method is called by."""
    name, _ = workflow._UpdateDefinition.get_name_and_result_type(fn)
    if not name:
        raise TypeError(f"{fn!r} is not an update method with a name")
    return name


PIN_CATALOG = activity_name(CatalogActivities.pin_catalog)
RECEIVE_APPLICATION = activity_name(ReceptionActivities.receive_application)  # pins it too
ISSUE_LICENSE = activity_name(LicensingActivities.issue_license)
REVOKE_LICENSE = activity_name(LicensingActivities.revoke_license)
RECORD_CREDIT = activity_name(CreditActivities.record_credit)
OPEN_SUPERVISION_CASE = activity_name(SupervisionActivities.open_case)
REFER_CASE = activity_name(SupervisionActivities.refer_case)
COMPUTE_SCHEDULE = activity_name(CalendarActivities.compute_schedule)
NOTIFY = activity_name(NotifyActivities.notify)
PLAN_TERM = activity_name(LicenseTermActivities.plan_license_term)
ACCEPT_RENEWAL = activity_name(LicenseTermActivities.accept_renewal)
CONCLUDE_TERM = activity_name(LicenseTermActivities.conclude_license_term)

SUPPLEMENT = update_name(ApplicationWorkflow.supplement)
REFUSE = update_name(ApplicationWorkflow.refuse)
WITHDRAW = update_name(ApplicationWorkflow.withdraw)
DECIDE = update_name(ItemWorkflow.decide)
CORRECT = update_name(ItemWorkflow.correct)
INSPECT = update_name(ItemWorkflow.inspect)
EXTEND = update_name(ItemWorkflow.extend)
EXCLUDE_TIME = update_name(ItemWorkflow.exclude_time)
END_EXCLUDED_TIME = update_name(ItemWorkflow.end_excluded_time)
APPLY_FOR_RENEWAL = update_name(LicenseTermWorkflow.apply_for_renewal)
DECIDE_RENEWAL = update_name(LicenseTermWorkflow.decide_renewal)
LICENSE_TERM = LicenseTermWorkflow.__name__  # the workflow type its histories name
ITEM_ISSUED = signal_name(ApplicationWorkflow.item_issued)  # from an item, or its department
ANSWER_FOLLOW_UP = update_name(RatingFollowUpWorkflow.answer)
RATING_EXCLUDED = signal_name(RatingFollowUpWorkflow.rating_excluded)
