"""The desk that issues a license through a real application and then acts on its term
(`Desk`): reads the term workflow's state, applies for and decides renewal, moves the
time-skipping server's clock. Used by tests/workflows/test_license_renewal.py and by the
recorded license-term histories (tests/histories/standalone.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import InspectionResult
from domain.catalog import Catalog
from domain.license_term import LicenseTermState
from starter.client import OnethingClient
from starter.license_terms import LicenseTerms
from store import documents, licenses, notifications
from tests.conftest import onething_client
from tests.desk import approve, eventually, inspect, skip_to
from tests.support.lifecycle import submission


class Desk:
    def __init__(
        self, env: WorkflowEnvironment, client: OnethingClient, engine: Engine, catalog: Catalog
    ) -> None:
        self.env, self.client, self.engine, self.catalog = env, client, engine, catalog
        self.terms = LicenseTerms(env.client)

    async def issue(
        self, item: str, *, commitment: bool = False, applicant_seed: str | None = None
    ) -> licenses.License:
        """A license of `item`, issued through an application (by review, or by commitment
        with the post-issuance inspection passed)."""
        seed = applicant_seed or item
        sub = submission(self.catalog, item, commitment=commitment, applicant_seed=seed)
        await self.client.submit(sub)
        app_id = sub.application_id
        if commitment:
            await inspect(self.client, self.catalog, app_id, item, InspectionResult.PASSED)
        else:
            await approve(self.client, self.catalog, app_id, item)

        async def issued() -> list[licenses.License]:
            return licenses.licenses_of(self.engine, app_id)

        [found] = await eventually(issued, bool, "the license is issued")
        return found

    async def term(
        self, number: str, ok: Callable[[LicenseTermState], bool] = lambda s: True
    ) -> LicenseTermState:
        async def read() -> LicenseTermState:
            return await self.terms.state(number)

        return await eventually(read, ok, "the term workflow answers")

    async def skip_to(self, at: datetime) -> None:
        await skip_to(self.env, at)

    def notices(self, application_id: str, kind: str) -> list[notifications.Notification]:
        return [
            n for n in notifications.notifications_of(self.engine, application_id) if n.kind == kind
        ]

    def document(self, application_id: str, kind: str) -> documents.Document:
        [found] = [d for d in documents.documents_of(self.engine, application_id) if d.kind == kind]
        return found


@asynccontextmanager
async def desk_over(
    env: WorkflowEnvironment, engine: Engine, catalog: Catalog
) -> AsyncIterator[Desk]:
    """The desk over the production worker of `env`, on `engine`."""
    async with onething_client(env, engine, catalog) as client:
        yield Desk(env, client, engine, catalog)
