"""Alembic migrations of the store: `store.migrate.upgrade` or `onething db upgrade` run them."""
