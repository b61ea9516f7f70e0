"""The catalog CLI through typer's CliRunner, against a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from domain.catalog_loading import load_seed_catalog, seed_catalog_text
from starter.cli_catalog import register
from tests.support.catalog_docs import mini_doc

app = typer.Typer()
register(app)
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(*args: str, ok: bool = True) -> Result:
    result = runner.invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def write(tmp_path: Path, name: str, doc: dict[str, object]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_validate_seed_and_broken_file(tmp_path: Path) -> None:
    res = run("catalog", "validate")
    assert "is valid: 19 items, 7 bundles, 5 halls" in res.stdout
    bad = mini_doc()
    bad["items"][1]["supplement_days"] = 9
    bad["bundles"][0]["members"][0]["depends_on"] = ["b"]
    path = write(tmp_path, "bad.json", bad)
    res = run("catalog", "validate", str(path), ok=False)
    assert res.exit_code == 1
    assert "catalog refused: 2 problem(s)" in res.stderr
    assert "supplement_days 9 exceeds promised_days 5" in res.stderr
    assert "dependency cycle" in res.stderr
    res = run("catalog", "validate", str(path), "--json", ok=False)
    assert res.exit_code == 1 and len(json.loads(res.stdout)["problems"]) == 2


def test_load_show_and_pin_versions(tmp_path: Path, db: str) -> None:
    v1 = write(tmp_path, "v1.json", mini_doc())
    assert (
        "loaded catalog version t1 (#1)"
        in run("catalog", "load", str(v1), "--database-url", db).stdout
    )
    assert (
        "already loaded, unchanged" in run("catalog", "load", str(v1), "--database-url", db).stdout
    )

    changed = mini_doc()
    changed["items"][1]["promised_days"] = 4
    changed["items"][1]["supplement_days"] = 3
    res = run(
        "catalog", "load", str(write(tmp_path, "c.json", changed)), "--database-url", db, ok=False
    )
    assert res.exit_code == 1 and "already loaded with other content" in res.stderr

    changed["version"] = "t2"
    res = run("catalog", "load", str(write(tmp_path, "v2.json", changed)), "--database-url", db)
    assert res.stdout.splitlines() == [
        "loaded catalog version t2 (#2)",
        "t1 → t2",
        "item b changed: promised_days, supplement_days",
    ]
    diff = json.loads(run("catalog", "diff", "t1", "t2", "--json", "--database-url", db).stdout)
    assert diff["items"]["changed"] == [
        {"code": "b", "fields": ["promised_days", "supplement_days"]}
    ]
    text = run("catalog", "diff", str(v1), "t2", "--database-url", db).stdout
    assert "item b changed" in text
    res = run("catalog", "diff", "t1", "t7", "--database-url", db, ok=False)
    assert res.exit_code == 2 and "unknown catalog version 't7'" in res.stderr
    versions = json.loads(
        run("catalog", "show", "--versions", "--json", "--database-url", db).stdout
    )
    assert [v["version"] for v in versions] == ["t1", "t2"]

    # the latest by default, an older one when pinned
    latest = json.loads(run("catalog", "show", "b", "--json", "--database-url", db).stdout)
    assert latest["item"]["promised_days"] == 4
    pinned = json.loads(
        run("catalog", "show", "b", "--json", "-V", "t1", "--database-url", db).stdout
    )
    assert pinned["item"]["promised_days"] == 5
    g = json.loads(run("guide", "b", "--json", "--version", "t1", "--database-url", db).stdout)
    assert g["catalog_version"] == "t1" and g["promised_days"] == 5

    res = run("catalog", "show", "--version", "t9", "--database-url", db, ok=False)
    assert res.exit_code == 2 and "unknown catalog version 't9'" in res.stderr


def test_load_refuses_a_bad_catalog(tmp_path: Path, db: str) -> None:
    bad = mini_doc()
    bad["bundles"][0]["members"].append({"item": "ghost"})
    res = run(
        "catalog", "load", str(write(tmp_path, "bad.json", bad)), "--database-url", db, ok=False
    )
    assert res.exit_code == 1 and "bundle 'abc': unknown item 'ghost'" in res.stderr
    versions = json.loads(
        run("catalog", "show", "--versions", "--json", "--database-url", db).stdout
    )
    assert versions == []


def test_show_bundle_and_unknown_code(db: str) -> None:
    data = json.loads(
        run("catalog", "show", "open-convenience-store", "--json", "--database-url", db).stdout
    )
    assert data["order"] == load_seed_catalog().bundle("open-convenience-store").order()
    assert data["order"][0] == "business-license-individual"  # the others need its license
    assert data["form_schema"]["title"] == "开办便利店"
    res = run("catalog", "show", "nope", "--database-url", db, ok=False)
    assert res.exit_code == 2 and "unknown item or bundle code 'nope'" in res.stderr
    text = run("catalog", "show", "--database-url", db).stdout
    assert "food-business-license" in text and "开办运输企业" in text


def test_guide_text_json_and_qr(tmp_path: Path, db: str) -> None:
    svg, png = tmp_path / "g.svg", tmp_path / "g.png"
    res = run(
        "guide",
        "open-transport-company",
        "--qr",
        str(svg),
        "--database-url",
        db,
        "--base-url",
        "https://guide.example",
    )
    assert res.stdout.startswith("开办运输企业  [open-transport-company]")
    assert "QR code for https://guide.example/guides/open-transport-company" in res.stderr
    assert svg.read_text().startswith("<?xml")
    run("guide", "nurse-practice-registration", "--qr", str(png), "--database-url", db)
    assert png.read_bytes()[:4] == b"\x89PNG"
    data = json.loads(
        run(
            "guide",
            "social-security-card",
            "--json",
            "--near",
            "31.8747,112.314",
            "--database-url",
            db,
        ).stdout
    )
    assert data["halls"][0]["code"] == "xiaohe"
    assert data["form_schema"]["type"] == "object"
    res = run("guide", "x", "--near", "north", "--database-url", db, ok=False)
    assert res.exit_code == 2 and "--near must be LAT,LON" in res.stderr
    res = run("guide", "x", "--qr", str(tmp_path / "g.gif"), "--database-url", db, ok=False)
    assert res.exit_code == 2 and ".svg or .png" in res.stderr
    res = run("guide", "nope", "--database-url", db, ok=False)
    assert res.exit_code == 2 and "unknown item or bundle code 'nope'" in res.stderr


def test_guide_from_a_catalog_file(tmp_path: Path) -> None:
    path = write(tmp_path, "mini.json", mini_doc())
    data = json.loads(run("guide", "abc", "--json", "--catalog", str(path)).stdout)
    assert data["catalog_version"] == "t1"
    assert [m["code"] for m in data["materials"]][1:] == ["id", "premises", "photo", "layout"]


def test_report_reductions(db: str) -> None:
    text = run("report", "reductions", "--database-url", db).stdout
    assert text.startswith("| 一件事 | items | materials | forms | steps | trips | days |")
    assert "| 开办运输企业 (`open-transport-company`) | 4 |" in text
    assert "*the story (Yicheng)*" in text
    data = json.loads(run("report", "reductions", "--json", "--database-url", db).stdout)
    assert data["catalog_version"] == load_seed_catalog().version
    assert len(data["bundles"]) == len(load_seed_catalog().bundles)
    for b in data["bundles"]:
        for row in b["rows"]:
            assert row["saved"] >= 0


def test_report_coverage(db: str) -> None:
    data = json.loads(run("report", "coverage", "--json", "--database-url", db).stdout)
    assert (data["should"], data["are"]) == (15, 14)
    assert data["story"] == {"should": 1700, "are": 1680, "percent": 98.8}
    text = run("report", "coverage", "--database-url", db).stdout
    version = load_seed_catalog().version
    assert f"| **catalog {version}** | **15** | **14** | **93.3** |" in text
    assert "特殊建设工程消防验收" in text


def test_catalog_schema_describes_the_seed() -> None:
    schema = json.loads(run("catalog", "schema").stdout)
    assert schema["title"] == "CatalogDocument"
    assert set(schema["required"]) == {"version", "items"}
    item = schema["$defs"]["Item"]
    assert "supplement_days" in item["properties"]
    seed = json.loads(seed_catalog_text())
    assert set(seed) <= set(schema["properties"])
    assert set(seed["items"][0]) <= set(item["properties"])
