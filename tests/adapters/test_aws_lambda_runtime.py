"""The Lambda adapter inside the real runtime loop: ``python -m awslambdaric app.handler``.

awslambdaric (in [dev], on Linux: it has no other wheels) is AWS's own runtime client; it polls the Runtime
API that tests/adapters/lambda_runtime_emulator.py serves on loopback. Every conformance case goes
through it in each event shape, one runtime process per shape, and the same process must
answer a good request after every error case.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from importlib.util import find_spec

import pytest

from tests.adapters.conformance import CASES, TOKENS, check
from tests.adapters.lambda_events import SHAPES, case_event, unpack
from tests.adapters.lambda_runtime_emulator import REPOSITORY, Runtime, lambda_runtime

THIN_APP = """
from statefun_faas.adapters.aws_lambda import lambda_handler
from tests.adapters.conformance import FUNCTIONS, MAX_BODY, MAX_INVOCATIONS, TOKENS

handler = lambda_handler(FUNCTIONS, tokens=TOKENS, max_body_bytes=MAX_BODY, max_invocations=MAX_INVOCATIONS)
"""

SUCCESS = next(case for case in CASES if case.name == "success")

pytestmark = pytest.mark.skipif(
    find_spec("awslambdaric") is None, reason="awslambdaric is not installed ([dev] installs it on Linux only)"
)


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with lambda_runtime(THIN_APP) as running:
        yield running


@pytest.mark.parametrize("shape", SHAPES)
def test_conformance_set_through_the_runtime_loop(runtime: Runtime, shape: str) -> None:
    for case in CASES:
        result = runtime.invoke(case_event(shape, case))
        assert result.kind == "response", f"{shape} / {case.name}: {result.payload}"
        check(case, *unpack(result.payload))
        after = runtime.invoke(case_event(shape, SUCCESS))  # still serving after each row
        check(SUCCESS, *unpack(after.payload))
    assert runtime.process.poll() is None


def test_shape_specific_error_rows_through_the_runtime_loop(runtime: Runtime) -> None:
    bad_base64 = case_event("alb_multi_value", SUCCESS)
    bad_base64["body"] = "not base64!"
    text_body = case_event("rest_v1", SUCCESS)
    text_body["body"], text_body["isBase64Encoded"] = SUCCESS.body.decode("utf-8", "replace"), False
    for event, status, phrase in ((bad_base64, 400, b"base64"), (text_body, 415, b"binaryMediaTypes")):
        answer = unpack(runtime.invoke(event).payload)
        assert answer[0] == status
        assert phrase in answer[2]
        check(SUCCESS, *unpack(runtime.invoke(case_event("rest_v1", SUCCESS)).payload))


def test_unknown_event_is_an_invocation_error_and_the_runtime_goes_on(runtime: Runtime) -> None:
    result = runtime.invoke({"Records": [{"eventSource": "aws:sqs"}]})
    assert result.kind == "error"
    assert result.payload["errorType"] == "UnsupportedEventError"
    assert "not an HTTP request" in result.payload["errorMessage"]
    check(SUCCESS, *unpack(runtime.invoke(case_event("function_url", SUCCESS)).payload))


def test_the_runtime_started_without_an_init_error(runtime: Runtime) -> None:
    runtime.invoke(case_event("alb", SUCCESS))
    assert runtime.api.init_errors == []


def test_request_log_line_with_lambda_application_log_level_info() -> None:
    with lambda_runtime(THIN_APP, env={"AWS_LAMBDA_LOG_LEVEL": "INFO"}) as runtime:
        check(SUCCESS, *unpack(runtime.invoke(case_event("function_url", SUCCESS)).payload))
        runtime.process.kill()
        runtime.process.wait()
        log = runtime.log()
    line = next(line for line in log.splitlines() if '"platform": "aws"' in line)
    assert '"typename": "conformance/counter"' in line
    assert '"status": 200' in line
    assert '"cold_start": true' in line
    assert TOKENS[0] not in log


MANGUM_APP = """
from mangum import Mangum
from statefun_faas.adapters.asgi import asgi_app
from tests.adapters.conformance import FUNCTIONS, MAX_BODY, MAX_INVOCATIONS, TOKENS

app = asgi_app(FUNCTIONS, tokens=TOKENS, max_body_bytes=MAX_BODY, max_invocations=MAX_INVOCATIONS)
handler = Mangum(app, lifespan="off")
"""


def test_mangum_path_through_the_runtime_loop() -> None:
    with lambda_runtime(MANGUM_APP) as runtime:
        for case in CASES:
            result = runtime.invoke(case_event("function_url", case))
            assert result.kind == "response", f"{case.name}: {result.payload}"
            check(case, *unpack(result.payload))


@pytest.mark.slow
def test_cold_start_benchmark_runs_end_to_end() -> None:
    """A one-run pass of benchmarks/cold_start.py, so the script keeps working (numbers not checked)."""
    script = REPOSITORY / "benchmarks" / "cold_start.py"
    options = ["--runs", "1", "--e2e-runs", "1", "--warm-runs", "1", "--warm-seconds", "0.05"]
    run = subprocess.run([sys.executable, str(script), *options], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    for heading in ("adapters.aws_lambda", "thin adapter (aws_lambda)", "request log line off"):
        assert heading in run.stdout
