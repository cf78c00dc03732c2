"""Markdown from residents, rendered and then sanitised with a tight allow-list (SECURITY.md 19)."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

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
    html = _markdown.render(source or "")
    # Headings from residents would compete with the page's own; demote h1/h2 to h3.
    html = html.replace("<h1>", "<h3>").replace("</h1>", "</h3>")
    html = html.replace("<h2>", "<h3>").replace("</h2>", "</h3>")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "mailto"},
        link_rel="nofollow noopener noreferrer ugc",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


def plain_text(source: str, limit: int = 300) -> str:
    """A short plain-text excerpt of Markdown for lists and metadata."""
    text = nh3.clean(_markdown.render(source or ""), tags=set())
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
