"""Custom search attributes: what operators filter on in the Web UI. Never personal data."""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

APPLICATION_STATUS = SearchAttributeKey.for_keyword("OnethingStatus")
BUNDLE = SearchAttributeKey.for_keyword("OnethingBundle")
ITEMS = SearchAttributeKey.for_keyword_list("OnethingItems")
DEPARTMENTS = SearchAttributeKey.for_keyword_list("OnethingDepartments")
HALL = SearchAttributeKey.for_keyword("OnethingHall")
CHANNEL = SearchAttributeKey.for_keyword("OnethingChannel")
CLOCK_STATE = SearchAttributeKey.for_keyword("OnethingClockState")
DUE_AT = SearchAttributeKey.for_datetime("OnethingDueAt")
ESCALATED = SearchAttributeKey.for_bool("OnethingEscalated")
CATALOG_VERSION = SearchAttributeKey.for_keyword("OnethingCatalogVersion")

ALL: tuple[SearchAttributeKey[Any], ...] = (
    APPLICATION_STATUS,
    BUNDLE,
    ITEMS,
    DEPARTMENTS,
    HALL,
    CHANNEL,
    CLOCK_STATE,
    DUE_AT,
    ESCALATED,
    CATALOG_VERSION,
)
