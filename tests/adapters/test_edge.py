"""The shared HTTP edge answers the conformance set by itself, before any adapter."""

from __future__ import annotations

import json
import logging

import pytest

from statefun_faas.adapters.edge import Edge, parse_tokens, redact_url
from tests.adapters.conformance import CASES, FUNCTIONS, MAX_BODY, MAX_INVOCATIONS, TOKENS, Case, check


@pytest.fixture
def edge() -> Edge:
    return Edge.create(FUNCTIONS, "test", tokens=TOKENS, max_body_bytes=MAX_BODY, max_invocations=MAX_INVOCATIONS)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conformance_case(edge: Edge, case: Case) -> None:
    response = edge.handle(case.method, case.path, case.query, case.body)
    check(case, response.status, response.content_type, response.body)


def test_body_is_not_read_when_the_token_is_wrong(edge: Edge) -> None:
    def body() -> bytes:
        raise AssertionError("the body was read before the token was checked")

    assert edge.handle("POST", "/x", "token=wrong", body).status == 401
    assert edge.precheck("POST", "/x", f"token={TOKENS[0]}", content_length=MAX_BODY + 1) is not None


def test_tokens_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATEFUN_FAAS_TOKENS", "a-token, b-token")
    edge = Edge.create(FUNCTIONS, "aws")
    assert edge.tokens == ("a-token", "b-token")
    assert edge.max_body_bytes == 6 * 1024 * 1024
    with pytest.raises(ValueError, match="one, or two"):
        parse_tokens("a,b,c")


def test_one_json_log_line_per_request() -> None:
    lines: list[str] = []
    edge = Edge.create(
        FUNCTIONS,
        "test",
        tokens=TOKENS,
        max_body_bytes=MAX_BODY,
        request_log=lines.append,
        max_invocations=MAX_INVOCATIONS,
    )
    case = CASES[0]
    edge.handle(case.method, case.path, case.query, case.body)
    records = [json.loads(line) for line in lines]
    assert len(records) == 1
    assert records[0]["typename"] == "conformance/counter"
    assert records[0]["id"] == "a"
    assert records[0]["batch"] == 1
    assert records[0]["status"] == 200
    assert TOKENS[0] not in lines[0]


@pytest.mark.parametrize(("setting", "stream"), [(None, "err"), ("stdout", "out")])
def test_request_lines_go_straight_to_a_stream(
    setting: str | None, stream: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    if setting is None:
        monkeypatch.delenv("STATEFUN_FAAS_REQUEST_LOG", raising=False)
    else:
        monkeypatch.setenv("STATEFUN_FAAS_REQUEST_LOG", setting)
    edge = Edge.create(FUNCTIONS, "test", tokens=TOKENS)
    case = CASES[0]
    edge.handle(case.method, case.path, case.query, case.body)
    written = getattr(capfd.readouterr(), stream)
    assert json.loads(written.splitlines()[-1])["typename"] == "conformance/counter"


def test_request_log_through_logging_or_off(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("STATEFUN_FAAS_REQUEST_LOG", "logging")
    case = CASES[0]
    with caplog.at_level(logging.INFO, logger="statefun_faas.requests"):
        Edge.create(FUNCTIONS, "test", tokens=TOKENS).handle(case.method, case.path, case.query, case.body)
    assert [json.loads(r.getMessage())["status"] for r in caplog.records if r.name == "statefun_faas.requests"] == [200]
    monkeypatch.setenv("STATEFUN_FAAS_REQUEST_LOG", "off")
    assert Edge.create(FUNCTIONS, "test").request_log is None
    monkeypatch.setenv("STATEFUN_FAAS_REQUEST_LOG", "loud")
    with pytest.raises(ValueError, match="stderr, stdout, logging or off"):
        Edge.create(FUNCTIONS, "test")


def test_user_error_traceback_is_logged_not_answered(edge: Edge, caplog: pytest.LogCaptureFixture) -> None:
    case = next(c for c in CASES if c.name == "user code raised")
    with caplog.at_level(logging.ERROR, logger="statefun_faas.adapters.edge"):
        response = edge.handle(case.method, case.path, case.query, case.body)
    assert response.status == 500
    assert "Traceback" in caplog.text
    assert "user code failed on purpose" in caplog.text
    assert "z9" in caplog.text


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://h/t/s3cret/{function.name}", "https://h/t/***/{function.name}"),
        ("https://h/fn?token=s3cret&x=1", "https://h/fn?token=***&x=1"),
        ("https://app.azurewebsites.net/api/statefun?code=k3y", "https://app.azurewebsites.net/api/statefun?code=***"),
        ("http://h:8000/{function.name}", "http://h:8000/{function.name}"),
    ],
)
def test_redact_url_hides_credentials(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted
