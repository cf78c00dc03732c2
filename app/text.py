"""Markdown from residents, rendered and then sanitised with a tight allow-list; and the only
other markup app code builds: a link and small inline SVG drawings, everything in them escaped.

The allow-list keeps a promise (docs/security.md item 19).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

# commonmark without raw HTML: a resident's <script> stays text before sanitising even starts.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.disable("image")  # no remote images: they leak readers' IP addresses

ALLOWED_TAGS = {
    "p", "br", "em", "strong", "a", "ul", "ol", "li", "blockquote", "code", "pre",
    "h3", "h4", "h5", "h6", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def render_markdown(source: str) -> Markup:
    """Markdown -> safe HTML: only https/mailto links, no images, scripts or event handlers."""
    rendered = _markdown.render(source or "")
    # Headings from residents would compete with the page's own; demote h1/h2 to h3.
    rendered = rendered.replace("<h1>", "<h3>").replace("</h1>", "</h3>")
    rendered = rendered.replace("<h2>", "<h3>").replace("</h2>", "</h3>")
    clean = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "mailto"},
        link_rel="nofollow noopener noreferrer ugc",
        attribute_filter=_absolute_links_only,
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


def link_html(url: str, label: str) -> Markup:
    """An HTML link with the URL and the label escaped (the one place app code builds markup)."""
    return Markup('<a href="{}">{}</a>').format(url, label)


def svg_figure(
    width: int,
    height: int,
    label: str,
    css_class: str,
    elements: Iterable[tuple[str, Mapping[str, object]]],
) -> Markup:
    """Inline SVG labelled for screen readers, from (tag, attributes) pairs; every value is
    escaped. For many small drawings on one page (the queue's thumbnails), where a template
    loop would cost far more than this."""
    parts = [
        f'<svg class="{escape(css_class)}" viewBox="0 0 {int(width)} {int(height)}" '
        f'width="{int(width)}" height="{int(height)}" role="img" '
        f'aria-label="{escape(label)}" focusable="false">'
    ]
    for tag, attributes in elements:
        pairs = " ".join(f'{escape(name)}="{escape(value)}"' for name, value in attributes.items())
        parts.append(f"<{escape(tag)} {pairs}/>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every part escaped above


def plain_text(source: str, limit: int = 300) -> str:
    """A short plain-text excerpt of Markdown for lists and metadata."""
    # nh3 returns HTML-escaped text; a plain string must not carry &amp; into autoescaping.
    text = html.unescape(nh3.clean(_markdown.render(source or ""), tags=set()))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _absolute_links_only(tag: str, attribute: str, value: str) -> str | None:
    """Drop relative and protocol-relative links: only https:// and mailto: may stay."""
    if tag == "a" and attribute == "href":
        return value if value.startswith(("https://", "mailto:")) else None
    return value
