"""CLI for the catalog: `catalog load|show|validate`, `guide`, `report reductions|coverage`.

Mounted into the main app by `register(app)` (starter/cli.py). Which catalog a command
reads: `--catalog FILE` (a JSON document), else `--version V` from the store, else the
latest version in the store, else the seed catalog shipped with the project.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine

from domain.bundle import Measure, one_form, one_set_of_materials, reductions_report
from domain.catalog import Catalog
from domain.catalog_diff import diff_catalogs
from domain.catalog_loading import (
    catalog_document_schema,
    load_seed_catalog,
    parse_catalog_json,
    seed_catalog_text,
)
from domain.catalog_models import CatalogError
from domain.guide import (
    build_guide,
    coverage_report,
    guide_url,
    render_guide,
)
from starter.cli_common import fail

catalog_app = typer.Typer(
    name="catalog",
    help="The service catalog: validate, load (versioned) and show.",
    no_args_is_help=True,
)
report_app = typer.Typer(
    name="report",
    help="Reports computed from the catalog: reductions, general-window coverage.",
    no_args_is_help=True,
)

# The story's figures (People's Daily on Yicheng), shown beside what the catalog gives.
STORY_REDUCTIONS: dict[Measure, str] = {
    Measure.MATERIALS: "about −50%; 开办运输企业 17 → 6 (−64%)",
    Measure.FORMS: "many forms → one form",
    Measure.STEPS: "−56% (average per item)",
    Measure.TRIPS: "−73.3% (average per item)",
    Measure.DAYS: "−63.7% (average per item)",
}
STORY_COVERAGE = (1680, 1700, 98.8)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
CatalogOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog", help="Read this catalog JSON file instead of the store.", exists=True
    ),
]
VersionOpt = Annotated[
    str | None, typer.Option("--version", "-V", help="Catalog version pinned in the store.")
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url", envvar="DATABASE_URL", help="Store URL (default: the embedded SQLite)."
    ),
]


def _problems(exc: CatalogError) -> typer.Exit:
    typer.echo(str(exc), err=True)
    return typer.Exit(1)


def _engine(database_url: str | None) -> Engine:
    from store.catalog import create_catalog_tables
    from store.db import make_engine

    if not database_url:
        from onething.settings import load_settings

        database_url = load_settings().store_url
    engine = make_engine(database_url)
    create_catalog_tables(engine)  # idempotent; init_db does the same for every table
    return engine


def _read_file(path: Path) -> Catalog:
    try:
        return parse_catalog_json(path.read_text(encoding="utf-8"))
    except CatalogError as exc:
        raise _problems(exc) from None


def resolve_catalog(
    catalog_file: Path | None, version: str | None, database_url: str | None
) -> Catalog:
    """--catalog FILE, else --version from the store, else the store's latest, else the seed."""
    if catalog_file is not None:
        cat = _read_file(catalog_file)
        source = str(catalog_file)
    else:
        from store.catalog import get_catalog, get_latest_catalog

        engine = _engine(database_url)
        try:
            if version is not None:
                try:
                    cat = get_catalog(engine, version)
                except CatalogError as exc:
                    raise fail(exc.problems[0]) from None
                source = "store"
            else:
                latest = get_latest_catalog(engine)
                cat, source = (latest, "store") if latest else (load_seed_catalog(), "seed")
        finally:
            engine.dispose()
    if version is not None and cat.version != version:
        raise fail(f"{source} holds catalog version {cat.version!r}, not {version!r}")
    typer.echo(f"catalog {cat.version} ({source})", err=True)
    return cat


