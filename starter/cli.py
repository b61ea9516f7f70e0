"""`onething`: the command line for operators, staff and scripts.

Every operation a person at a window, a reviewer, an inspector or a supervisor performs is
here; tables on a terminal, `--json` for scripts. Bad input gets one line naming the field.
This module mounts the commands (in the order `--help` lists them); each group lives in a
`cli_*.py` beside it, and what they share in `starter.cli_common`.
"""

from __future__ import annotations

import signal
import sys

import typer

from onething.settings import SettingsError
from starter.cli_audit import app as audit_app
from starter.cli_bench import bench_app
from starter.cli_calendar import calendar_app
from starter.cli_catalog import register as register_catalog_commands
from starter.cli_common import fail
from starter.cli_credit import credit_app
from starter.cli_db import db_app
from starter.cli_keys import keys_app
from starter.cli_licenses import license_app
from starter.cli_procedure import register as register_procedure_commands
from starter.cli_ratings import register as register_rating_commands
from starter.cli_reports import register as register_report_commands
from starter.cli_service import register as register_service_commands
from starter.cli_staff import register as register_staff_commands
from starter.cli_window import register as register_window_commands

app = typer.Typer(
    name="onething",
    help="高效办成一件事: run and drive applications at the service center.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
register_catalog_commands(app)
register_procedure_commands(app)
register_rating_commands(app)
register_report_commands(app)
register_service_commands(app)
register_window_commands(app)
register_staff_commands(app)
app.add_typer(calendar_app, name="calendar")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")
app.add_typer(credit_app, name="credit")
app.add_typer(license_app, name="license")
app.add_typer(keys_app, name="keys")


def main() -> None:
    """The console script: a configuration problem anywhere is one line, exit code 2."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        app()
    except SettingsError as exc:
        fail(str(exc))
        sys.exit(2)


if __name__ == "__main__":
    main()
