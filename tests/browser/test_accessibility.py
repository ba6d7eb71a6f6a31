"""axe-core on every page type, in light and dark colours: zero violations."""

from __future__ import annotations

from typing import Any

import pytest

from generator.render import paths

from .conftest import BuiltSite, watch


def page_types(built: BuiltSite) -> dict[str, str]:
    """One URL path for each kind of page the site has."""
    archive = built.archive
    types = {
        "home": "/",
        "issue": paths.issue_path(archive.issues[0]),
        "archive": paths.archive_path(),
        "archive-year": paths.year_path(next(iter(archive.by_year()))),
        "sections": "/sections/",
        "section": paths.kind_path(max(archive.kinds, key=lambda k: len(archive.kinds[k]))),
        "links": paths.links_path(),
        "tags": paths.tags_path(),
        "tag": paths.tag_path(next(iter(archive.tags))),
        "search": "/search/",
        "not-found": "/no-such-page/",
    }
    pages = sorted((built.public).glob("*/index.html"))
    own = [p.parent.name for p in pages if p.parent.name not in {"archive", "sections", "links", "tags", "issues", "search", "digests"}]
    if own:
        types["content-page"] = f"/{own[0]}/"
    digests = sorted((built.public / "digests").glob("*/index.html"))
    if digests:  # frozen link digests, when the repository has any
        types["digests"] = "/digests/"
        types["digest"] = f"/digests/{digests[0].parent.name}/"
    return types


@pytest.fixture(scope="module")
def axe() -> Any:
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def test_axe_finds_no_violations(context_factory: Any, server: str, built_site: BuiltSite, axe: Any) -> None:
    """Every rule in light colours, then colour contrast again in dark colours, on each page type."""
    from .test_site import rare_word

    page = context_factory(viewport={"width": 1280, "height": 900}).new_page()
    seen = watch(page, server)
    seen.allowed.append("404")
    found: list[str] = []
    types = page_types(built_site)
    types["search-results"] = "/search/?q=" + rare_word(built_site)[0]
    for name, path in types.items():
        page.emulate_media(color_scheme="light")
        page.goto(server + path)
        if name == "search-results":
            page.locator("#search-results li").first.wait_for(timeout=15000)
        page.evaluate(axe.axe_script)
        for scheme, options in (("light", {}), ("dark", {"runOnly": ["color-contrast"]})):
            page.emulate_media(color_scheme=scheme)
            violations = page.evaluate("options => axe.run(document, options).then(r => r.violations)", {"resultTypes": ["violations"], **options})
            for violation in violations:
                targets = [n["target"] for n in violation["nodes"]][:3]
                found.append(f"{name} ({path}, {scheme}): {violation['id']} — {violation['help']} at {targets}")
    assert len(types) >= 12
    assert not found, "\n".join(found)
    assert not seen.problems(), seen.problems()
