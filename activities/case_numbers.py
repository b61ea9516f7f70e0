"""Activity of the case register: the 办件编号 an application gets at acceptance."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from temporalio import activity

from activities.store_errors import store_errors
from domain.case_number import REGION_CODE_PATTERN
from store import case_numbers


class NumberCase(BaseModel):
    model_config = ConfigDict(frozen=True)

    application_id: str = Field(min_length=1, max_length=64)
    hall: str = Field(min_length=1, max_length=64)
    region_code: str = Field(pattern=REGION_CODE_PATTERN)
    accepted_at: datetime  # the acceptance instant (workflow time); its Beijing date counts


class CaseNumberActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="assign_case_number")
    @store_errors
    def assign_case_number(self, request: NumberCase) -> str:
        """The next number of the region and day; idempotent by application ID."""
        number = case_numbers.allocate(
            self._engine,
            application_id=request.application_id,
            hall=request.hall,
            region_code=request.region_code,
            accepted_at=request.accepted_at,
        )
        return str(number)
