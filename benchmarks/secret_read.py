"""Cold-start cost of reading the URL tokens from an AWS secret store, three ways side by side.

Run: ``python benchmarks/secret_read.py [--runs N]``

Each measurement is a fresh ``python -P`` process that has imported what a Lambda environment
has by the time the handler module asks for the tokens (awslambdaric's modules and
``statefun_faas.adapters.aws_lambda``, from a package folder with hash-based ``.pyc`` as
``statefun-faas package aws`` ships it), then reads the value once; the clock covers the read
and every import it needs. CPU time of that process, and wall time; median of N, the
contenders interleaved.

1. ``statefun_faas.adapters._aws_secrets`` (what the adapter does): one SigV4-signed POST with
   the standard library, to moto's server on loopback (a mock of the AWS APIs: offline, the
   only server that answers Secrets Manager's and SSM's protocol).
2. boto3: ``import boto3``, a client, ``get_secret_value`` / ``get_parameter``, against the
   same moto server.
3. The AWS Parameters and Secrets Lambda Extension's API, client side only: an ``http.client``
   GET of ``/secretsmanager/get`` or ``/systemsmanager/parameters/get`` with the session-token
   header, answered at once by a stand-in on loopback. The extension itself can not run
   offline, so what it adds is not in this row: its own start in the init phase of every
   cold start (it is a layer), and its first fetch from the store, a request like row 1's.

All three talk plain HTTP on loopback; on Lambda rows 1 and 2 open a TLS connection to the
regional endpoint (one round trip more, and the CA certificates loaded: the last row times
``ssl.create_default_context()``), which the extension then opens in their place.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.append(str(Path(__file__).resolve().parent.parent))  # appended: the installed package stays first

from benchmarks._cold_probes import build_package, interleaved
from benchmarks.cold_start import RUNTIME_PRELOAD

REGION = "eu-west-1"
SECRET_NAME = "statefun/tokens"
PARAMETER_NAME = "/statefun/tokens"
TOKENS = "0123456789abcdef0123456789abcdef,fedcba9876543210fedcba9876543210"
SESSION_TOKEN = "session-token-of-the-function-role"
PRELOAD = RUNTIME_PRELOAD + "import statefun_faas.adapters.aws_lambda; "
PROBE = (
    "import os, sys, time\n{preload}\n"
    "cpu, wall = time.process_time(), time.perf_counter()\n{read}\n"
    "cpu, wall = time.process_time() - cpu, time.perf_counter() - wall\n"
    "assert value.startswith('0123'), value\n"
    "print(cpu * 1000, wall * 1000)\n"
)

OURS = (
    "from statefun_faas.adapters._aws_secrets import read_tokens, token_reference\n"
    "value = ','.join(read_tokens(token_reference()))"
)
BOTO3 = {
    "secret": "import boto3\n"
    "value = boto3.client('secretsmanager').get_secret_value(SecretId=os.environ['REF'])['SecretString']",
    "parameter": "import boto3\n"
    "value = boto3.client('ssm').get_parameter(Name=os.environ['REF'], WithDecryption=True)['Parameter']['Value']",
}
EXTENSION_PATHS = {
    "secret": "'/secretsmanager/get?secretId=' + quote(os.environ['REF'], safe='')",
    "parameter": "'/systemsmanager/parameters/get?withDecryption=true&name=' + quote(os.environ['REF'], safe='')",
}
EXTENSION = (
    "import http.client, json\nfrom urllib.parse import quote\n"
    "connection = http.client.HTTPConnection('127.0.0.1', int(os.environ['PARAMETERS_SECRETS_EXTENSION_HTTP_PORT']))\n"
    "connection.request('GET', {path}, headers={{'X-Aws-Parameters-Secrets-Token': os.environ['AWS_SESSION_TOKEN']}})\n"
    "answer = json.loads(connection.getresponse().read())\n"
    "value = answer['SecretString'] if 'SecretString' in answer else answer['Parameter']['Value']"
)
TLS = "import ssl\nssl.create_default_context()\nvalue = '0123'"


class _ExtensionStandIn(BaseHTTPRequestHandler):
    """Answers the extension's two GET routes at once, with the value in the stores' JSON shapes."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if self.headers.get("X-Aws-Parameters-Secrets-Token") != SESSION_TOKEN:
            self._answer(403, {"message": "missing or wrong X-Aws-Parameters-Secrets-Token"})
        elif url.path == "/secretsmanager/get" and query.get("secretId"):
            self._answer(200, {"Name": SECRET_NAME, "SecretString": TOKENS, "VersionStages": ["AWSCURRENT"]})
        elif url.path == "/systemsmanager/parameters/get" and query.get("name"):
            self._answer(200, {"Parameter": {"Name": PARAMETER_NAME, "Type": "SecureString", "Value": TOKENS}})
        else:
            self._answer(404, {"message": "not found"})

    def _answer(self, status: int, document: dict[str, object]) -> None:
        body = json.dumps(document).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
        pass


