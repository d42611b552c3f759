"""The Lambda adapter's URL tokens read from a Secrets Manager secret or an SSM parameter at cold start.

AWS can not run offline, so these tests talk to moto's server, a mock of the AWS APIs on
loopback (the one mock these tests use): the adapter sends it the same signed requests it
sends AWS (its signature is held to botocore's, and checked by moto's own verifier with
authentication on). What is shown is our side: the reference read once when the handler is
made, 200 and 401 by the tokens it holds, both tokens while rotating, and an unreadable or
unusable reference answered 503 with the reason in the log, in-process and through the real
awslambdaric loop. The templates' side is in tests/deploy/test_templates.py.
"""

from __future__ import annotations

import json
import logging
import socket
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.server import ThreadedMotoServer

from statefun_faas.adapters import _aws_secrets, aws_lambda
from statefun_faas.adapters._aws_secrets import (
    PARAMETER_ENV,
    PARAMETER_STORE,
    SECRET_ENV,
    SECRETS_MANAGER,
    Store,
    TokenReadError,
    TokenReference,
    read_tokens,
    signed_headers,
)
from statefun_faas.adapters.aws_lambda import LambdaHandler, lambda_handler
from tests.adapters.conformance import CASES, COUNTER_OK, FUNCTIONS, MAX_BODY, MAX_INVOCATIONS, TOKENS, check
from tests.adapters.lambda_events import SHAPES, case_event, event_for, unpack
from tests.adapters.lambda_runtime_emulator import lambda_runtime

REGION = "eu-west-1"
pytestmark = pytest.mark.slow  # moto and its server take seconds to import and start

