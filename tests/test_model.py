"""Item.display_title: the shortcut that reads only the head of a long commentary."""

from __future__ import annotations

import random

from generator.errors import SourcePos
from generator.model import Html, Item, Link, _strip_markup


def _item(html: str, title: str | None = None, links: tuple[Link, ...] = ()) -> Item:
    return Item(anchor="a", title=title, commentary="", commentary_html=Html(html), links=links,
                section="s", kind="news", sponsored=False, pos=SourcePos("x.md", 1))


def _title_from_all_words(item: Item) -> str:
    """The rule applied to the whole commentary, as it was before the shortcut."""
    text = " ".join(_strip_markup(item.commentary_html).split())
    if not text and item.links:
        return item.links[0].text or item.links[0].url
    cut = text.find(". ")
    if 0 < cut <= 120:
        return text[: cut + 1]
    return text if len(text) <= 120 else text[:117].rsplit(" ", 1)[0] + "…"


def test_long_commentary_is_cut_at_a_word() -> None:
    words = " ".join(f"word{i}" for i in range(60))
    title = _item(f"<p>{words}</p>").display_title
    assert title.endswith("…") and len(title) <= 118
    assert title == _title_from_all_words(_item(f"<p>{words}</p>"))


def test_first_sentence_when_short() -> None:
    assert _item("<p>Short one. Then a much longer second sentence follows here.</p>").display_title == "Short one."


def test_same_title_as_reading_every_word() -> None:
    rng = random.Random(7)
    pieces = ["a", "bb", "ccc.", "d. ", "\n", "\u2003", "<b>x</b>", "&amp;", "y" * 40, ".", "  ", "<br>", "word"]
    link = Link(url="https://e.example/", key="https://e.example/", text="", host="e.example", pos=SourcePos("x.md", 1))
    for _ in range(3000):
        html = "".join(rng.choice(pieces) + rng.choice([" ", "", "\n"]) for _ in range(rng.randint(0, 90)))
        item = _item(html, links=(link,))
        assert item.display_title == _title_from_all_words(item), repr(html)


def test_quick_constructors_make_the_classes_own_values() -> None:
    """new_link, new_item and new_pos skip the class call; the values must be the same, every field set."""
    import dataclasses
    import inspect
    import pickle

    from generator.errors import new_pos
    from generator.model import ItemGroup, Section, new_group, new_item, new_link, new_section

    pos = new_pos("content/issues/1.md", 7)
    assert pos == SourcePos("content/issues/1.md", 7) and hash(pos) == hash(SourcePos("content/issues/1.md", 7))
    link = new_link("https://e.example/a", "https://e.example/a", "A", "e.example", False, pos)
    expected_link = Link(url="https://e.example/a", key="https://e.example/a", text="A", host="e.example", inline=False, pos=pos)
    assert link == expected_link and hash(link) == hash(expected_link) and link.labels == ()
    item = new_item("a", "T", "c", Html("<p>c</p>"), (link,), "news", "news", True, pos)
    expected_item = Item(anchor="a", title="T", commentary="c", commentary_html=Html("<p>c</p>"), links=(link,),
                         section="news", kind="news", sponsored=True, pos=pos)
    assert item == expected_item and hash(item) == hash(expected_item)
    assert item.display_title == "T"
    group = new_group("paragraphs", (item,))
    assert group == ItemGroup(style="paragraphs", items=(item,))
    section = new_section("news", "News", "news", 1, (link,), (group,), (), pos)
    expected_section = Section(kind="news", title="News", slug="news", level=1, heading_links=(link,), blocks=(group,),
                               subsections=(), pos=pos)
    assert section == expected_section and hash(section) == hash(expected_section) and section.items == (item,)
    makers = ((link, Link, new_link), (item, Item, new_item), (pos, SourcePos, new_pos), (group, ItemGroup, new_group),
              (section, Section, new_section))
    for made, cls, maker in makers:
        for f in dataclasses.fields(cls):
            getattr(made, f.name)  # an unset slot would raise AttributeError
        # A field added to the class must be added to its quick constructor too.
        wanted = {f.name for f in dataclasses.fields(cls) if f.init and f.name != "labels"}
        assert set(inspect.signature(maker).parameters) == wanted, maker.__name__
        assert pickle.loads(pickle.dumps(made)) == made
