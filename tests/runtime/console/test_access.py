"""Who may use the console: tokens as the adapters take them, the session cookie, the Host and Origin checks."""

from __future__ import annotations

import pytest

from statefun_faas.errors import ConfigurationError
from statefun_faas.runtime.console.access import Access, is_loopback, require_token
from statefun_faas.runtime.http.server import Request

TOKEN = "0123456789abcdef0123456789abcdef"
OLD = "fedcba9876543210fedcba9876543210"


def request(
    path: str = "/", query: str = "", method: str = "GET", host: str = "127.0.0.1:8093", **headers: str
) -> Request:
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return Request(method, path, {"host": host, **named}, b"", True, query)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.7", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_console_beyond_loopback_needs_a_token() -> None:
    require_token("127.0.0.1", ())
    require_token("0.0.0.0", (TOKEN,))
    with pytest.raises(ConfigurationError, match=r"--console-host 0\.0\.0\.0 .*STATEFUN_FAAS_TOKENS"):
        require_token("0.0.0.0", ())


def test_without_tokens_only_requests_for_a_loopback_name_are_served() -> None:
    access = Access((), 8093)
    for host in ("127.0.0.1:8093", "localhost:8093", "[::1]:8093", "localhost"):
        assert access.check(request(host=host)).allowed, host
    rebound = access.check(request(host="attacker.example:8093"))  # DNS rebinding: the page's own name
    assert (rebound.allowed, rebound.status) == (False, 403)
    assert "localhost only" in rebound.reason


def test_a_token_in_the_url_becomes_a_cookie_and_leaves_the_url() -> None:
    access = Access((OLD, TOKEN), 8093)
    verdict = access.check(request("/address/a/b/c", "token=" + TOKEN + "&refresh=5"))
    assert (verdict.allowed, verdict.status, verdict.redirect) == (False, 303, "/address/a/b/c?refresh=5")
    assert verdict.cookie is not None
    name, _, rest = verdict.cookie.partition("=")
    value, *flags = rest.split("; ")
    assert name == "statefun_faas_console_8093"
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(flags)
    assert TOKEN not in verdict.cookie
    assert OLD not in verdict.cookie
    assert access.check(request("/functions", cookie=f"other=1; {name}={value}")).allowed
    assert not access.check(request("/functions", cookie=f"{name}={value[:-1]}0")).allowed
    assert not Access((OLD,), 8093).check(request(cookie=f"{name}={value}")).allowed  # the token was rotated out


def test_a_path_token_redirects_to_the_path_without_it_and_never_off_the_server() -> None:
    access = Access((TOKEN,), 8093)
    assert access.check(request(f"/t/{TOKEN}/dead-letters")).redirect == "/dead-letters"
    assert access.check(request(f"/t/{TOKEN}")).redirect == "/"
    assert access.check(request(f"/t/{TOKEN}//evil.example/x")).redirect == "/evil.example/x"
    assert access.check(request(f"/t/{TOKEN}/\\evil.example")).redirect == "/%5Cevil.example"


def test_wrong_or_missing_tokens_are_refused_and_scrapers_may_send_the_token_each_time() -> None:
    access = Access((TOKEN,), 8093)
    assert access.check(request()).status == 401
    assert access.check(request(query="token=wrong")).status == 401
    assert access.check(request(f"/t/{TOKEN}x/")).status == 401
    scrape = access.check(request("/metrics", "token=" + TOKEN), redirect_token=False)
    assert scrape.allowed
    assert scrape.path == "/metrics"
    assert access.check(request("/metrics", authorization=f"Bearer {TOKEN}"), redirect_token=False).allowed
    assert not access.check(request("/metrics", authorization="Bearer nope"), redirect_token=False).allowed
    # tokens set: any Host, as the console may sit behind a name
    assert access.check(request(host="console.internal", authorization=f"Bearer {TOKEN}")).allowed


@pytest.mark.parametrize("tokens", [(), (TOKEN,)])
def test_actions_must_come_from_the_consoles_own_pages(tokens: tuple[str, ...]) -> None:
    access = Access(tokens, 8093)
    auth = {"authorization": f"Bearer {TOKEN}"} if tokens else {}
    own = request("/dead-letters", method="POST", origin="http://127.0.0.1:8093", **auth)
    assert access.check(own).allowed
    by_referer = request("/dead-letters", method="POST", referer="http://127.0.0.1:8093/dead-letters", **auth)
    assert access.check(by_referer).allowed
    for headers in (
        {"origin": "http://evil.example"},
        {"origin": "http://127.0.0.1:9999"},
        {"origin": "null"},
        {"referer": "http://evil.example/page"},
        {},
    ):
        verdict = access.check(request("/dead-letters", method="POST", **headers, **auth))
        assert (verdict.allowed, verdict.status) == (False, 403), headers
