"""What the adapters tell about each request: the edge's observer hook (function type, status, seconds, body sizes)
for every conformance case through the Lambda handler, and the request log line in the CloudWatch Embedded Metric
Format, each line held to the format's rules (checked here as the specification states them: CloudWatch itself
can not run offline)."""

from __future__ import annotations

import base64
import json
import logging
import math
import time
from typing import Any

import pytest

from statefun_faas.adapters import edge as edge_module
from statefun_faas.adapters._request_log import EMF_NAMESPACE, emf_namespace
from statefun_faas.adapters.aws_lambda import lambda_handler
from statefun_faas.adapters.edge import Edge
from tests.adapters.conformance import (
    CASES,
    COUNTER_OK,
    FUNCTIONS,
    GOOD,
    MAX_BODY,
    MAX_INVOCATIONS,
    TOKENS,
    UNKNOWN,
    USER_ERROR,
)
from tests.adapters.lambda_events import case_event, event_for, unpack

Heard = tuple[str, int, float, int, int]
SECOND = ("", "/Second")
TYPES = {COUNTER_OK: "conformance/counter", USER_ERROR: "conformance/fails", UNKNOWN: "conformance/nobody"}

#: the units a CloudWatch metric may have (the MetricDatum API's StandardUnit)
UNITS = frozenset(
    [
        *("Seconds", "Microseconds", "Milliseconds", "Percent", "Count", "Count/Second", "None"),
        *(f"{size}{per}" for size in ("Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes") for per in SECOND),
        *(f"{size}{per}" for size in ("Bits", "Kilobits", "Megabits", "Gigabits", "Terabits") for per in SECOND),
    ]
)


def check_emf(line: str) -> dict[str, Any]:
    """``line`` as an Embedded Metric Format document, or AssertionError naming the rule it breaks."""
    document = json.loads(line)
    assert isinstance(document, dict), "the root node is a JSON object"
    assert len(line.encode()) < 256 * 1024, "within a CloudWatch Logs event"
    metadata = document.get("_aws")
    assert isinstance(metadata, dict), "the root node has the _aws metadata object"
    assert set(metadata) <= {"Timestamp", "CloudWatchMetrics", "LogGroupName"}, "no other _aws members"
    stamp = metadata.get("Timestamp")
    assert isinstance(stamp, int | float), "Timestamp is a number"
    assert abs(stamp - time.time() * 1000) < 60_000, "Timestamp is the event's time, in epoch milliseconds"
    directives = metadata.get("CloudWatchMetrics")
    assert isinstance(directives, list), "CloudWatchMetrics is an array of metric directives"
    assert directives, "CloudWatchMetrics holds a directive"
    for directive in directives:
        assert isinstance(directive, dict), "a metric directive is an object"
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}, "a directive's members"
        _check_directive(document, directive)
    return document


def _check_directive(document: dict[str, Any], directive: dict[str, Any]) -> None:
    namespace = directive["Namespace"]
    assert isinstance(namespace, str), "Namespace is a string"
    assert 1 <= len(namespace) <= 255, "Namespace has 1 to 255 characters"
    assert not namespace.startswith("AWS/"), "AWS/ namespaces are AWS's"
    assert isinstance(directive["Dimensions"], list), "Dimensions is an array of dimension sets"
    for dimension_set in directive["Dimensions"]:
        assert isinstance(dimension_set, list), "a dimension set is an array"
        assert len(dimension_set) <= 30, "a dimension set has 30 keys at most"
        for key in dimension_set:
            value = document.get(key)
            assert isinstance(value, str), f"dimension {key} names a string member of the root"
            assert 1 <= len(value) <= 1024, f"dimension {key}: 1 to 1,024 characters"
    metrics = directive["Metrics"]
    assert isinstance(metrics, list), "Metrics is an array"
    assert 1 <= len(metrics) <= 100, "1 to 100 metric definitions"
    for metric in metrics:
        assert isinstance(metric, dict), "a metric definition is an object"
        assert set(metric) <= {"Name", "Unit", "StorageResolution"}, "a metric definition's members"
        value = document.get(metric["Name"])
        values = value if isinstance(value, list) else [value]
        assert 1 <= len(values) <= 100, f"metric {metric['Name']}: 1 to 100 values"
        assert all(_number(number) for number in values), f"metric {metric['Name']} names a number member"
        assert metric.get("Unit", "None") in UNITS, f"metric {metric['Name']}: a CloudWatch unit"
        assert metric.get("StorageResolution", 60) in (1, 60), "StorageResolution is 1 or 60"


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def test_the_checker_refuses_what_breaks_the_format() -> None:
    good = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {"Namespace": "n", "Dimensions": [["D"]], "Metrics": [{"Name": "M", "Unit": "Count"}]}
            ],
        },
        "D": "x",
        "M": 1,
    }
    check_emf(json.dumps(good))
    for broken in (
        {**good, "D": 3},  # a dimension's value must be a string
        {**good, "M": "1"},  # a metric's value must be a number
        {**good, "M": True},
        {"D": "x", "M": 1},  # no _aws
        {**good, "_aws": {**good["_aws"], "Timestamp": "now"}},  # type: ignore[dict-item]
    ):
        with pytest.raises(AssertionError):
            check_emf(json.dumps(broken))