RUNTIME_APP = """
from statefun_faas.adapters.aws_lambda import lambda_handler
from tests.adapters.conformance import FUNCTIONS, MAX_BODY, MAX_INVOCATIONS

handler = lambda_handler(FUNCTIONS, max_body_bytes=MAX_BODY, max_invocations=MAX_INVOCATIONS)
"""


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The variables Lambda sets (credentials, region), the endpoint pointed at moto; no tokens yet."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "STATEFUN_FAAS_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    for name in (SECRET_ENV, PARAMETER_ENV, "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SSM"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_endpoint,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _client(service: str, endpoint: str, region: str = REGION) -> Any:
    """A boto3 client of moto's server, to set the stage (the adapter does not use boto3)."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def _secret(endpoint: str, value: str, region: str = REGION) -> str:
    """A new secret holding ``value``: its ARN."""
    name = f"statefun/tokens-{uuid.uuid4().hex[:8]}"
    arn: str = _client("secretsmanager", endpoint, region).create_secret(Name=name, SecretString=value)["ARN"]
    return arn


def _handler() -> LambdaHandler:
    return lambda_handler(FUNCTIONS, max_body_bytes=MAX_BODY, max_invocations=MAX_INVOCATIONS)


def _status(handler: LambdaHandler, token: str | None, method: str = "POST", path: str = "/statefun") -> int:
    query = "" if token is None else f"token={token}"
    return unpack(handler(event_for("function_url", method, path, query, COUNTER_OK), None))[0]


def test_tokens_from_a_secret_are_read_when_the_handler_is_made(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, _secret(aws_env["AWS_ENDPOINT_URL"], "only-token-0123456789"))
    handler = _handler()
    assert _status(handler, "only-token-0123456789") == 200
    assert _status(handler, "other-token") == 401
    assert _status(handler, None) == 401


@pytest.mark.parametrize("shape", SHAPES)
def test_two_tokens_while_rotating_answer_the_conformance_set(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    monkeypatch.setenv(SECRET_ENV, _secret(aws_env["AWS_ENDPOINT_URL"], ",".join(TOKENS)))
    handler = _handler()
    for case in CASES:  # the set takes both TOKENS: the current one in the query, the next one in the path
        check(case, *unpack(handler(case_event(shape, case), None)))


def test_tokens_from_a_secure_string_parameter(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"/statefun/tokens-{uuid.uuid4().hex[:8]}"
    ssm = _client("ssm", aws_env["AWS_ENDPOINT_URL"])
    ssm.put_parameter(Name=name, Value="old-token-0123 , new-token-4567", Type="SecureString")
    monkeypatch.setenv(PARAMETER_ENV, name)
    handler = _handler()
    assert (_status(handler, "old-token-0123"), _status(handler, "new-token-4567")) == (200, 200)
    assert _status(handler, "old-token-0123 , new-token-4567") == 401


def test_read_once_per_cold_start_so_a_change_reaches_new_environments_only(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = _secret(aws_env["AWS_ENDPOINT_URL"], "old-token-0123")
    monkeypatch.setenv(SECRET_ENV, arn)
    warm = _handler()
    _client("secretsmanager", aws_env["AWS_ENDPOINT_URL"]).put_secret_value(SecretId=arn, SecretString="new-token-4567")
    assert (_status(warm, "old-token-0123"), _status(warm, "new-token-4567")) == (200, 401)
    cold = _handler()  # a new execution environment
    assert (_status(cold, "old-token-0123"), _status(cold, "new-token-4567")) == (401, 200)


def test_a_secret_in_another_region_is_asked_there(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, _secret(aws_env["AWS_ENDPOINT_URL"], "far-token-0123", region="us-east-1"))
    assert _status(_handler(), "far-token-0123") == 200


def test_an_unreadable_secret_is_logged_and_every_request_answered_503(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"statefun/missing-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(SECRET_ENV, name)
    with caplog.at_level(logging.ERROR, logger="statefun_faas.adapters.aws_lambda"):
        handler = _handler()  # no exception: the environment keeps running
    (record,) = caplog.records
    assert f"Secrets Manager secret {name!r} ({SECRET_ENV})" in record.getMessage()
    assert "ResourceNotFoundException" in record.getMessage()
    assert "the function's role needs secretsmanager:GetSecretValue on the secret" in record.getMessage()
    for shape in SHAPES:
        for case in CASES:  # every request, the health check and the right token included
            status, content_type, body = unpack(handler(case_event(shape, case), None))
            assert (status, content_type, body) == (503, "text/plain; charset=utf-8", aws_lambda.UNAVAILABLE.encode())
    assert len(caplog.records) == 1  # not read again within RETRY_SECONDS


def test_a_secret_readable_later_is_read_on_a_later_request(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"statefun/late-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(SECRET_ENV, name)
    monkeypatch.setattr(aws_lambda, "RETRY_SECONDS", 0.0)
    handler = _handler()
    assert _status(handler, "late-token-0123") == 503
    _client("secretsmanager", aws_env["AWS_ENDPOINT_URL"]).create_secret(Name=name, SecretString="late-token-0123")
    assert (_status(handler, "late-token-0123"), _status(handler, "other")) == (200, 401)


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        (" ", "is empty"),
        (" , ", "is empty"),
        ('{"token": "abc"}', "holds JSON"),
        ("a,b,c", "holds 3 tokens; give one, or two while rotating"),
    ],
)
def test_an_unusable_value_never_opens_the_function(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, value: str, phrase: str
) -> None:
    name = f"/statefun/bad-{uuid.uuid4().hex[:8]}"
    _client("ssm", aws_env["AWS_ENDPOINT_URL"]).put_parameter(Name=name, Value=value, Type="SecureString")
    monkeypatch.setenv(PARAMETER_ENV, name)
    with caplog.at_level(logging.ERROR, logger="statefun_faas.adapters.aws_lambda"):
        handler = _handler()
    assert phrase in caplog.text
    assert f"SSM parameter {name!r}" in caplog.text
    assert (_status(handler, None), _status(handler, "a")) == (503, 503)


def test_a_binary_secret_is_refused(aws_env: dict[str, str]) -> None:
    arn = _client("secretsmanager", aws_env["AWS_ENDPOINT_URL"]).create_secret(
        Name=f"statefun/binary-{uuid.uuid4().hex[:8]}", SecretBinary=b"token"
    )["ARN"]
    with pytest.raises(TokenReadError, match="has no SecretString"):
        read_tokens(TokenReference(SECRETS_MANAGER, arn))


def test_access_denied_names_the_permission_the_role_needs(aws_env: dict[str, str]) -> None:
    """With moto's authentication on, requests are checked like AWS does: signature, then IAM policy."""
    endpoint = aws_env["AWS_ENDPOINT_URL"]
    arn = _secret(endpoint, "token-0123")
    iam = _client("iam", endpoint)
    users = {}
    for user, policy in (("allowed", "secretsmanager:GetSecretValue"), ("denied", "secretsmanager:ListSecrets")):
        iam.create_user(UserName=user)
        document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": policy, "Resource": "*"}]}
        iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps(document))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        users[user] = {
            **aws_env,
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        }
    reference = TokenReference(SECRETS_MANAGER, arn)
    with _moto_authentication(endpoint):
        assert read_tokens(reference, users["allowed"]) == ("token-0123",)
        with pytest.raises(TokenReadError) as denied:
            read_tokens(reference, users["denied"])
        with pytest.raises(TokenReadError) as forged:
            read_tokens(reference, {**users["allowed"], "AWS_SECRET_ACCESS_KEY": "not-the-key"})
    assert "is not authorized to perform: secretsmanager:GetSecretValue" in str(denied.value)
    assert str(denied.value).endswith(f"the function's role needs {SECRETS_MANAGER.permission}")
    assert "SignatureDoesNotMatch" in str(forged.value)


