"""Who may use the console, with the adapters' token rules (docs/security.md), and what a browser may not be
tricked into.

- Tokens: ``STATEFUN_FAAS_TOKENS`` (one, or two while rotating), read by the command line and handed in; when
  given they are checked on every request, loopback included, with ``hmac.compare_digest``. A token is
  offered as ``?token=`` or as a path prefix ``/t/<token>/``; a page so opened answers with a session cookie
  (HttpOnly, SameSite=Strict) and a redirect to the same page without the token, so links work and the token
  leaves the address bar. Scrapers of ``/metrics`` may send the token each time (``?token=`` or
  ``Authorization: Bearer``). The cookie holds an HMAC of the token, never the token itself.
- Without tokens the console only binds a loopback address (:func:`require_token`), and answers only
  requests whose ``Host`` names a loopback address: a page elsewhere that rebinds its own name to 127.0.0.1
  (DNS rebinding) gets nothing.
- Actions (POST) must come from the console's own pages: their ``Origin`` (or, lacking it, ``Referer``) must
  be the console's own origin. With the SameSite cookie, another site's form can not replay or discard.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from statefun_faas.errors import ConfigurationError
from statefun_faas.runtime.http.server import Request

TOKENS_ENV = "STATEFUN_FAAS_TOKENS"  # read by the command line (statefun_faas.adapters.edge.parse_tokens)
SESSION_MESSAGE = b"statefun-faas console session"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address, IPv6 with or without brackets) is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_token(host: str, tokens: tuple[str, ...]) -> None:
    """Refuse to expose the console beyond this machine without a token."""
    if tokens or is_loopback(host):
        return
    raise ConfigurationError(
        f"--console-host {host} would open the console to other machines without a token; set {TOKENS_ENV} to "
        "a long random token (python -c 'import secrets; print(secrets.token_hex(32))') and open the console "
        "with ?token=<token>, or keep the default --console-host 127.0.0.1 (--no-console turns it off)"
    )


@dataclass(frozen=True)
class Verdict:
    """What to do with a request: serve it (``allowed``; ``path``: the page, a ``/t/<token>`` prefix taken
    off), or answer ``status`` with ``reason``; ``redirect`` (with ``cookie``) sends a browser to the same page
    without the token it offered."""

    allowed: bool
    status: int = 200
    reason: str = ""
    redirect: str | None = None
    cookie: str | None = None
    path: str | None = None


ALLOWED = Verdict(True)


class Access:
    """The checks of one console port (the cookie is named after the port: cookies do not tell ports apart)."""

    def __init__(self, tokens: tuple[str, ...], port: int) -> None:
        self.tokens = tuple(token.encode("utf-8", "surrogatepass") for token in tokens)
        self.cookie_name = f"statefun_faas_console_{port}"
        self.sessions = tuple(hmac.new(token, SESSION_MESSAGE, hashlib.sha256).hexdigest() for token in self.tokens)

    def check(self, request: Request, redirect_token: bool = True) -> Verdict:
        """The verdict on ``request``; ``redirect_token`` False serves a request that carries a good token in
        its URL at once (``/metrics``: a scraper keeps no cookies)."""
        host = request.headers.get("host", "")
        if not self.tokens and not is_loopback(_hostname(host)):
            return Verdict(False, 403, f"this console answers requests for localhost only, not for {host!r}")
        if request.method == "POST" and not self._same_origin(request, host):
            return Verdict(False, 403, "refused: the request did not come from a page of this console")
        if not self.tokens:
            return ALLOWED
        offered, rest_path, rest_query = _offered(request)
        if offered is not None:
            if not self._valid(offered):
                return Verdict(False, 401, "wrong token: open the console with ?token=<one of STATEFUN_FAAS_TOKENS>")
            if not redirect_token or request.method != "GET":
                return Verdict(True, path=rest_path)
            # the path as an absolute path of this server, never "//host" (a redirect elsewhere)
            target = "/" + quote(rest_path.lstrip("/"), safe="/") + (f"?{rest_query}" if rest_query else "")
            return Verdict(False, 303, "signed in", target, self.session_cookie())
        if self._valid(_bearer(request)) or self._valid_session(_cookie(request, self.cookie_name)):
            return ALLOWED
        return Verdict(False, 401, "this console needs a token: open it with ?token=<one of STATEFUN_FAAS_TOKENS>")

    def session_cookie(self) -> str:
        """The cookie of the last token (while rotating, ``<old>,<new>``: it outlives the old one)."""
        return f"{self.cookie_name}={self.sessions[-1]}; Path=/; HttpOnly; SameSite=Strict"

    def _valid(self, offered: str | None) -> bool:
        if offered is None:
            return False
        data, ok = offered.encode("utf-8", "surrogatepass"), False
        for token in self.tokens:
            ok |= hmac.compare_digest(data, token)
        return ok

    def _valid_session(self, offered: str | None) -> bool:
        if offered is None:
            return False
        data, ok = offered.encode("ascii", "replace"), False
        for session in self.sessions:
            ok |= hmac.compare_digest(data, session.encode("ascii"))
        return ok

    @staticmethod
    def _same_origin(request: Request, host: str) -> bool:
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            referer = urlsplit(request.headers.get("referer", ""))
            origin = f"{referer.scheme}://{referer.netloc}" if referer.netloc else None
        return bool(host) and origin in (f"http://{host}", f"https://{host}")


def _hostname(host: str) -> str:
    """The name in a ``Host`` header, without its port."""
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _offered(request: Request) -> tuple[str | None, str, str]:
    """A token in the request's URL (``?token=`` or ``/t/<token>/``), and the path and query without it."""
    pairs = parse_qsl(request.query, keep_blank_values=True)
    rest = urlencode([(name, value) for name, value in pairs if name != "token"])
    tokens = [value for name, value in pairs if name == "token"]
    parts = request.path.split("/", 3)
    if len(parts) >= 3 and parts[1] == "t" and parts[2]:
        return parts[2], "/" + (parts[3] if len(parts) > 3 else ""), rest
    return (tokens[-1] if tokens else None), request.path, rest


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


def _cookie(request: Request, name: str) -> str | None:
    try:
        jar = SimpleCookie(request.headers.get("cookie", ""))
    except CookieError:
        return None
    morsel = jar.get(name)
    return None if morsel is None else morsel.value
