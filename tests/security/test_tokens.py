"""URL-token auth under fuzzing: no 200 without a valid token, both rotation tokens work,
and ``hmac.compare_digest`` is what decides."""

from __future__ import annotations

import hmac
from urllib.parse import unquote, unquote_plus, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statefun_faas.adapters.edge import Edge
from tests.adapters.conformance import TOKENS
from tests.fuzz.answers import PROBE, PROBE_ANSWER
from tests.fuzz.profiles import fuzz
from tests.fuzz.registry import FUNCTIONS
from tests.security.drivers import DRIVERS, PATH_TOKEN_DRIVERS

#: Offered tokens that are almost right: cut, extended, case-changed, padded, the two joined.
near_misses = st.sampled_from(
    [
        *(token[:-1] for token in TOKENS),
        *(token + "0" for token in TOKENS),
        *(token.upper() for token in TOKENS),
        *(f" {token}" for token in TOKENS),
        ",".join(TOKENS),
        "",
    ]
)
offered = st.one_of(near_misses, st.text(max_size=40))
safe_text = st.text(st.sampled_from("abcxyz019-_/."), max_size=12)
other_params = st.lists(st.tuples(st.text(max_size=8).filter(lambda key: key != "token"), st.text(max_size=12)))


def carries_a_token(*parts: str) -> bool:
    """Whether any valid token appears in any part, raw or decoded as a server might."""
    views = [view for part in parts for view in (part, unquote(part), unquote_plus(part))]
    return any(token in view for token in TOKENS for view in views)


@fuzz
@given(st.sampled_from(list(DRIVERS)), offered, st.text(max_size=30), other_params, st.booleans())
def test_no_valid_token_no_200(
    driver: str, token: str, path: str, params: list[tuple[str, str]], in_path: bool
) -> None:
    path = f"/t/{token}/{path}" if in_path else "/" + path
    query = urlencode([*params, ("token", token)])
    if carries_a_token(path, query):
        return
    status, _, body = DRIVERS[driver]("POST", path, query, PROBE)
    assert status == 401, f"{driver}: {status} {body[:100]!r} for path {path!r} query {query!r}"
    assert body == b"unauthorized\n", "a 401 carries no detail"


@fuzz
@given(st.sampled_from(list(DRIVERS)), st.sampled_from(TOKENS), safe_text, other_params)
def test_either_rotation_token_in_the_query_is_accepted(
    driver: str, token: str, path: str, params: list[tuple[str, str]]
) -> None:
    query = urlencode([*params, ("token", token)])
    assert DRIVERS[driver]("POST", "/" + path, query, PROBE)[2] == PROBE_ANSWER


@fuzz
@given(st.sampled_from(PATH_TOKEN_DRIVERS), st.sampled_from(TOKENS), safe_text, other_params)
def test_either_rotation_token_as_a_path_prefix_is_accepted(
    driver: str, token: str, path: str, params: list[tuple[str, str]]
) -> None:
    assert DRIVERS[driver]("POST", f"/t/{token}/{path}", urlencode(params), PROBE)[2] == PROBE_ANSWER


token_text = st.text(st.characters(codec="utf-8", exclude_characters=","), min_size=1, max_size=30).map(str.strip)


@fuzz
@given(st.lists(token_text.filter(bool), min_size=1, max_size=2, unique=True), st.one_of(token_text, near_misses))
def test_any_configured_tokens_accept_exactly_themselves(tokens: list[str], candidate: str) -> None:
    edge = Edge.create(FUNCTIONS, "test", tokens=tokens, request_log=lambda line: None)
    choices = [candidate, *tokens]
    for offer in choices:
        expected = 200 if offer in tokens else 401
        assert edge.handle("POST", "/", {"token": offer}, PROBE).status == expected
        if offer and "/" not in offer:
            assert edge.handle("POST", f"/t/{offer}/x", "", PROBE).status == expected


class Spy:
    """Wraps hmac.compare_digest: records every call; ``verdict`` overrides its answer."""

    def __init__(self, verdict: bool | None = None) -> None:
        self.real = hmac.compare_digest
        self.verdict = verdict
        self.calls: list[tuple[object, object]] = []

    def __call__(self, a: bytes, b: bytes) -> bool:
        self.calls.append((a, b))
        real = self.real(a, b)
        return real if self.verdict is None else self.verdict


@pytest.mark.parametrize("driver", list(DRIVERS))
def test_the_edge_compares_tokens_with_compare_digest(driver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy()
    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert DRIVERS[driver]("POST", "/", f"token={TOKENS[1]}", PROBE)[2] == PROBE_ANSWER
    assert (TOKENS[1].encode(), TOKENS[1].encode()) in spy.calls
    assert all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in spy.calls)
    spy.calls.clear()
    assert DRIVERS[driver]("POST", "/", "token=guess", PROBE)[0] == 401
    assert {b for _, b in spy.calls} == {token.encode() for token in TOKENS}, "each configured token compared"


@pytest.mark.parametrize("driver", list(DRIVERS))
def test_compare_digest_alone_decides(driver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With its verdict flipped, a valid token is refused and a wrong one accepted: nothing else compares."""
    monkeypatch.setattr(hmac, "compare_digest", Spy(verdict=False))
    assert DRIVERS[driver]("POST", "/", f"token={TOKENS[0]}", PROBE)[0] == 401
    monkeypatch.setattr(hmac, "compare_digest", Spy(verdict=True))
    assert DRIVERS[driver]("POST", "/", "token=wrong", PROBE)[2] == PROBE_ANSWER
