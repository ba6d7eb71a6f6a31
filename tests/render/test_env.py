"""The template escaper: it must write exactly what markupsafe.escape would."""

from __future__ import annotations

import jinja2
import markupsafe

from generator.model import Html
from generator.render.env import _escape_output, _Template
from generator.sanitize import SafeHtml


class _HasHtml:
    def __html__(self) -> str:
        return "<b>mine</b>"


def test_escape_output_writes_what_markupsafe_writes() -> None:
    values = ["", "plain", "a & b < c > d 'e' \"f\"", "&amp; already", markupsafe.Markup("<i>ok</i>"),
              Html("<p>x &amp; y</p>"), SafeHtml("<a href=\"#\">s</a>"), 42, 1.5, None, _HasHtml(), ["<", 1]]
    for value in values:
        assert _escape_output(value) == str(markupsafe.escape(value)), value


def test_templates_render_the_same_as_jinjas() -> None:
    source = (
        "{% macro m(x) %}<b>{{ x }}</b>{% endmacro %}"
        "{% set block %}{{ a }}<i>{{ h }}</i>{% endset %}"
        "{{ m(a) }}|{{ block }}|{{ block ~ a }}|{% filter upper %}{{ a }}{{ h }}{% endfilter %}|"
        "{% autoescape false %}{{ a }}{% endautoescape %}|{{ n }}{{ h }}{{ a | safe }}"
    )
    data = {"a": "<&'\">", "h": Html("<p>&amp;</p>"), "n": 7}
    plain = jinja2.Environment(autoescape=True)
    ours = jinja2.Environment(autoescape=True)
    ours.template_class = _Template
    expected = plain.from_string(source).render(data)
    assert "&lt;&amp;&#39;&#34;&gt;" in expected
    assert ours.from_string(source).render(data) == expected
