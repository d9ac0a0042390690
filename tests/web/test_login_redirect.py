"""Where the login page sends you afterwards: only a path on this site, however the address is dressed up."""

from __future__ import annotations

import re
from urllib.parse import quote

from tests.api.conftest import PASSWORD, Gateway

# Each of these, after a browser's own clean-up (tab, CR and LF removed; a backslash read as a slash), names
# another host or a scheme.
ELSEWHERE = [
    "//evil.example/", "/\t/evil.example", "/\r/evil.example", "/\n/evil.example", "/\r\n/evil.example",
    "\t//evil.example", " //evil.example", "/\\evil.example", "\\\\evil.example", "/\t\\evil.example",
    "\\/evil.example", "https://evil.example/", "https:evil.example", "javascript:alert(1)", "HTTPS://evil.example",
    "//evil.example@good", "/%09/evil.example", "/%2F/evil.example", "/%5Cevil.example", "evil.example",
    "\x00//evil.example", "/\x0b/evil.example", "/\x7f/evil.example", "///evil.example", "\u3000//evil.example",
    "/\u2028/evil.example", "", "?next=//evil.example", "#//evil.example",
]
HERE = ["/", "/journal?channel=manual", "/leads/7", "/journal?q=%D0%B8%D0%B2%D0%B0%D0%BD&page=2"]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


async def test_login_goes_back_only_to_a_path_of_this_site(gateway: Gateway) -> None:
    async with gateway.client(follow_redirects=False) as c:
        for value in ELSEWHERE:
            form = await c.get(f"/login?next={quote(value, safe='')}")
            assert 'name="next" value="/"' in form.text, repr(value)
            resp = await c.post("/login", data={"name": "vera", "password": PASSWORD, "csrf": _csrf(form.text),
                                                "next": value})
            assert resp.status_code == 302 and resp.headers["location"] == "/", repr(value)
            c.cookies.clear()
        for value in HERE:
            form = await c.get(f"/login?next={quote(value, safe='')}")
            resp = await c.post("/login", data={"name": "vera", "password": PASSWORD, "csrf": _csrf(form.text),
                                                "next": value})
            assert resp.status_code == 302 and resp.headers["location"] == value, repr(value)
            c.cookies.clear()
