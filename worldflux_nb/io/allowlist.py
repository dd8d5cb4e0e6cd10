"""What may stay in HTML, SVG and Markdown built from input: an allowlist, cleaned by nh3 (Ammonia).

Anything not listed — scripts, event handlers, forms, frames, meta refresh, `srcset`, `poster`,
`background`, SVG filters and `<image>`/`<use>`, CSS beyond a few layout properties — is removed;
URLs are checked after the parser has decoded entities, so encoded or backslashed schemes do not
slip through. Images may only be inline `data:` images: a shared notebook never fetches anything.
"""

from __future__ import annotations

import re
from typing import Any

import nh3

_TEXT_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details",
    "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "mark",
    "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
_COMMON_ATTRIBUTES = {"style", "title", "class", "align", "colspan", "rowspan", "scope"}
_HTML_ATTRIBUTES = {"*": _COMMON_ATTRIBUTES, "a": {"href"}, "img": {"src", "alt", "width", "height"},
                    "details": {"open"}, "ol": {"start"}}
# Layout and colour only: nothing here can name a URL (background-image, content, cursor ... cannot).
_STYLE_PROPERTIES = {
    "color", "background-color", "text-align", "vertical-align", "font-weight", "font-style", "font-size",
    "font-family", "padding", "padding-left", "padding-right", "padding-top", "padding-bottom", "margin",
    "margin-left", "margin-right", "margin-top", "margin-bottom", "border", "border-top", "border-bottom",
    "border-left", "border-right", "border-collapse", "border-spacing", "border-radius", "opacity",
    "display", "width", "max-width", "min-width", "height", "max-height", "overflow", "overflow-x",
    "white-space", "text-decoration", "line-height", "gap",
}
# What vl-convert writes for a chart (vl-convert-python 1.x): shapes, text and groups, no references.
_SVG_TAGS = {"svg", "g", "path", "rect", "line", "circle", "ellipse", "polygon", "polyline", "text", "tspan",
             "title", "desc"}
_SVG_ATTRIBUTES = {"*": {
    "class", "d", "display", "fill", "fill-opacity", "font-family", "font-size", "font-style", "font-weight",
    "height", "opacity", "pointer-events", "role", "aria-hidden", "aria-label", "aria-roledescription",
    "stroke", "stroke-dasharray", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "stroke-opacity",
    "stroke-width", "style", "text-anchor", "transform", "version", "viewBox", "width", "x", "y", "x1", "x2",
    "y1", "y2", "cx", "cy", "r", "rx", "ry", "points", "dx", "dy", "xmlns", "dominant-baseline",
}}
_LINK_SCHEMES = {"http", "https", "mailto", "data"}


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if value.lstrip().lower().startswith("data:image/") else None
    if tag == "a" and attribute == "href" and value.lstrip().lower().startswith("data:"):
        return None
    return value


def clean_html(html: str) -> str:
    """HTML with only allowlisted tags, attributes, CSS properties and URL schemes left."""
    return nh3.clean(html, tags=_TEXT_TAGS, attributes=_HTML_ATTRIBUTES, attribute_filter=_attribute_filter,
                     url_schemes=_LINK_SCHEMES, filter_style_properties=_STYLE_PROPERTIES,
                     url_relative="deny", link_rel="noopener noreferrer nofollow")


def clean_svg(svg: str) -> str:
    """An SVG drawing with only shapes, text and presentation attributes: no scripts, links or images."""
    return nh3.clean(svg, tags=_SVG_TAGS, attributes=_SVG_ATTRIBUTES, url_schemes=set(),
                     filter_style_properties=_STYLE_PROPERTIES | {"fill", "stroke", "stroke-width"},
                     link_rel=None, clean_content_tags={"script", "style"})


# Markdown: raw HTML tags (bounded, so the scan stays linear), images and links.
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]{0,30})?([^<>]{0,4096})>|<[!?][^<>]{0,4096}>")
_PLAIN_TAGS = {"b", "i", "em", "strong", "code", "br", "p", "hr", "sub", "sup", "details", "summary",
               "kbd", "s", "del", "u", "pre", "blockquote", "ul", "ol", "li"}
_IMAGE = re.compile(r"!\[([^\]\n]{0,1000})\](?:\(([^)\n]{0,2000})\)|\[[^\]\n]{0,1000}\])")
_LINK = re.compile(r"\[([^\]\n]{0,1000})\]\(\s*([^)\s\n]{0,2000})[^)\n]{0,500}\)")
_REFERENCE = re.compile(r"(?m)^ {0,3}\[[^\]\n]{1,1000}\]:[ \t]*<?(\S{0,2000})")
_SAFE_LINK = re.compile(r"(?i)^(?:https?://|mailto:|#)")


def clean_markdown(text: str) -> str:
    """Markdown whose raw HTML keeps only plain formatting tags (no attributes), whose images are
    inline data only, and whose links go only to http(s), mail or an anchor."""

    def tag(match: re.Match[str]) -> str:
        name = (match.group(2) or "").lower()
        if name in _PLAIN_TAGS and not (match.group(3) or "").strip(" /"):
            return f"<{match.group(1)}{name}>"
        return ""

    def image(match: re.Match[str]) -> str:
        url = (match.group(2) or "").strip()
        if url.lower().startswith("data:image/") and match.group(2) is not None:
            return match.group(0)
        return f"{match.group(1)} (image removed)"

    def link(match: re.Match[str]) -> str:
        return match.group(0) if _SAFE_LINK.match(match.group(2)) else match.group(1)

    def reference(match: re.Match[str]) -> str:
        return match.group(0) if _SAFE_LINK.match(match.group(1)) else ""

    text = _TAG.sub(tag, text)
    text = _IMAGE.sub(image, text)
    text = _LINK.sub(link, text)
    return _REFERENCE.sub(reference, text)


def remote_reference(value: Any) -> bool:
    """Whether a JSON payload (a Vega-Lite spec, say) holds any URL a renderer might fetch."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and _URL.search(item):
            return True
    return False


_URL = re.compile(r"(?i)(?:^|[\s\"'(=])(?:[a-z][a-z0-9+.-]{0,30}:)?//[^\s/]|^\s*(?:https?|ftp|file):")
