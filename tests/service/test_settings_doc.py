"""The settings object and its table in docs/operations.md#settings cannot drift: every
variable a field reads (its name and its old names) is a row of the table, every name in
the table is read by a field, and there is only one settings object."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices

from onething.settings import PROJECT_ROOT, Settings

DOC = PROJECT_ROOT / "docs" / "operations.md"
SOURCE_PACKAGES = ("onething", "starter", "store", "activities", "workflows", "domain")


def table_rows(doc: Path = DOC) -> dict[str, list[str]]:
    """The Settings table: each row's first cell's names (the variable, then its old
    names), by the variable, with the row's default and meaning after them."""
    section = doc.read_text(encoding="utf-8").split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 3 or cells[0] in ("variable", "---"):
            continue
        names = re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])
        assert names, f"a row without a variable: {line}"
        assert names[0] not in rows, f"{names[0]} has two rows"
        assert cells[1] and cells[2], f"{names[0]}: the row needs a default and a meaning"
        rows[names[0]] = names
    return rows


def field_names() -> dict[str, list[str]]:
    """Each field's environment names, the one it is documented under first."""
    names: dict[str, list[str]] = {}
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names[name] = [str(a) for a in alias.choices]
        else:
            assert isinstance(alias, str), f"{name} reads no environment variable"
            names[name] = [alias]
    return names


def test_every_field_is_in_the_table() -> None:
    documented = {n for names in table_rows().values() for n in names}
    for field, names in field_names().items():
        missing = [n for n in names if n not in documented]
        assert not missing, f"Settings.{field} reads {missing}, not in docs/operations.md#settings"


def test_every_variable_in_the_table_is_read() -> None:
    read = {n for names in field_names().values() for n in names}
    for variable, names in table_rows().items():
        assert variable in read, f"{variable} is in the table but no setting reads it"
        old = [n for n in names[1:] if n not in read]
        assert not old, f"{variable}: old names {old} are in the table but not read"


def test_a_variable_and_its_old_names_share_a_row() -> None:
    """A field read under several names is one row: the first name, then the old ones."""
    rows = table_rows()
    for field, names in field_names().items():
        if len(names) > 1:
            assert rows.get(names[0]) == names, f"Settings.{field}: row should list {names}"


def test_one_settings_object() -> None:
    """No other `BaseSettings` in our packages: everything read from the environment is a
    field of `Settings` (and so a row of the table)."""
    from pydantic_settings import BaseSettings

    import onething.keys  # noqa: F401  (import the modules that once had their own)
    import starter.api
    import starter.auth  # noqa: F401

    found, todo = [], list(BaseSettings.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.split(".")[0] in SOURCE_PACKAGES:
            found.append(cls)
    assert found == [Settings]


def test_the_check_catches_drift(tmp_path: Path) -> None:
    """The table parser sees a missing row (so the tests above can fail)."""
    text = DOC.read_text(encoding="utf-8")
    doc = tmp_path / "operations.md"
    doc.write_text(re.sub(r"\n\| `ONETHING_API_PORT` \|[^\n]*", "", text), encoding="utf-8")
    assert "ONETHING_API_PORT" in table_rows() and "ONETHING_API_PORT" not in table_rows(doc)
