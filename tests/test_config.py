"""tidings.yaml: defaults, validation with every problem and its line, overrides."""

from __future__ import annotations

import pytest

from generator.config import DEFAULT_SECTION_KINDS, SectionKind, load_site
from generator.errors import ConfigError


def problems_of(make_site, text: str) -> list[str]:
    root = make_site({"tidings.yaml": text})
    with pytest.raises(ConfigError) as info:
        load_site(root)
    return [str(p) for p in info.value.problems]


def test_three_lines_are_enough(make_site):
    site = load_site(make_site())
    config = site.config
    assert config.title == "Test Weekly"
    assert config.language == "en" and config.timezone == "UTC" and config.cadence == "weekly"
    assert config.output_dir == "public" and config.theme == "default"
    assert config.section_kinds == DEFAULT_SECTION_KINDS
    assert len(site.fingerprint) == 64


def test_every_problem_is_reported_at_once_with_its_line(make_site):
    found = problems_of(
        make_site,
        """
        title: T
        base_url: ftp://x.example/
        langauge: en
        timezone: Mars/Olympus
        cadence: hourly
        recent_issues: many
        author:
          nmae: Robin
        """,
    )
    assert found == [
        "tidings.yaml:3: unknown key 'langauge'; did you mean 'language'?",
        "tidings.yaml:5: 'cadence' must be one of 'daily', 'weekly', 'fortnightly', 'monthly', not 'hourly'",
        "tidings.yaml:6: 'recent_issues' must be a whole number, not 'many'",
        "tidings.yaml:8: unknown key 'author.nmae'; did you mean 'name'?",
    ]


def test_value_checks_after_types(make_site):
    found = problems_of(make_site, "title: T\nbase_url: ftp://x.example/\ntimezone: Mars/Olympus\npage_size: 0\n")
    assert found == [
        "tidings.yaml:2: 'base_url' must be an absolute http(s) URL, not 'ftp://x.example/'",
        "tidings.yaml:3: 'timezone' 'Mars/Olympus' is not a known IANA time zone (e.g. Europe/London)",
        "tidings.yaml:4: 'page_size' must be at least 1",
    ]


def test_missing_required_keys(make_site):
    assert problems_of(make_site, "description: nothing else\n") == [
        "tidings.yaml:1: missing required key 'title'",
        "tidings.yaml:1: missing required key 'base_url'",
    ]


def test_yaml_syntax_error_names_the_line(make_site):
    (problem,) = problems_of(make_site, "title: T\nbase_url: [unclosed\n")
    assert problem.startswith("tidings.yaml:") and "invalid YAML" in problem


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_site(tmp_path)
    assert "no tidings.yaml here" in str(info.value)


def test_section_kinds_long_and_short_forms(make_site):
    root = make_site(
        {
            "tidings.yaml": """
            title: T
            base_url: https://t.example/
            sections:
              crates: [crate, crates]
              talks:
                keywords: [talks, videos]
                title: Talks and videos
            """
        }
    )
    kinds = load_site(root).config.section_kinds
    assert kinds == {
        "crates": SectionKind(keywords=("crate", "crates"), title="Crates"),
        "talks": SectionKind(keywords=("talks", "videos"), title="Talks and videos"),
    }


def test_overrides_replace_values(make_site):
    site = load_site(make_site(), overrides={"base_url": "http://127.0.0.1:9/"})
    assert site.config.base_url == "http://127.0.0.1:9/"
