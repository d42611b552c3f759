"""The URL tokens from an AWS secret store, for a Lambda function whose environment names the store.

The templates in deploy/aws keep the tokens out of the function's configuration: the
environment holds where they are, and the function's role may read exactly that:

* ``STATEFUN_FAAS_TOKENS_SECRET``: a Secrets Manager secret's ARN (or name); its SecretString
  holds the tokens as ``STATEFUN_FAAS_TOKENS`` would (one, or two comma-separated while
  rotating). The role needs ``secretsmanager:GetSecretValue`` on the secret.
* ``STATEFUN_FAAS_TOKENS_PARAMETER``: an SSM Parameter Store parameter's name (or ARN), read
  decrypted (a SecureString). The role needs ``ssm:GetParameter`` on it and ``kms:Decrypt`` on
  the key that encrypts it.

The read is one HTTPS POST, signed here with Signature Version 4 from the standard library.
boto3 costs a cold start far more to import and set up than the call itself takes, and the AWS
Parameters and Secrets Lambda Extension is a layer whose own start is added to every cold
start while its cache only pays off for repeated reads: benchmarks/secret_read.py measures the
three side by side. Credentials, region and endpoint come from the variables Lambda sets and
the AWS SDKs read: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
``AWS_REGION`` (the region of an ARN wins), and ``AWS_ENDPOINT_URL_SECRETS_MANAGER``,
``AWS_ENDPOINT_URL_SSM`` or ``AWS_ENDPOINT_URL`` for another endpoint (FIPS, a VPC endpoint's
own name, a test server).

Only what the module's top imports is paid by every Lambda cold start; the rest (hmac,
http.client, ssl, json) is imported by :func:`read_tokens`, when a reference is configured.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from statefun_faas.adapters.edge import TOKENS_ENV, parse_tokens
from statefun_faas.errors import clip

SECRET_ENV = "STATEFUN_FAAS_TOKENS_SECRET"
PARAMETER_ENV = "STATEFUN_FAAS_TOKENS_PARAMETER"
TIMEOUT_SECONDS = 3.0  # a regional API answers in milliseconds; Lambda's init phase has 10 s
JSON_1_1 = "application/x-amz-json-1.1"


class TokenReadError(Exception):
    """The tokens could not be read; the message names the reference and what to fix."""


class Store:
    """One AWS secret store, as far as reading one value over its JSON protocol goes."""

    __slots__ = ("label", "env", "service", "endpoint_env", "target", "request", "value_path", "permission")

    def __init__(
        self,
        label: str,
        env: str,
        service: str,
        endpoint_env: str,
        target: str,
        request: Callable[[str], dict[str, Any]],
        value_path: tuple[str, ...],
        permission: str,
    ) -> None:
        self.label = label  # what a person calls the thing the reference names
        self.env = env  # the environment variable holding the reference
        self.service = service  # the signing name and the endpoint's first label
        self.endpoint_env = endpoint_env  # the SDKs' service-specific endpoint variable
        self.target = target  # X-Amz-Target of the read
        self.request = request  # the read's JSON body, for the reference
        self.value_path = value_path  # where the answer holds the value
        self.permission = permission  # what the function's role needs to read


SECRETS_MANAGER = Store(
    "Secrets Manager secret",
    SECRET_ENV,
    "secretsmanager",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "secretsmanager.GetSecretValue",
    lambda name: {"SecretId": name},
    ("SecretString",),
    "secretsmanager:GetSecretValue on the secret, and kms:Decrypt on its key if that is a customer managed key",
)
PARAMETER_STORE = Store(
    "SSM parameter",
    PARAMETER_ENV,
    "ssm",
    "AWS_ENDPOINT_URL_SSM",
    "AmazonSSM.GetParameter",
    lambda name: {"Name": name, "WithDecryption": True},
    ("Parameter", "Value"),
    "ssm:GetParameter on the parameter and kms:Decrypt on the key of the SecureString",
)


class TokenReference:
    """Where the tokens are: a store and the secret's or parameter's ARN or name."""

    __slots__ = ("store", "name")

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name

    def __str__(self) -> str:
        return f"{self.store.label} {self.name!r} ({self.store.env})"

    def __repr__(self) -> str:
        return f"TokenReference({self.store.env}={self.name!r})"


def token_reference(environ: Mapping[str, str] = os.environ) -> TokenReference | None:
    """The reference the environment gives, None without one.

    More than one place for the tokens (a reference of each kind, or one next to
    ``STATEFUN_FAAS_TOKENS``) is a configuration mistake: a ValueError, like a malformed limit.
    """
    given = {name: environ.get(name, "").strip() for name in (SECRET_ENV, PARAMETER_ENV, TOKENS_ENV)}
    named = [name for name, value in given.items() if value]
    if len(named) > 1:
        raise ValueError(f"{' and '.join(named)} are both set: give the tokens in one place only")
    if given[SECRET_ENV]:
        return TokenReference(SECRETS_MANAGER, given[SECRET_ENV])
    if given[PARAMETER_ENV]:
        return TokenReference(PARAMETER_STORE, given[PARAMETER_ENV])
    return None


def read_tokens(reference: TokenReference, environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The tokens ``reference`` holds: one, or two while rotating.

    Anything else is a :class:`TokenReadError`: the store could not be reached or refused (the
    message names the permission the role needs), or the value is empty, JSON or more than two
    tokens. An empty value never means "no token": the function would run open.
    """
    value = _read(reference, environ).strip()
    if value.startswith(("{", "[")):
        raise TokenReadError(
            f"{reference} holds JSON; store the tokens as plain text: one token, or two comma-separated while rotating"
        )
    try:
        tokens = parse_tokens(value, str(reference))
    except ValueError as error:
        raise TokenReadError(str(error)) from None
    if not tokens:
        raise TokenReadError(f"{reference} is empty; store one token, or two comma-separated while rotating")
    return tokens


