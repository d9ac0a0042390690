"""Mail HTML sanitising: layout and text stay, nothing that runs or fetches does."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.web.mailhtml import sanitise, srcdoc

SAFE_TAGS = {"a", "b", "i", "p", "div", "td", "img", "br", "span", "table", "tr"}


class _Elements(HTMLParser):
    """What a browser would build: the tags and attributes (text is inert)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def dangerous(html: str) -> list[str]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    bad = []
    for tag, attrs in parser.found:
        if tag not in SAFE_TAGS:
            bad.append(tag)
        for name, value in attrs:
            if name.startswith("on") or name == "style" or re.match(r"\s*(javascript|vbscript|data:text)", value or "",
                                                                     re.I):
                bad.append(f"{tag}[{name}]")
    return bad


def test_keeps_layout_and_text() -> None:
    out = sanitise('<table border="1"><tr><td colspan="2"><b>Итого</b>: 5&nbsp;000 ₽</td></tr></table>'
                   '<p align="center">Спасибо<br>Иван</p><a href="https://shop.example/o/1">заказ</a>')
    assert out.html == ('<table border="1"><tr><td colspan="2"><b>Итого</b>: 5\xa0000 ₽</td></tr></table>'
                        '<p align="center">Спасибо<br>Иван</p>'
                        '<a rel="noopener noreferrer" target="_blank" href="https://shop.example/o/1">заказ</a>')


def test_drops_scripts_handlers_forms_frames_and_styles() -> None:
    out = sanitise('<script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a>'
                   '<form action="//evil"><input name=p><button>go</button>ok</form><iframe src=//e></iframe>'
                   '<style>*{background:url(//t)}</style><div style="background:url(//t)" onclick=alert(4)>d</div>'
                   '<svg><script>alert(5)</script></svg><SCRIPT>alert(6)</SCRIPT><scr<script>ipt>alert(7)</script>')
    assert dangerous(out.html) == []
    assert out.html == "<a>x</a>ok<div>d</div>ipt&gt;alert(7)"
    assert {"script", "form", "iframe", "style", "event handlers"} <= set(out.removed)


def test_remote_images_only_when_asked() -> None:
    raw = ('<img src="https://tracker.example/p.gif" alt="logo"><img src="cid:part1">'
           '<img src="data:image/png;base64,AAAA">')
    hidden = sanitise(raw)
    assert hidden.remote_images == 1 and "tracker" not in hidden.html
    assert hidden.html == '<img src="data:image/png;base64,AAAA">'
    shown = sanitise(raw, allow_remote_images=True)
    assert 'src="https://tracker.example/p.gif"' in shown.html


def test_unclosed_and_stray_tags_are_balanced() -> None:
    assert sanitise("<b><i>жирный курсив</b> и дальше</div>").html == "<b><i>жирный курсив</i></b> и дальше"


def test_the_frame_document_has_its_own_policy() -> None:
    doc = srcdoc("<p>x</p>")
    assert "default-src 'none'" in doc and "img-src data:;" in doc and "<p>x</p>" in doc


TAGS = st.sampled_from(["script", "img", "a", "p", "svg", "iframe", "style", "b", "form", "div", "object", "td"])
ATTRS = st.sampled_from(['onerror="alert(1)"', 'href="javascript:alert(1)"', 'src="x"', "onload=alert(1)",
                         'style="x:url(javascript:alert(1))"', 'href="https://ok.example"', 'src="data:text/html,1"',
                         "ONCLICK='a()'", 'src="https://t.example/p.gif"'])
CHUNK = st.one_of(
    st.builds(lambda t, a: f"<{t} {a}>", TAGS, ATTRS), st.builds(lambda t: f"</{t}>", TAGS),
    st.text(alphabet="<>\"'=/ abc&;", max_size=8), st.sampled_from(["<!--", "-->", "<![CDATA[", "]]>", "&lt;"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(CHUNK, max_size=25))
def test_nothing_dangerous_survives(chunks: list[str]) -> None:
    assert dangerous(sanitise("".join(chunks)).html) == []
