"""No secret in any log line, at any level, on any path: logging records (with tracebacks) and
the request lines written straight to stdout/stderr are all captured while requests are fuzzed."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from tests.adapters.conformance import CASES, TOKENS
from tests.fuzz.profiles import fuzz
from tests.fuzz.requests import bodies, methods
from tests.security.capture import all_logs
from tests.security.drivers import DRIVERS

AZURE_CODE = "azure-function-key-c2VjcmV0LWtleQ"
#: A token an attacker guessed: it may be someone's real secret, so it is not logged either.
GUESS = "guessed-token-5f4dcc3b5aa765d61d8327deb882cf99"
SECRETS = [*TOKENS, AZURE_CODE, GUESS]


placements = st.sampled_from(["query", "path", "both", "none"])
#: Bodies on every path of the table: success, user code raising (traceback logged), state type
#: mismatch (logged), unknown function, malformed, plus fuzzed ones.
error_bodies = st.one_of(st.sampled_from([case.body for case in CASES]), bodies)


def request_with(secret: str, placement: str, path: str) -> tuple[str, str]:
    query = urlencode({"token": secret, "code": AZURE_CODE}) if placement in ("query", "both") else ""
    prefix = f"/t/{secret}" if placement in ("path", "both") else ""
    return prefix + "/" + path, query


def test_no_secret_in_any_log_line() -> None:
    answers: list[bytes] = []

    @fuzz
    @given(
        st.sampled_from(list(DRIVERS)),
        st.one_of(st.just("POST"), methods),
        st.sampled_from(SECRETS),
        placements,
        st.text(st.sampled_from("abc/-_"), max_size=10),
        error_bodies,
    )
    def serve(driver: str, method: str, secret: str, placement: str, path: str, body: bytes) -> None:
        full_path, query = request_with(secret, placement, path)
        answers.append(DRIVERS[driver](method, full_path, query, body)[2])

    with all_logs() as logs:
        serve()
        for case in CASES:  # every row of the conformance set once more, through every adapter
            for driver in DRIVERS.values():
                answers.append(driver(case.method, case.path, f"{case.query}&code={AZURE_CODE}", case.body)[2])
        text = logs()
    assert "Traceback" in text, "the error paths (user code raising) were logged and captured"
    assert '"status": 200' in text, "the request lines were captured"
    for secret in SECRETS:
        assert secret not in text, f"a secret reached a log line: {secret[:8]}..."
        assert not any(secret.encode() in answer for answer in answers), "a secret was echoed in an answer"
