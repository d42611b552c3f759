"""The console's HTML: a page around its body, tables, links and forms, every value escaped.

:class:`Html` marks text that is markup already; everything else passed to these helpers is user data
(typenames, ids, state values, reasons) and is escaped with ``html.escape``, quotes included. So a value
is never inserted raw by forgetting to escape it: only what a helper built is trusted.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime
from urllib.parse import quote, urlencode

from statefun_faas.runtime.records import Address

TITLE = "statefun-faas console"
NAV = (("/", "Overview"), ("/functions", "Functions"), ("/addresses", "Addresses"), ("/dead-letters", "Dead letters"))
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.6em 1.2em;display:flex;gap:1.4em;align-items:baseline}
header a{color:#cfd8ea;text-decoration:none}header a:hover{color:#fff}header strong{margin-right:1em}
main{padding:1em 1.2em;max-width:1200px}h1{font-size:1.35em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.4em 0 .4em}
table{border-collapse:collapse;background:#fff;margin:.3em 0 1em;width:100%}
th,td{border:1px solid #dde1e8;padding:.3em .55em;text-align:left;vertical-align:top}th{background:#eef1f5}
td.n{text-align:right;font-variant-numeric:tabular-nums}
pre{margin:0;white-space:pre-wrap;word-break:break-all;font:12px/1.4 ui-monospace,monospace}
code{font:12px ui-monospace,monospace}.muted{color:#667085}.bad{color:#b42318}.ok{color:#067647}
form.inline{display:inline}input,select,button{font:inherit;padding:.2em .4em}
.filters{display:flex;gap:.6em;align-items:end;flex-wrap:wrap;margin-bottom:.6em}.filters label{display:grid}
.counters{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:.6em}
.counters div{background:#fff;border:1px solid #dde1e8;padding:.5em .7em}.counters b{display:block;font-size:1.4em}
.notice{background:#fff;border-left:4px solid #b42318;padding:.6em .9em}
"""


class Html(str):
    """Markup already: passed through as it is."""

    __slots__ = ()


def esc(value: object) -> Html:
    """``value`` as HTML text: markup stays, anything else is escaped."""
    return value if isinstance(value, Html) else Html(html.escape(str(value), quote=True))


def join(parts: Iterable[object], separator: str = "") -> Html:
    return Html(separator.join(esc(part) for part in parts))


def tag(name: str, content: object = "", **attributes: object) -> Html:
    """``<name attributes>content</name>``; attribute names written ``class_`` lose their underscore."""
    written = "".join(f' {key.rstrip("_").replace("_", "-")}="{esc(value)}"' for key, value in attributes.items())
    return Html(f"<{name}{written}>{esc(content)}</{name}>")


def url(path: str, **params: object) -> str:
    """A console URL: ``path`` (already quoted) with the parameters that have a value."""
    given = {name: value for name, value in params.items() if value is not None and value != ""}
    return f"{path}?{urlencode(given)}" if given else path


def address_url(address: Address) -> str:
    return "/address/" + quote(f"{address.typename}/{address.id}", safe="/")


def link(href: str, text: object) -> Html:
    return tag("a", text, href=href)


def address_link(address: Address) -> Html:
    return link(address_url(address), str(address))


def when(epoch_seconds: float) -> Html:
    moment = datetime.fromtimestamp(epoch_seconds)
    return tag("span", moment.strftime("%H:%M:%S.%f")[:-3], title=moment.isoformat(sep=" ", timespec="milliseconds"))


def table(head: Sequence[str], rows: Iterable[Sequence[object]], empty: str = "none") -> Html:
    """A table; cells that are ints are right-aligned. With no rows, ``empty`` in place of the table."""
    body = [
        tag("tr", join(tag("td", cell, class_="n") if isinstance(cell, int) else tag("td", cell) for cell in row))
        for row in rows
    ]
    if not body:
        return tag("p", empty, class_="muted")
    return tag(
        "table", join([tag("thead", tag("tr", join(tag("th", name) for name in head))), tag("tbody", join(body))])
    )


def pre(text: object) -> Html:
    return tag("pre", text)


def page(title: str, *body: object, refresh: int | None = None) -> bytes:
    """A whole page; ``refresh`` reloads it every so many seconds (no script: a meta refresh)."""
    nav = join(link(href, name) for href, name in NAV)
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)} - {TITLE}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">{meta}<style>{STYLE}</style></head>'
        f"<body><header><strong>{TITLE}</strong>{nav}</header><main>{tag('h1', title)}{join(body)}</main></body></html>"
    )
    return document.encode("utf-8", "replace")


def refresh_switch(path: str, refresh: int | None, **params: object) -> Html:
    """A link that turns the page's auto-refresh on (every 5 s) or off."""
    if refresh:
        return tag("p", join([f"Refreshing every {refresh} s. ", link(url(path, **params), "Stop")]), class_="muted")
    return tag("p", link(url(path, refresh=5, **params), "Refresh every 5 s"), class_="muted")
