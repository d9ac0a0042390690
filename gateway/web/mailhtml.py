"""Mail HTML made harmless: an allow-list of tags and attributes, nothing that runs or phones home.

The result is shown only inside `<iframe sandbox srcdoc=...>` without `allow-scripts`,
under the page's Content-Security-Policy and one of its own: three layers, each enough alone.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["Sanitised", "sanitise", "srcdoc"]

ALLOWED = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "code", "col", "colgroup", "dd", "del", "div", "dl",
    "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre",
    "q", "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "tt", "u", "ul",
})
VOID = frozenset({"br", "hr", "img", "col"})
# dropped with everything inside them
DROP = frozenset({
    "script", "style", "head", "title", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript",
    "template", "svg", "math", "input", "button", "select", "textarea", "option", "audio", "video", "canvas",
    "link", "meta", "base", "param", "source", "track", "noembed", "noframes", "xmp", "plaintext",
})
ATTRS = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "td": {"colspan", "rowspan", "align", "valign", "width"},
    "th": {"colspan", "rowspan", "align", "valign", "width"},
    "table": {"border", "cellpadding", "cellspacing", "width", "align"},
    "col": {"span", "width"},
    "font": {"color", "size"},
    "p": {"align"}, "div": {"align"}, "span": {"title"}, "abbr": {"title"},
}
_SAFE_LINK = re.compile(r"^(https?:|mailto:)", re.I)
_DATA_IMAGE = re.compile(r"^data:image/(png|jpe?g|gif|webp);base64,[a-z0-9+/=\s]+$", re.I)
_REMOTE = re.compile(r"^https?://", re.I)
_PLAIN = re.compile(r"^[#\w\s.,%-]*$")
MAX_INPUT = 2 << 20


@dataclass(slots=True)
class Sanitised:
    html: str
    remote_images: int = 0  # remote images left out (each would tell the sender the mail was read)
    removed: list[str] = field(default_factory=list)  # kinds of things taken out, for the operator


class _Cleaner(HTMLParser):
    def __init__(self, allow_remote_images: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.drop_depth = 0
        self.drop_tag: str | None = None
        self.allow_remote = allow_remote_images
        self.remote_images = 0
        self.removed: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.drop_depth:
            if tag == self.drop_tag:
                self.drop_depth += 1
            return
        if tag in DROP:
            self.removed.add(tag)
            if tag not in VOID and tag not in ("input", "link", "meta", "base", "param", "source", "track"):
                self.drop_depth, self.drop_tag = 1, tag
            return
        if tag not in ALLOWED:
            if any(name.startswith("on") for name, _ in attrs):
                self.removed.add("event handlers")
            if tag == "form":
                self.removed.add(tag)
            return  # unknown wrapper (form, body, center-like tags): keep its text, lose the tag
        kept = self._attrs(tag, attrs)
        if kept is None:
            return
        self.out.append(f"<{tag}{kept}>")
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.open and self.open[-1] == tag:
            self.handle_endtag(tag)

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> str | None:
        parts: list[str] = []
        for name, value in attrs:
            value = (value or "").strip()
            if name.startswith("on"):
                self.removed.add("event handlers")
                continue
            if name not in ATTRS.get(tag, ()):
                continue
            if name == "href":
                if not _SAFE_LINK.match(value):
                    continue
                parts.append(' rel="noopener noreferrer" target="_blank"')
            elif name == "src":
                if _REMOTE.match(value) and self.allow_remote:
                    pass
                elif _REMOTE.match(value):
                    self.remote_images += 1
                    return None
                elif not _DATA_IMAGE.match(value):
                    return None  # cid: parts and anything else: not fetched
            elif not _PLAIN.match(value):
                continue
            parts.append(f' {name}="{html.escape(value, quote=True)}"')
        if tag == "img" and not any(p.startswith(" src=") for p in parts):
            return None
        return "".join(parts)

    def handle_endtag(self, tag: str) -> None:
        if self.drop_depth:
            if tag == self.drop_tag:
                self.drop_depth -= 1
            return
        if tag in self.open:
            while self.open:
                top = self.open.pop()
                self.out.append(f"</{top}>")
                if top == tag:
                    break

    def handle_data(self, data: str) -> None:
        if not self.drop_depth:
            self.out.append(html.escape(data, quote=False))

    def result(self) -> Sanitised:
        self.close()
        self.out.extend(f"</{t}>" for t in reversed(self.open))
        return Sanitised("".join(self.out), self.remote_images, sorted(self.removed))


def sanitise(raw: str, *, allow_remote_images: bool = False) -> Sanitised:
    """Keep the layout and text of a mail; drop scripts, handlers, forms, frames, styles, remote images."""
    cleaner = _Cleaner(allow_remote_images)
    cleaner.feed(raw[:MAX_INPUT])
    return cleaner.result()


def srcdoc(body: str, *, allow_remote_images: bool = False) -> str:
    """A whole document for an iframe's srcdoc, with a policy of its own."""
    img = "data: https: http:" if allow_remote_images else "data:"
    policy = f"default-src 'none'; img-src {img}; base-uri 'none'; form-action 'none'"
    return ('<!doctype html><html><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{policy}"></head>'
            f'<body>{body}</body></html>')