@contextmanager
def _serving() -> Iterator[tuple[str, int, dict[str, str]]]:
    """moto's server holding the secret and the parameter, and the extension stand-in: their
    addresses, and the secret's ARN and the parameter's name by store."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs each request otherwise
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    stand_in = ThreadingHTTPServer(("127.0.0.1", 0), _ExtensionStandIn)
    threading.Thread(target=stand_in.serve_forever, daemon=True).start()
    try:
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # moto takes any
        client = partial(boto3.client, region_name=REGION, endpoint_url=endpoint, **keys)
        arn = client("secretsmanager").create_secret(Name=SECRET_NAME, SecretString=TOKENS)["ARN"]
        client("ssm").put_parameter(Name=PARAMETER_NAME, Value=TOKENS, Type="SecureString")
        yield endpoint, stand_in.server_address[1], {"secret": arn, "parameter": PARAMETER_NAME}
    finally:
        stand_in.shutdown()
        moto.stop()


def _probe(package: Path, env: dict[str, str], read: str) -> tuple[float, float]:
    """CPU and wall ms of ``read`` in a fresh process, after the preload."""
    code = PROBE.format(preload=PRELOAD, read=read)
    run = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, env=env, cwd=package)
    if run.returncode != 0:
        raise RuntimeError(f"probe failed:\n{read}\n{run.stderr}")
    cpu, wall = run.stdout.split()
    return float(cpu), float(wall)


def _environments(package: Path, endpoint: str, port: int, references: dict[str, str]) -> dict[str, dict[str, str]]:
    """The environment of a Lambda function with each kind of reference, pointed at the loopback servers."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "STATEFUN_FAAS_TOKENS", "PARAMETERS_SECRETS_"))
    }
    base.update(
        PYTHONPATH=str(package),
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,  # Lambda sets both; boto3 reads this one
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN=SESSION_TOKEN,
        AWS_ENDPOINT_URL=endpoint,
        PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(port),
    )
    names = {"secret": "STATEFUN_FAAS_TOKENS_SECRET", "parameter": "STATEFUN_FAAS_TOKENS_PARAMETER"}
    return {store: {**base, names[store]: reference, "REF": reference} for store, reference in references.items()}


def table(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="statefun-faas-secret-read-") as folder, _serving() as served:
        package = build_package(Path(folder) / "package")
        environments = _environments(package, *served)
        contenders = {}
        for store, env in environments.items():
            contenders[f"{store}: _aws_secrets, stdlib SigV4 POST (used)"] = partial(_probe, package, env, OURS)
            contenders[f"{store}: boto3 import + client + call"] = partial(_probe, package, env, BOTO3[store])
            extension = EXTENSION.format(path=EXTENSION_PATHS[store])
            contenders[f"{store}: extension API, client side only"] = partial(_probe, package, env, extension)
        contenders["ssl.create_default_context() (TLS, rows 1-2)"] = partial(
            _probe, package, environments["secret"], TLS
        )
        samples = interleaved(contenders, runs)
    print(f"reading the tokens once, after the Lambda handler's imports; fresh process each, median of {runs}")
    print(f"{'way':<52} {'CPU ms':>8} {'wall ms':>8}")
    for name, values in samples.items():
        cpu = statistics.median(value[0] for value in values)
        wall = statistics.median(value[1] for value in values)
        print(f"{name:<52} {cpu:>8.1f} {wall:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per contender")
    table(parser.parse_args().runs)


if __name__ == "__main__":
    main()
