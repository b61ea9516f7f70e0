"""The API over a worker of its own per test module (`tests.support.api`): `api` (its
HTTP client), `served_api` (with the app, the typed client and the store) and `api_env`
(the Temporal server under it, which a module may override)."""

from tests.support.api import api, api_env, served_api

__all__ = ["api", "api_env", "served_api"]