def test_the_observer_hears_every_request_the_lambda_handler_answers() -> None:
    heard: list[Heard] = []
    handler = lambda_handler(
        FUNCTIONS, tokens=TOKENS, max_body_bytes=MAX_BODY, max_invocations=MAX_INVOCATIONS, observe=_record(heard)
    )
    for case in CASES:
        heard.clear()
        status, _, body = unpack(handler(case_event("function_url", case), None))
        if case.method == "GET":  # the health check is no function request
            assert heard == [], case.name
            continue
        [(function_type, told, seconds, request_bytes, response_bytes)] = heard
        assert (told, response_bytes) == (status, len(body)), case.name
        if status in (401, 405) or case.name == "too large":  # answered before the body was read
            assert (function_type, seconds) == ("", 0.0), case.name
            assert abs(request_bytes - len(case.body)) <= 2, case.name  # its size told by the base64 text's length
            continue
        assert request_bytes == len(case.body), case.name
        assert seconds > 0, case.name
        if case.body in TYPES:
            assert function_type == TYPES[case.body], case.name


def test_an_observer_that_raises_changes_no_answer(caplog: pytest.LogCaptureFixture) -> None:
    def broken(function_type: str, status: int, seconds: float, request_bytes: int, response_bytes: int) -> None:
        raise RuntimeError("observer bug")

    edge = Edge.create(FUNCTIONS, "test", tokens=(), observe=broken)
    with caplog.at_level(logging.ERROR, logger="statefun_faas.adapters.edge"):
        response = edge.handle("POST", "/statefun", "", COUNTER_OK)
    assert response.status == 200
    assert "the request observer failed" in caplog.text
    assert "observer bug" in caplog.text


def test_lambda_request_lines_in_the_embedded_metric_format(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STATEFUN_FAAS_REQUEST_LOG", "stdout")
    monkeypatch.setenv("STATEFUN_FAAS_REQUEST_LOG_FORMAT", "emf")
    monkeypatch.delenv("STATEFUN_FAAS_EMF_NAMESPACE", raising=False)
    handler = lambda_handler(FUNCTIONS, tokens=TOKENS)
    capfd.readouterr()
    for body in (COUNTER_OK, USER_ERROR, UNKNOWN):
        handler(event_for("function_url", "POST", "/statefun", f"token={GOOD}", body), None)
    lines = [check_emf(line) for line in capfd.readouterr().out.splitlines()]
    assert [line["_aws"]["CloudWatchMetrics"][0]["Namespace"] for line in lines] == [EMF_NAMESPACE] * 3
    assert [line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] for line in lines] == [[["FunctionType"]]] * 3
    assert [line["FunctionType"] for line in lines] == [
        "conformance/counter",
        "conformance/fails",
        "conformance/nobody",
    ]
    assert [(line["status"], line["ClientErrors"], line["ServerErrors"]) for line in lines] == [
        (200, 0, 0),
        (500, 0, 1),
        (404, 1, 0),
    ]
    ok = lines[0]
    assert (ok["BatchSize"], ok["RequestBytes"]) == (1, len(COUNTER_OK))
    answered = base64.b64decode(
        handler(event_for("function_url", "POST", "/", f"token={GOOD}", COUNTER_OK), None)["body"]
    )
    assert ok["ResponseBytes"] == len(answered)
    assert ok["Duration"] == ok["duration_ms"] > 0  # the JSON line's fields stay, for log queries
    assert (ok["platform"], ok["typename"], ok["id"]) == ("aws", "conformance/counter", "a")


def test_the_namespace_is_configurable_and_a_wrong_setting_is_a_clear_error() -> None:
    assert emf_namespace(None, None) is None
    assert emf_namespace("json", "ignored") is None
    assert emf_namespace("EMF", None) == EMF_NAMESPACE
    assert emf_namespace("emf", "shop/orders") == "shop/orders"
    with pytest.raises(ValueError, match="STATEFUN_FAAS_REQUEST_LOG_FORMAT='xml': use json, or emf"):
        emf_namespace("xml", None)
    with pytest.raises(ValueError, match="STATEFUN_FAAS_EMF_NAMESPACE='AWS/Lambda': give a CloudWatch namespace"):
        emf_namespace("emf", "AWS/Lambda")


def _record(heard: list[Heard]) -> Any:
    def observe(function_type: str, status: int, seconds: float, request_bytes: int, response_bytes: int) -> None:
        heard.append((function_type, status, seconds, request_bytes, response_bytes))

    return observe


def test_a_function_raising_the_same_again_is_logged_with_its_traceback_once_a_minute(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch with a poison message is tried again and again (and by halves) by the runtime: its function's log
    holds the traceback once, then a line per failure."""
    edge = Edge.create(FUNCTIONS, "test", tokens=())
    with caplog.at_level(logging.ERROR, logger="statefun_faas.adapters.edge"):
        for _ in range(3):
            assert edge.handle("POST", "/statefun", "", USER_ERROR).status == 500
        tracebacks = [record.exc_info is not None for record in caplog.records]
        monkeypatch.setattr(edge_module, "TRACEBACK_EVERY_S", 0.0)  # a minute later
        assert edge.handle("POST", "/statefun", "", USER_ERROR).status == 500
    assert tracebacks == [True, False, False]
    assert caplog.records[-1].exc_info is not None
    first, again = caplog.records[0].getMessage(), caplog.records[1].getMessage()
    assert again == f"{first} (the same as before: its traceback was logged in the last 60 s)"
    assert caplog.text.count("Traceback (most recent call last):") == 2
