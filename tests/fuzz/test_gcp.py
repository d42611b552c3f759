"""Google Cloud Functions: the functions-framework function called inside Flask request contexts."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import flask
from hypothesis import given
from hypothesis import strategies as st

from statefun_faas.adapters.gcp import http_function
from tests.adapters.conformance import MAX_BODY, TOKENS
from tests.fuzz.answers import PROBE, PROBE_ANSWER, PROBE_QUERY, check
from tests.fuzz.profiles import fuzz
from tests.fuzz.registry import FUNCTIONS
from tests.fuzz.requests import bodies, lengths, methods, paths, queries
from tests.fuzz.test_wsgi import Endless

FUNCTION = http_function(FUNCTIONS, tokens=TOKENS, max_body_bytes=MAX_BODY)
FLASK = flask.Flask(__name__)


def call(method: str, path: str, query: str, body: bytes | Any, environ: dict[str, Any]) -> tuple[int, str, bytes]:
    stream = body if not isinstance(body, bytes) else io.BytesIO(body)
    with FLASK.test_request_context(
        path, method=method, query_string=query, environ_overrides={**environ, "wsgi.input": stream}
    ):
        response = FUNCTION(flask.request)
    return response.status_code, response.headers["Content-Type"], response.get_data()


def probe() -> None:
    answer = call("POST", "/", PROBE_QUERY, PROBE, {"CONTENT_LENGTH": str(len(PROBE))})
    assert answer[2] == PROBE_ANSWER


# werkzeug builds the environ: only methods it can carry (a token of letters) reach the function.
flask_methods = methods.filter(lambda m: m.isascii() and m.isalpha())


@fuzz
@given(flask_methods, paths, queries, lengths, bodies, st.booleans(), st.booleans())
def test_any_request_gets_a_table_answer(
    method: str, path: str, query: str, length: str | None, body: bytes, terminated: bool, endless: bool
) -> None:
    environ: dict[str, Any] = {"wsgi.input_terminated": terminated}
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    url_path = quote("/" + path.lstrip("/"), safe="/")  # as a client sends it: '?' and '#' percent-encoded
    check(*call(method, url_path, query, Endless() if endless else body, environ))
    probe()