@contextmanager
def _moto_authentication(endpoint: str) -> Iterator[None]:
    """moto's IAM authentication on, through its own API (/moto-api/reset-auth), then as it was."""

    def reset(count: str) -> str:
        request = urllib.request.Request(
            f"{endpoint}/moto-api/reset-auth", data=count.encode(), headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            previous: str = json.load(answer)["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]
        return previous

    previous = reset("0")
    try:
        yield
    finally:
        reset(previous)


def test_an_unreachable_endpoint_says_so(aws_env: dict[str, str]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    environ = {**aws_env, "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{port}"}
    with pytest.raises(TokenReadError, match=rf"http://127.0.0.1:{port} is unreachable .*interface VPC endpoint"):
        read_tokens(TokenReference(SECRETS_MANAGER, "statefun/tokens"), environ)


@pytest.mark.parametrize("endpoint", ["ftp://127.0.0.1/", "http://127.0.0.1:port/", "http:///"])
def test_an_endpoint_that_is_no_http_url_says_so(aws_env: dict[str, str], endpoint: str) -> None:
    with pytest.raises(TokenReadError, match="is not an http\\(s\\) URL"):
        read_tokens(TokenReference(SECRETS_MANAGER, "statefun/tokens"), {**aws_env, "AWS_ENDPOINT_URL": endpoint})


@pytest.mark.parametrize(
    ("missing", "phrase"),
    [("AWS_SECRET_ACCESS_KEY", "no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), ("AWS_REGION", "no AWS_REGION")],
)
def test_missing_credentials_or_region_are_named(aws_env: dict[str, str], missing: str, phrase: str) -> None:
    environ = {name: value for name, value in aws_env.items() if name != missing}
    with pytest.raises(TokenReadError, match=phrase):
        read_tokens(TokenReference(PARAMETER_STORE, "/statefun/tokens"), environ)


def test_tokens_in_two_places_are_a_configuration_error(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "statefun/tokens")
    monkeypatch.setenv("STATEFUN_FAAS_TOKENS", "plain-token")
    with pytest.raises(ValueError, match=f"{SECRET_ENV} and STATEFUN_FAAS_TOKENS are both set"):
        _handler()


def test_tokens_given_in_code_win_and_nothing_is_read(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(SECRET_ENV, "statefun/never-created")
    handler = lambda_handler(FUNCTIONS, tokens=["code-token"])
    assert (_status(handler, "code-token"), _status(handler, "other")) == (200, 401)
    assert not caplog.records


@pytest.mark.parametrize(("store", "session_token"), [(SECRETS_MANAGER, "session"), (PARAMETER_STORE, None)])
def test_the_signature_is_botocores(store: Store, session_token: str | None) -> None:
    body = json.dumps(store.request("arn:aws:secretsmanager:eu-west-1:123456789012:secret:x")).encode()
    host = f"{store.service}.{REGION}.amazonaws.com"
    request = AWSRequest(
        "POST",
        f"https://{host}/",
        data=body,
        headers={"Content-Type": _aws_secrets.JSON_1_1, "X-Amz-Target": store.target},
    )
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret/key+example", session_token), store.service, REGION).add_auth(request)
    ours = signed_headers(
        host,
        "/",
        REGION,
        store,
        body,
        "AKIDEXAMPLE",
        "secret/key+example",
        session_token,
        request.headers["X-Amz-Date"],
    )
    assert ours["authorization"] == request.headers["Authorization"]
    assert ours.get("x-amz-security-token") == session_token


def test_through_the_runtime_loop(aws_env: dict[str, str]) -> None:
    """awslambdaric's own loop: the rotation tokens from moto answer the conformance set; a missing
    secret is one error line in the function's log and 503 answers, and the process keeps serving."""
    good = {**aws_env, SECRET_ENV: _secret(aws_env["AWS_ENDPOINT_URL"], ",".join(TOKENS))}
    with lambda_runtime(RUNTIME_APP, env=good) as runtime:
        for case in CASES:
            check(case, *unpack(runtime.invoke(case_event("function_url", case)).payload))
    missing = {**aws_env, SECRET_ENV: "statefun/missing"}
    with lambda_runtime(RUNTIME_APP, env=missing) as runtime:
        for case in CASES[:3]:
            assert unpack(runtime.invoke(case_event("alb", case)).payload)[0] == 503
        assert runtime.process.poll() is None
        log = runtime.log()
    assert log.count("ResourceNotFoundException") == 1
    assert f"Secrets Manager secret 'statefun/missing' ({SECRET_ENV})" in log
    assert "secretsmanager:GetSecretValue" in log
