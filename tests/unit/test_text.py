"""app.text: residents' Markdown rendered to a tight allow-list of HTML, and plain excerpts."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup, escape

from app.text import ALLOWED_TAGS, plain_text, render_markdown

# Attributes nh3 may leave: href/title from the allow-list and the rel it adds itself.
ALLOWED_LINK_ATTRIBUTES = {"href", "title", "rel"}
SAFE_SCHEMES = {"https", "mailto", ""}


# -- helpers ---------------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every start tag in html with its attributes (entity-decoded, as a browser sees them)."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.elements


def hrefs(html: str) -> list[str]:
    return [attrs["href"] or "" for tag, attrs in elements(html) if "href" in attrs]


def browser_scheme(url: str) -> str:
    """The scheme a browser would see: C0 controls and spaces around it, tabs and newlines
    inside it, are ignored by the URL parser."""
    cleaned = re.sub(r"[\x00-\x20]", "", url)
    return urlsplit(cleaned).scheme.lower()


def assert_safe(html: str) -> None:
    lowered = html.lower()
    for needle in ("<script", "<img", "<svg", "<iframe", "<style", "<object", "<embed", "<form"):
        assert needle not in lowered, needle
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, tag
        allowed = ALLOWED_LINK_ATTRIBUTES if tag == "a" else set()
        assert set(attrs) <= allowed, (tag, attrs)
        for name in attrs:
            assert not name.startswith("on"), name
    for href in hrefs(html):
        assert browser_scheme(href) in SAFE_SCHEMES, href
        assert (
            not re.sub(r"[\x00-\x20]", "", href)
            .lower()
            .startswith(("javascript:", "vbscript:", "data:"))
        ), href


# -- XSS corpus ------------------------------------------------------------------------------

XSS_PAYLOADS = [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](VBScript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](javascript&#58;alert(1))",
    "[x](javascript&#x3A;alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](j&#x61;vascript:alert(1))",
    "[x](java&#115;cript:alert(1))",
    "[x](%6Aavascript:alert(1))",
    "[x](  javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](java\tscript:alert(1))",
    "[x](\x00javascript:alert(1))",
    "[x](javascript:alert%281%29)",
    '[x](https://example.org/" onmouseover="alert(1))',
    "[x](https://example.org){onclick=alert(1)}",
    "[a]: javascript:alert(1)\n\nsee [a]",
    "[a][b]\n\n[b]: JaVaScRiPt:alert(1)",
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=alert(1)//",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=https://evil.example></iframe>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    "<a href=javascript:alert(1)>x</a>",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    '<form action="javascript:alert(1)"><button>x</button></form>',
    "<style>body{display:none}</style>",
    '<p onclick="alert(1)">x</p>',
    "<!-- <script>alert(1)</script> -->",
    "    <script>alert(1)</script>",
    "```html\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "![x](https://evil.example/x.png)",
    "![x](javascript:alert(1))",
    "![x][pic]\n\n[pic]: https://evil.example/x.png",
    "[![x](https://evil.example/x.png)](https://example.org)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "**<img src=x onerror=alert(1)>**",
    "> <script>alert(1)</script>",
    "- <svg onload=alert(1)>",
    "# <script>alert(1)</script>",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_does_not_survive(payload: str) -> None:
    html = str(render_markdown(payload))
    assert_safe(html)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_plain_text_of_xss_payload_is_inert_once_escaped(payload: str) -> None:
    # plain_text is a str, not Markup: templates autoescape it, so no element can appear.
    text = plain_text(payload)
    assert type(text) is str
    assert not isinstance(text, Markup)
    assert elements(str(escape(text))) == []


@pytest.mark.parametrize(
    "payload",
    [
        "![x](https://evil.example/x.png)",
        "![x][pic]\n\n[pic]: https://evil.example/x.png",
        '![x](https://evil.example/x.png "title")',
        "<img src=https://evil.example/x.png>",
    ],
)
def test_images_are_never_rendered(payload: str) -> None:
    html = str(render_markdown(payload))
    assert "<img" not in html.lower()
    assert all(tag != "img" for tag, _ in elements(html))


@pytest.mark.parametrize(
    "payload",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](javascript&#58;alert(1))",
        "[x](data:text/html,hi)",
    ],
)
def test_dangerous_links_have_no_dangerous_href(payload: str) -> None:
    html = str(render_markdown(payload))
    for href in hrefs(html):
        assert browser_scheme(href) not in {"javascript", "vbscript", "data"}
    assert 'href="javascript' not in html.lower()
    assert 'href="vbscript' not in html.lower()
    assert 'href="data' not in html.lower()


# -- what survives ---------------------------------------------------------------------------


def test_https_link_survives_with_nofollow() -> None:
    html = str(render_markdown("See [the museum](https://example.org/sted?id=1&x=2)."))
    (link,) = [attrs for tag, attrs in elements(html) if tag == "a"]
    assert link["href"] == "https://example.org/sted?id=1&x=2"
    rel = (link["rel"] or "").split()
    assert "nofollow" in rel
    assert "noopener" in rel
    assert "the museum" in html


def test_link_title_survives() -> None:
    html = str(render_markdown('[x](https://example.org "The title")'))
    (link,) = [attrs for tag, attrs in elements(html) if tag == "a"]
    assert link["title"] == "The title"


def test_autolink_survives() -> None:
    html = str(render_markdown("<https://example.org/a>"))
    assert hrefs(html) == ["https://example.org/a"]


def test_mailto_link_survives() -> None:
    assert hrefs(str(render_markdown("[mail](mailto:bibliotek@example.no)"))) == [
        "mailto:bibliotek@example.no"
    ]


def test_plain_http_link_loses_its_href() -> None:
    html = str(render_markdown("[x](http://example.org)"))
    assert hrefs(html) == []
    assert "x" in html


def test_bare_url_is_not_linkified() -> None:
    html = str(render_markdown("https://example.org"))
    assert "<a" not in html
    assert "https://example.org" in html


def test_emphasis_renders() -> None:
    html = str(render_markdown("*em* and _also em_ and **strong**"))
    assert "<em>em</em>" in html
    assert "<em>also em</em>" in html
    assert "<strong>strong</strong>" in html


def test_lists_render() -> None:
    html = str(render_markdown("- one\n- two\n\n1. first\n2. second"))
    assert [tag for tag, _ in elements(html)] == ["ul", "li", "li", "ol", "li", "li"]
    assert "<li>one</li>" in html and "<li>second</li>" in html


def test_blockquote_code_and_rule_render() -> None:
    html = str(render_markdown("> quoted\n\n`code`\n\n---\n\n    block"))
    tags = [tag for tag, _ in elements(html)]
    assert {"blockquote", "code", "hr", "pre"} <= set(tags)


def test_hard_line_break_renders() -> None:
    assert "<br" in str(render_markdown("one  \ntwo"))


@pytest.mark.parametrize(("source", "level"), [("# Big", 1), ("## Less big", 2)])
def test_h1_and_h2_are_demoted_to_h3(source: str, level: int) -> None:
    html = str(render_markdown(source))
    assert html.startswith("<h3>")
    assert f"<h{level}" not in html
    assert f"</h{level}>" not in html
    assert html.strip().endswith("</h3>")


def test_setext_headings_are_demoted_too() -> None:
    html = str(render_markdown("Big\n===\n\nLess\n---"))
    assert "<h1" not in html and "<h2" not in html
    assert html.count("<h3>") == 2


def test_smaller_headings_are_kept() -> None:
    html = str(render_markdown("### three\n\n#### four\n\n###### six"))
    assert "<h3>three</h3>" in html
    assert "<h4>four</h4>" in html
    assert "<h6>six</h6>" in html


def test_disallowed_markdown_output_is_dropped_not_escaped() -> None:
    # A table is not in commonmark, so it stays text; nothing outside the allow-list appears.
    html = str(render_markdown("| a | b |\n|---|---|\n| 1 | 2 |"))
    assert "<table" not in html


def test_raw_html_is_shown_as_text() -> None:
    html = str(render_markdown("<b>bold?</b>"))
    assert "<b>" not in html
    assert "&lt;b&gt;" in html


def test_result_is_markup() -> None:
    result = render_markdown("*hi*")
    assert isinstance(result, Markup)
    assert Markup.escape(result) == result  # already safe: not escaped again by Jinja


@pytest.mark.parametrize("source", ["", None])
def test_empty_input(source: str | None) -> None:
    assert str(render_markdown(source)) == ""  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            list("<>\"'=&;:/()[]!*#-_`\\ \n\tabcjsptvrioenlhfxdJS0123456789")
            + ["javascript:", "onerror=", "<script>", "<img ", "](", "https://", "&#58;"]
        ),
        max_size=60,
    ).map("".join)
)
def test_arbitrary_text_renders_to_allowed_html(source: str) -> None:
    assert_safe(str(render_markdown(source)))


# -- plain_text ------------------------------------------------------------------------------


def test_plain_text_strips_markdown_and_tags() -> None:
    source = "# Title\n\n*em* **strong** [link](https://example.org)\n\n- a\n- b\n\n> quote"
    assert plain_text(source) == "Title em strong link a b quote"


def test_plain_text_collapses_whitespace() -> None:
    assert plain_text("  one\n\n\n  two\t\tthree  ") == "one two three"


def test_plain_text_is_not_truncated_at_the_limit() -> None:
    assert plain_text("a" * 300) == "a" * 300
    assert plain_text("abc", limit=3) == "abc"


def test_plain_text_is_truncated_with_an_ellipsis() -> None:
    text = plain_text("a" * 301)
    assert len(text) == 300
    assert text.endswith("…")
    assert text == "a" * 299 + "…"


def test_plain_text_truncation_drops_trailing_space() -> None:
    text = plain_text("word " * 100, limit=20)
    assert text == "word word word word…"
    assert len(text) <= 20


@pytest.mark.parametrize("limit", [2, 5, 17, 50])
def test_plain_text_respects_custom_limits(limit: int) -> None:
    text = plain_text("lorem ipsum dolor sit amet " * 10, limit=limit)
    assert len(text) <= limit
    assert text.endswith("…")


@pytest.mark.parametrize("source", ["", None])
def test_plain_text_of_nothing(source: str | None) -> None:
    assert plain_text(source) == ""  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "limit", "expected"),
    [
        ("Fish & chips", 300, "Fish & chips"),
        ("1 < 2 > 0", 300, "1 < 2 > 0"),
        ("&" * 10, 5, "&&&&…"),
    ],
)
def test_plain_text_is_really_plain(source: str, limit: int, expected: str) -> None:
    assert plain_text(source, limit=limit) == expected