def _read(reference: TokenReference, environ: Mapping[str, str]) -> str:
    """The value, fetched with one signed request."""
    import json

    store = reference.store
    region, suffix = _region(reference, environ)
    endpoint = (
        environ.get(store.endpoint_env) or environ.get("AWS_ENDPOINT_URL") or _default_endpoint(store, region, suffix)
    )
    body = json.dumps(store.request(reference.name)).encode("utf-8")
    status, answer = _post(reference, endpoint, region, body, environ)
    try:
        data = json.loads(answer)
    except ValueError:
        data = None
    if status != 200:
        raise TokenReadError(
            f"can not read the URL tokens from {reference}: {_refusal(status, data, answer)}; "
            f"the function's role needs {store.permission}"
        )
    value: Any = data
    for key in store.value_path:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, str):
        raise TokenReadError(
            f"{reference} has no {'.'.join(store.value_path)} (a binary secret?); store the tokens as text"
        )
    return value


def _refusal(status: int, data: Any, answer: bytes) -> str:
    """What the store said when it refused: its error type and message (JSON), else the answer, cut short."""
    if isinstance(data, dict) and data.get("__type"):
        kind = str(data["__type"]).rsplit("#", 1)[-1]
        return f"{kind}: {str(data.get('message') or data.get('Message') or '').rstrip('.')}"
    return f"HTTP {status}: {clip(' '.join(answer.decode('utf-8', 'replace').split()), 300)}"


def _region(reference: TokenReference, environ: Mapping[str, str]) -> tuple[str, str]:
    """The region to ask, and its partition's domain: an ARN's own, else the function's region."""
    parts = reference.name.split(":")
    if reference.name.startswith("arn:") and len(parts) > 4 and parts[3]:
        region, partition = parts[3], parts[1]
    else:
        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or ""
        partition = "aws-cn" if region.startswith("cn-") else "aws"
        if not region:
            raise TokenReadError(f"can not read the URL tokens from {reference}: no AWS_REGION in the environment")
    return region, "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"


def _default_endpoint(store: Store, region: str, suffix: str) -> str:
    return f"https://{store.service}.{region}.{suffix}"


def _post(
    reference: TokenReference, endpoint: str, region: str, body: bytes, environ: Mapping[str, str]
) -> tuple[int, bytes]:
    """POST ``body`` to the store's endpoint, signed; the status and the answer's body."""
    import http.client
    from urllib.parse import urlsplit

    key_id, secret = environ.get("AWS_ACCESS_KEY_ID", ""), environ.get("AWS_SECRET_ACCESS_KEY", "")
    if not key_id or not secret:
        raise TokenReadError(
            f"can not read the URL tokens from {reference}: no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "in the environment (Lambda sets them from the function's role)"
        )
    url = urlsplit(endpoint)
    try:
        port = url.port
    except ValueError:  # not a number, or out of range
        port = -1
    if url.scheme not in ("https", "http") or not url.hostname or port == -1:
        raise TokenReadError(f"can not read the URL tokens from {reference}: {endpoint!r} is not an http(s) URL")
    path = url.path or "/"
    headers = signed_headers(
        url.netloc, path, region, reference.store, body, key_id, secret, environ.get("AWS_SESSION_TOKEN")
    )
    connection: http.client.HTTPConnection
    if url.scheme == "https":
        import ssl

        context = ssl.create_default_context()
        connection = http.client.HTTPSConnection(url.hostname, port, timeout=TIMEOUT_SECONDS, context=context)
    else:
        connection = http.client.HTTPConnection(url.hostname, port, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException) as error:
        raise TokenReadError(
            f"can not read the URL tokens from {reference}: {endpoint} is unreachable "
            f"({error or type(error).__name__}); a function in a VPC needs a NAT gateway "
            f"or an interface VPC endpoint for {reference.store.service}"
        ) from None
    finally:
        connection.close()


def signed_headers(
    host: str,
    path: str,
    region: str,
    store: Store,
    body: bytes,
    key_id: str,
    secret: str,
    session_token: str | None,
    amz_date: str | None = None,
) -> dict[str, str]:
    """The headers of the POST, Authorization included: AWS Signature Version 4.

    ``amz_date`` (``YYYYMMDDTHHMMSSZ``, now by default) lets the tests hold this to botocore's
    signer byte for byte.
    """
    import hmac
    import time
    from hashlib import sha256

    amz_date = amz_date or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    headers = {"content-type": JSON_1_1, "host": host, "x-amz-date": amz_date, "x-amz-target": store.target}
    if session_token:
        headers["x-amz-security-token"] = session_token
    names = sorted(headers)
    signed = ";".join(names)
    canonical = "\n".join(
        ["POST", path, "", *(f"{name}:{headers[name]}" for name in names), "", signed, sha256(body).hexdigest()]
    )
    scope = f"{amz_date[:8]}/{region}/{store.service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{sha256(canonical.encode('utf-8')).hexdigest()}"
    key = f"AWS4{secret}".encode()
    for part in (amz_date[:8], region, store.service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), sha256).digest()
    signature = hmac.new(key, to_sign.encode("utf-8"), sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
    return headers
