"""What Apache Flink StateFun 3.3.0 does with a function's error statuses, a slow function and a dead one, with
the default async transport of a v2 endpoint and with the okhttp transport, under the shipped
flink-conf.yaml (fixed-delay restarts 5 s apart, checkpoints every second here).

One harness job runs the scenario of ``status_scenario.py`` once; each test asserts one observed fact, so a
StateFun that behaves otherwise fails here. docs/troubleshooting.md ("What the runtimes do with a failed
call") says the same in prose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.engine.kafka import KafkaBroker
from tests.engine.status_scenario import ASYNC_RETRIED, CALL_TIMEOUT, OKHTTP_FINAL, OKHTTP_RETRIED, Observed, observe

pytestmark = pytest.mark.engine

RESTART_DELAY = 5.0  # restart-strategy.fixed-delay.delay of the shipped flink-conf.yaml
SLACK = 0.1  # Flink's failure timestamps and our call times come from two clocks' readings
NETTY_TIMEOUT = "Caused by: org.apache.flink.statefun.flink.core.nettyclient.exceptions.RequestTimeoutException"
OKHTTP_ELAPSED = "Caused by: java.lang.IllegalStateException: Maximal request time has elapsed. Last cause is attached"


@pytest.fixture(scope="module")
def observed(kafka_broker: KafkaBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    with observe(kafka_broker, tmp_path_factory.mktemp("statuses")) as seen:
        yield seen


def sleeps(log: str, address: str) -> list[int]:
    """The backoffs (ms) the async transport logged for an address, in order (``Retry #n ... About to sleep``)."""
    pattern = rf"Retry #\d+ ToFunctionRequestSummary\(address=Address\({re.escape(address)}\).*About to sleep for (\d+)"
    return [int(ms) for ms in re.findall(pattern, log)]


def attempts(log: str, address: str) -> list[int]:
    """The failed attempts the async transport logged for an address (``Exception caught ... (attempt #n)``)."""
    pattern = rf"\(attempt #(\d+)\)ToFunctionRequestSummary\(address=Address\({re.escape(address)}\)"
    return [int(number) for number in re.findall(pattern, log)]


def after_the_failure(observed: Observed, phase: str, path: str, ident: str) -> tuple[float, list[int]]:
    """Seconds from the phase's one failure to the address's next call, and the statuses of the calls after it."""
    (failure,) = observed.phase_failures[phase]
    later = [call for call in observed.calls[(path, ident)] if call.at > failure["timestamp"]]
    return later[0].at - failure["timestamp"], [call.status for call in later]


def test_the_async_transport_retries_every_status_with_a_doubling_backoff(observed: Observed) -> None:
    for status in ASYNC_RETRIED:
        assert observed.statuses("v2/thrice", str(status)) == [status, status, status, 200]
        assert sleeps(observed.log, f"v2, thrice, {status}") == [4, 8, 16]
        assert attempts(observed.log, f"v2, thrice, {status}") == [0, 1, 2]
        assert f"WrongHttpResponse: Unexpected response code {status} (" in observed.log
    assert observed.phase_failures["retried"] == []


def test_statefun_logs_the_status_but_never_the_body_of_an_answer(observed: Observed) -> None:
    assert "WrongHttpResponse: Unexpected response code 401 (Unauthorized)" in observed.log
    assert "Non successful HTTP response code 400" in observed.log
    assert "scripted" not in observed.log  # every error body the server sent reads "scripted <status>"


def test_okhttp_retries_5xx_and_408_409_420_429_499_without_a_log_line(observed: Observed) -> None:
    for status in OKHTTP_RETRIED:
        assert observed.statuses("ok/thrice", str(status)) == [status, status, status, 200]
    assert "Address(ok, thrice" not in observed.log
    assert observed.phase_failures["retried"] == []


def test_okhttp_fails_the_job_at_once_on_other_4xx_and_the_restarted_job_calls_again(observed: Observed) -> None:
    """The four were sent together: one failure or several, as the calls raced; each 4xx was the address's
    only call until the job restarted."""
    causes = observed.causes("okhttp-final")
    assert causes
    for cause in causes:
        assert "Failure forwarding a message to a remote function Address(ok, once, " in cause
        assert re.search(r"Non successful HTTP response code (400|401|404|413)$", cause), cause
    for status in OKHTTP_FINAL:
        first, following, *_ = observed.calls[("ok/once", str(status))]
        assert (first.status, following.status) == (status, 200)
        failure = min(f["timestamp"] for f in observed.phase_failures["okhttp-final"] if f["timestamp"] >= first.at)
        assert following.at - failure >= RESTART_DELAY - SLACK


def test_the_async_transport_retries_a_lasting_error_until_the_call_timeout_then_fails_the_job(
    observed: Observed,
) -> None:
    statuses = observed.statuses("v2/always", "404")
    assert set(statuses[:-1]) == {404}
    assert len(statuses) >= 6
    assert sleeps(observed.log, "v2, always, 404")[:6] == [4, 8, 16, 32, 64, 128]
    (cause,) = observed.causes("lasting-404")
    assert cause.endswith(NETTY_TIMEOUT)
    first_call = observed.calls[("v2/always", "404")][0].at
    assert observed.phase_failures["lasting-404"][0]["timestamp"] - first_call >= CALL_TIMEOUT - SLACK
    delay, after = after_the_failure(observed, "lasting-404", "v2/always", "404")
    assert delay >= RESTART_DELAY - SLACK
    assert after == [200]  # healed meanwhile: the restarted job sent the message again


@pytest.mark.parametrize(
    ("phase", "path", "cause"),
    [
        ("slow-async", "v2/slow", NETTY_TIMEOUT),
        ("slow-okhttp", "ok/slow", f"{OKHTTP_ELAPSED} / Caused by: java.io.InterruptedIOException: timeout"),
    ],
)
def test_a_slow_function_fails_the_job_after_the_call_timeout_without_a_retry(
    observed: Observed, phase: str, path: str, cause: str
) -> None:
    (found,) = observed.causes(phase)
    assert cause in found
    first = observed.calls[(path, "s")][0]
    assert first.status == 0  # the slow answer, logged when the call arrived
    assert observed.phase_failures[phase][0]["timestamp"] - first.at >= CALL_TIMEOUT - SLACK
    delay, after = after_the_failure(observed, phase, path, "s")
    assert delay >= RESTART_DELAY - SLACK
    assert after == [200]  # the slow call was the only one before the failure


@pytest.mark.parametrize(
    ("phase", "path", "cause", "attempt"),
    [
        ("dead-async", "dead/gone", NETTY_TIMEOUT, "Exception caught while trying to deliver a message: (attempt #"),
        (
            "dead-okhttp",
            "okdead/gone",
            OKHTTP_ELAPSED,
            "Retriable exception caught while trying to deliver a message: ",
        ),
    ],
)
def test_a_dead_function_is_retried_until_the_call_timeout_then_the_job_fails(
    observed: Observed, phase: str, path: str, cause: str, attempt: str
) -> None:
    (found,) = observed.causes(phase)
    assert cause in found
    assert "Connection refused" in observed.log
    address = f"Address({path.replace('/', ', ')}, d)"
    assert len([line for line in observed.log.splitlines() if attempt in line and address in line]) >= 4
    delay, after = after_the_failure(observed, phase, path, "d")
    assert delay >= RESTART_DELAY - SLACK
    assert after == [200]  # revived meanwhile: the restarted job sent the message again


def test_okhttp_fails_the_job_before_the_first_call_when_a_timeout_exceeds_the_call_timeout(
    observed: Observed,
) -> None:
    """``badok/*`` sets only ``call: 2s``; its connect, read and write timeouts stay at 10 s."""
    (cause,) = observed.causes("okhttp-timeouts")
    assert "Unable to parse transport client properties when creating client" in cause
    assert "Connect timeout cannot be larger than request timeout." in cause
    assert ("badok/x", "x") not in observed.calls


def test_every_message_reaches_the_egress_once_despite_the_retries_and_restarts(observed: Observed) -> None:
    values = [record.value.decode() for record in observed.egress]
    assert len(values) == len(set(values)) == len(ASYNC_RETRIED) + len(OKHTTP_RETRIED) + len(OKHTTP_FINAL) + 5
    listed = [failure for found in observed.phase_failures.values() for failure in found]
    looping = observed.phase_failures["okhttp-timeouts"][0]["timestamp"]  # the last phase fails at every restart
    assert [f for f in observed.failures if f not in listed and f["timestamp"] < looping] == []
