"""The README is a front page under 12 KB, every relative link in it and in docs/ resolves,
and every submission the pages show is one the window accepts.

A link to a missing page or to a heading that was renamed fails here, so pages can be
split and moved without leaving dead links behind; a catalog change that makes an example
wrong fails here too.
"""

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
FRONT_PAGE_LIMIT = 12 * 1024  # bytes: the "under 12 KB"

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def prose(text: str) -> str:
    """The text without code blocks and code spans: a `[x](y)` inside code is no link."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w keeps CJK characters, as GitHub does
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for match in HEADING.finditer(FENCE.sub("", page.read_text(encoding="utf-8"))):
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def relative_links(page: Path) -> list[str]:
    links = LINK.findall(prose(page.read_text(encoding="utf-8")))
    return [link for link in links if not re.match(r"^[a-z][a-z0-9+.-]*:", link, re.I)]


def test_readme_is_a_front_page_under_12_kb() -> None:
    size = len(README.read_bytes())
    assert size < FRONT_PAGE_LIMIT, f"README.md is {size} bytes; move detail to docs/"


def test_the_readme_links_every_docs_page() -> None:
    linked = {
        (README.parent / unquote(link.split("#")[0])).resolve()
        for link in relative_links(README)
        if link.split("#")[0]
    }
    unlinked = [p.name for p in PAGES[1:] if p.resolve() not in linked]
    assert not unlinked, f"docs pages the README does not link: {unlinked}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for link in relative_links(page):
        path_part, _, anchor = link.partition("#")
        target = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not target.exists():
            broken.append(f"{link}: no file {target.relative_to(ROOT)}")
        elif anchor and target.suffix == ".md" and unquote(anchor) not in anchors(target):
            broken.append(f"{link}: no heading #{anchor} in {target.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_checker_sees_a_broken_link_and_anchor(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n## Settings: the `one` table\n\n[ok](#settings-the-one-table) "
        "[gone](missing.md) [bad anchor](#nowhere) `[code](nothing.md)`\n\n"
        "```\n[fenced](nothing-either.md)\n```\n[web](https://example.org/x)\n",
        encoding="utf-8",
    )
    assert relative_links(page) == ["#settings-the-one-table", "missing.md", "#nowhere"]
    assert "settings-the-one-table" in anchors(page)
    assert slug("Licenses: validity and renewal (延续)") == "licenses-validity-and-renewal-延续"
    assert slug("The citizen's side: guide, progress, help") == (
        "the-citizens-side-guide-progress-help"
    )


JSON_BLOCK = re.compile(r"^```json[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def submission_examples() -> list[tuple[str, dict[str, object]]]:
    """(page, JSON) of every ```json block in the pages that is a submission."""
    found = []
    for page in PAGES:
        for block in JSON_BLOCK.findall(page.read_text(encoding="utf-8")):
            try:
                doc = json.loads(block)
            except json.JSONDecodeError:
                continue  # a sketch with "…", not a body to send
            if isinstance(doc, dict) and "application_id" in doc and "materials" in doc:
                found.append((page.name, doc))
    return found


def test_every_submission_the_pages_show_is_accepted_by_the_window() -> None:
    from domain.acceptance import AcceptanceVerdict, assess
    from domain.application import Submission
    from domain.bundle import as_bundle, one_set_of_materials
    from domain.catalog_loading import load_seed_catalog
    from starter.client import OnethingClient

    examples = submission_examples()
    assert any(page == "api.md" for page, _ in examples), "docs/api.md shows a submission"
    catalog = load_seed_catalog()
    window = OnethingClient(None, "unused", catalog)  # type: ignore[arg-type]  # checks only
    for page, doc in examples:
        submission = Submission.model_validate(doc)
        window.check(submission)  # raises naming the field
        materials = one_set_of_materials(catalog, as_bundle(catalog, submission.target))
        verdict = assess(
            materials, submission.materials, pledge_signed=False, deficiency_allowed=False
        ).verdict
        assert verdict is AcceptanceVerdict.ACCEPTED, f"{page}: {submission.target} {verdict}"