def _dump(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


# --------------------------------------------------------------------------- catalog


@catalog_app.command("validate")
def catalog_validate(
    file: Annotated[
        Path | None, typer.Argument(help="Catalog JSON (default: the seed).", exists=True)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a catalog document; list every problem at once (exit 1 if any)."""
    text = file.read_text(encoding="utf-8") if file else seed_catalog_text()
    try:
        cat = parse_catalog_json(text)
    except CatalogError as exc:
        if as_json:
            _dump({"valid": False, "problems": exc.problems})
            raise typer.Exit(1) from None
        raise _problems(exc) from None
    summary = {
        "valid": True,
        "version": cat.version,
        "items": len(cat.items),
        "bundles": len(cat.bundles),
        "halls": len(cat.halls),
    }
    if as_json:
        _dump(summary)
    else:
        typer.echo(
            f"catalog {cat.version} is valid: {len(cat.items)} items, "
            f"{len(cat.bundles)} bundles, {len(cat.halls)} halls"
        )


@catalog_app.command("schema")
def catalog_schema() -> None:
    """Print the JSON Schema of a catalog document."""
    _dump(catalog_document_schema())


@catalog_app.command("load")
def catalog_load(
    file: Annotated[
        Path | None, typer.Argument(help="Catalog JSON (default: the seed).", exists=True)
    ] = None,
    database_url: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate and store a catalog version. A loaded version never changes."""
    from store.catalog import get_catalog, get_latest_catalog, load_catalog

    text = file.read_text(encoding="utf-8") if file else seed_catalog_text()
    engine = _engine(database_url)
    try:
        previous = get_latest_catalog(engine)
        result = load_catalog(engine, text)
        diff = (
            diff_catalogs(previous, get_catalog(engine, result.version))
            if result.created and previous is not None
            else None
        )
    except CatalogError as exc:
        raise _problems(exc) from None
    finally:
        engine.dispose()
    if as_json:
        _dump(
            result.model_dump(mode="json")
            | {"changes": diff.model_dump(mode="json") if diff else None}
        )
    elif result.created:
        typer.echo(f"loaded catalog version {result.version} (#{result.seq})")
        if diff is not None:
            typer.echo(diff.summary())
    else:
        typer.echo(f"catalog version {result.version} already loaded, unchanged")


@catalog_app.command("diff")
def catalog_diff(
    old: Annotated[str, typer.Argument(help="A version in the store, or a catalog JSON file.")],
    new: Annotated[str, typer.Argument(help="A version in the store, or a catalog JSON file.")],
    database_url: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What changes from one catalog version to another."""
    a, b = _version_or_file(old, database_url), _version_or_file(new, database_url)
    diff = diff_catalogs(a, b)
    if as_json:
        _dump(diff.model_dump(mode="json"))
    else:
        typer.echo(diff.summary())


def _version_or_file(ref: str, database_url: str | None) -> Catalog:
    path = Path(ref)
    if path.suffix == ".json" or path.exists():
        if not path.exists():
            raise fail(f"no such file: {ref}")
        return _read_file(path)
    from store.catalog import get_catalog

    engine = _engine(database_url)
    try:
        return get_catalog(engine, ref)
    except CatalogError as exc:
        raise fail(exc.problems[0]) from None
    finally:
        engine.dispose()


@catalog_app.command("show")
def catalog_show(
    code: Annotated[str | None, typer.Argument(help="An item or bundle code.")] = None,
    catalog_file: CatalogOpt = None,
    version: VersionOpt = None,
    database_url: DbOpt = None,
    versions: Annotated[
        bool, typer.Option("--versions", help="List the versions in the store.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show the catalog, one item or bundle, or the stored versions."""
    if versions:
        from store.catalog import list_versions

        engine = _engine(database_url)
        try:
            infos = list_versions(engine)
        finally:
            engine.dispose()
        if as_json:
            _dump([v.model_dump(mode="json") for v in infos])
        else:
            for v in infos:
                typer.echo(
                    f"#{v.seq}  {v.version}  {v.loaded_at:%Y-%m-%d %H:%M}  "
                    f"{v.item_count} items, {v.bundle_count} bundles  {v.digest[:12]}"
                )
        return
    cat = resolve_catalog(catalog_file, version, database_url)
    if code is None:
        if as_json:
            _dump(cat.to_document())
            return
        typer.echo(f"{cat.title} — version {cat.version}")
        typer.echo(f"items ({len(cat.items)}):")
        for it in cat.items.values():
            flags = "".join(
                [
                    " 容缺" if it.admits_deficiency else "",
                    " 承诺" if it.admits_commitment else "",
                ]
            )
            typer.echo(
                f"  {it.code:40} {it.name} | {it.department_name} | {it.window.value} | "
                f"承诺{it.promised_days}/法定{it.statutory_days}天{flags}"
            )
        typer.echo(f"bundles ({len(cat.bundles)}):")
        for b in cat.bundles.values():
            typer.echo(f"  {b.code:40} {b.name} | {' → '.join(b.order())}")
        typer.echo(f"halls ({len(cat.halls)}):")
        for h in cat.halls.values():
            typer.echo(f"  {h.code:40} {h.name} | {h.address}")
        return
    if code in cat.bundles:
        b = cat.bundle(code)
        data: dict[str, Any] = {
            "bundle": b.model_dump(mode="json"),
            "order": b.order(),
            "materials": one_set_of_materials(cat, b).model_dump(mode="json"),
            "form_schema": one_form(cat, b).json_schema(),
        }
    elif code in cat.items:
        data = {"item": cat.item(code).model_dump(mode="json")}
    else:
        raise fail(f"unknown item or bundle code {code!r} in catalog version {cat.version!r}")
    if as_json:
        _dump(data)
    else:
        typer.echo(render_guide(build_guide(cat, code)))


# --------------------------------------------------------------------------- guide


def guide(
    code: Annotated[str, typer.Argument(help="An item or bundle code.")],
    as_json: JsonOpt = False,
    qr: Annotated[
        Path | None,
        typer.Option("--qr", help="Write a QR code of the guide's address (.svg or .png)."),
    ] = None,
    near: Annotated[
        str | None,
        typer.Option(
            "--near",
            help="LAT,LON: list halls nearest first, with distances; a QR code carries it.",
        ),
    ] = None,
    hall: Annotated[
        str | None,
        typer.Option("--hall", help="The hall the doorplate hangs in; its QR code carries it."),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="Where guides are published (default: ONETHING_PUBLIC_URL, as the API).",
        ),
    ] = None,
    catalog_file: CatalogOpt = None,
    version: VersionOpt = None,
    database_url: DbOpt = None,
) -> None:
    """The service guide (数字政务门牌) for an item or bundle: materials, form, limits, halls."""
    point: tuple[float, float] | None = None
    if near is not None:
        try:
            lat_s, lon_s = near.split(",")
            point = (float(lat_s), float(lon_s))
        except ValueError:
            raise fail(f"--near must be LAT,LON (e.g. 31.72,112.26), got {near!r}") from None
        if not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
            raise fail(f"--near out of range: {near!r}")
    if qr is not None and qr.suffix.lower() not in {".svg", ".png"}:
        raise fail(f"--qr file must end in .svg or .png, got {qr.name!r}")
    cat = resolve_catalog(catalog_file, version, database_url)
    if hall is not None and hall not in cat.halls:
        raise fail(f"--hall: no hall {hall!r} in catalog {cat.version}")
    if base_url is None:
        from onething.settings import SettingsError, load_settings

        try:
            base_url = load_settings().public_base_url
        except SettingsError as exc:
            raise fail(str(exc)) from None
    try:
        g = build_guide(cat, code, base_url=base_url, near=point)
    except CatalogError as exc:
        raise fail(exc.problems[0]) from None
    if qr is not None:
        from starter.doorplate import DoorplateError, doorplate

        url = guide_url(code, base_url, hall=hall, near=point)
        try:
            qr.write_bytes(doorplate(url, g.name, qr.name))
        except DoorplateError as exc:
            raise fail(str(exc)) from None
        typer.echo(f"doorplate QR code for {url} written to {qr}", err=True)
    if as_json:
        _dump(g.model_dump(mode="json") | {"form_schema": g.form_schema()})
    else:
        typer.echo(render_guide(g))


# --------------------------------------------------------------------------- reports


def _pct(value: float) -> str:
    return f"−{value}%" if value > 0 else f"{value}%"


def reductions_markdown(cat: Catalog) -> str:
    rep = reductions_report(cat)
    measures = list(Measure)
    head = "| 一件事 | items | " + " | ".join(m.value for m in measures) + " |"
    lines = [head, "|" + "---|" * (len(measures) + 2)]
    for b in rep.bundles:
        cells = [
            f"{r.one_by_one} → {r.bundle} ({_pct(r.percent)})" for r in (b.row(m) for m in measures)
        ]
        lines.append(f"| {b.name} (`{b.bundle}`) | {b.items} | " + " | ".join(cells) + " |")
    totals = {r.measure: r for r in rep.totals}
    lines.append(
        "| **all bundles, summed** | "
        + str(sum(b.items for b in rep.bundles))
        + " | "
        + " | ".join(
            f"{totals[m].one_by_one} → {totals[m].bundle} ({_pct(totals[m].percent)})"
            for m in measures
        )
        + " |"
    )
    lines.append(
        "| **mean of the bundles' percentages** | | "
        + " | ".join(_pct(rep.mean_percent[m]) for m in measures)
        + " |"
    )
    lines.append(
        "| *the story (Yicheng)* | | " + " | ".join(STORY_REDUCTIONS[m] for m in measures) + " |"
    )
    lines.append("")
    lines.append(
        f"Catalog version {cat.version}. Item by item: the sum over the bundle's items "
        "(materials the applicant brings, own forms, steps, trips, promised working days). "
        "Bundle: one set of materials (deduplicated; shared data and licenses issued by an "
        "earlier item are not asked for; one joint form replaces the items' forms), one "
        "form, acceptance and conclusion once plus the longest chain of dependent items' "
        "own steps, trips made together, and the bundle's promised days."
    )
    return "\n".join(lines)


def coverage_markdown(cat: Catalog) -> str:
    rep = coverage_report(cat)
    lines = [
        "| department | should be at a general window | are | % |",
        "|---|---|---|---|",
    ]
    for d in rep.departments:
        pct = round(100 * d.are / d.should, 1) if d.should else 0.0
        lines.append(f"| {d.department_name} (`{d.department}`) | {d.should} | {d.are} | {pct} |")
    lines.append(
        f"| **catalog {cat.version}** | **{rep.should}** | **{rep.are}** | **{rep.percent}** |"
    )
    are, should, pct = STORY_COVERAGE
    lines.append(f"| *the story (Yicheng)* | {should} | {are} | {pct} |")
    lines.append("")
    zones = ", ".join(f"{k} {v}" for k, v in rep.special_zone_items.items())
    lines.append(
        f"Left out, as in the story: items of the special zones ({zones}). "
        + (
            "Not yet at a general window: "
            + ", ".join(f"{name} (`{code}`, {dept})" for code, name, dept in rep.not_yet)
            + "."
            if rep.not_yet
            else "Every item that should be is at a general window."
        )
    )
    return "\n".join(lines)


@report_app.command("reductions")
def report_reductions(
    catalog_file: CatalogOpt = None,
    version: VersionOpt = None,
    database_url: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What each bundle saves against applying item by item (markdown table, or --json)."""
    cat = resolve_catalog(catalog_file, version, database_url)
    if as_json:
        rep = reductions_report(cat)
        data = rep.model_dump(mode="json") | {"catalog_version": cat.version}
        data["story"] = {m.value: s for m, s in STORY_REDUCTIONS.items()}
        _dump(data)
    else:
        typer.echo(reductions_markdown(cat))


@report_app.command("coverage")
def report_coverage(
    catalog_file: CatalogOpt = None,
    version: VersionOpt = None,
    database_url: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Of the items that should be accepted at a general window, how many are."""
    cat = resolve_catalog(catalog_file, version, database_url)
    if as_json:
        are, should, pct = STORY_COVERAGE
        _dump(
            coverage_report(cat).model_dump(mode="json")
            | {"story": {"should": should, "are": are, "percent": pct}}
        )
    else:
        typer.echo(coverage_markdown(cat))


def register(app: typer.Typer) -> None:
    """Mount `catalog`, `report` and `guide` on the main `onething` app."""
    app.add_typer(catalog_app, name="catalog")
    app.add_typer(report_app, name="report")
    app.command("guide")(guide)
