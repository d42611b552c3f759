"""Every adapter as the endpoint our own local runtime calls, with no JVM.

The fronts of fronts.py (uvicorn, gunicorn, functions-framework, ``statefun-faas serve``, a
Function URL in front of awslambdaric, an Azure host in front of a FunctionApp) are called by
``statefun-faas run`` through a module.yaml whose endpoints ``statefun-faas module`` wrote, each
credential form once: Kafka kinds on local topics in, a counter keeping state per id, Kafka out.
The tests on Apache Flink StateFun use the same fronts and module.yaml.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from statefun_faas.moduleyaml.reader import load_module
from tests.builders import Request
from tests.engine.fronts import Credentials, Deployment, deployment, front_door_targets
from tests.engine.functions import (
    FORMS,
    expected,
    front_and_form,
    in_topic,
    namespace,
    namespaces,
    out_topic,
    typename,
)
from tests.runtime.processes import RuntimeProcess, get, put, take

KEYS = ("ada", "bob", "cy")
TEXTS = ("one", "two", "three")
NO_BROKER = "127.0.0.1:9"  # nothing listens: --local-io binds the Kafka kinds to local topics anyway
TEST_CLIENT = "fronts-test"  # the User-Agent of this file's own calls, to tell them from the runtime's

pytestmark = pytest.mark.engine  # runs with tests/engine (no JVM needed here, though)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with deployment(tmp_path_factory.mktemp("deployment"), NO_BROKER) as running:
        yield running


@pytest.fixture(scope="module")
def module_file(deployed: Deployment) -> Path:
    return deployed.module


@pytest.fixture(scope="module")
def credentials(deployed: Deployment) -> Credentials:
    return deployed.credentials


@pytest.fixture(scope="module")
def local_io(tmp_path_factory: pytest.TempPathFactory, module_file: Path) -> Iterator[int]:
    """``statefun-faas run`` on the module; yields the port of its local Kafka topics."""
    folder = tmp_path_factory.mktemp("runtime")
    options = ["--module", str(module_file), "--state", str(folder / "state"), "--local-io", "--local-io-port", "0"]
    runtime = RuntimeProcess.start(folder / "runtime.log", "run", *options)
    try:
        yield runtime.ports["egress"]  # one port serves the local topics: records in, egress records out
    finally:
        assert runtime.stop() == 0, (folder / "runtime.log").read_text()


@pytest.mark.parametrize("space", namespaces())
def test_kafka_in_state_kafka_out_through_each_front(local_io: int, space: str) -> None:
    for text in TEXTS:
        for key in KEYS:
            assert put(local_io, f"{in_topic(space)}/{key}", text.encode("utf-8"))
    records = take(local_io, out_topic(space), len(KEYS) * len(TEXTS))
    for key in KEYS:
        assert [record for record in records if record.split(":")[1] == key] == expected(space, key, TEXTS)
    assert get(local_io, out_topic(space))[0] == 404, "more egress records than messages sent"


def _endpoint_urls(module_file: Path) -> dict[str, str]:
    """The URL the module's endpoint gives each namespace's function."""
    urls = {}
    for endpoint in load_module(module_file).endpoints:
        space = endpoint.functions.partition("/")[0]
        urls[space] = endpoint.url_for(typename(space))
    return urls


def test_module_yaml_templates_are_what_the_module_command_writes(module_file: Path, credentials: Credentials) -> None:
    token, code = credentials.token, credentials.code
    for endpoint in load_module(module_file).endpoints:
        template = endpoint.url_path_template
        _, form = front_and_form(endpoint.functions.partition("/")[0])
        shape = {
            "query": f"/{{function.name}}?token={token}",
            "path": f"/t/{token}/{{function.name}}",
            "code": f"/api/statefun?code={code}",
            "code-query": f"/api/statefun-token?token={token}&code={code}",
        }[form]
        assert template.endswith(shape), template


def _post(url: str, space: str) -> int:
    """POST one valid request for ``space``'s counter to ``url``; the status."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Content-Type": "application/octet-stream", "User-Agent": TEST_CLIENT}
        connection.request("POST", target, body=Request(typename(space), "probe").bytes(), headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _strip(url: str, secret: str) -> str:
    """``url`` without the credential whose value is ``secret`` (query parameter or /t/ prefix)."""
    parts = urlsplit(url)
    query = urlencode([(key, value) for key, value in parse_qsl(parts.query) if value != secret])
    return urlunsplit(parts._replace(path=parts.path.replace(f"/t/{secret}", ""), query=query))


def test_every_credential_in_the_url_is_checked(module_file: Path, credentials: Credentials) -> None:
    for space, url in _endpoint_urls(module_file).items():
        assert _post(url, space) == 200, url
        carried = [secret for secret in (credentials.token, credentials.code) if secret in url]
        assert carried, url
        for secret in carried:
            assert _post(_strip(url, secret), space) == 401, f"{space} without {secret[:4]}...: {_strip(url, secret)}"
            assert _post(url.replace(secret, secret[::-1]), space) == 401, f"{space} with a wrong credential"


def test_a_call_for_another_fronts_namespace_is_refused(module_file: Path) -> None:
    urls = _endpoint_urls(module_file)
    for front, forms in FORMS.items():
        other = next(space for space in namespaces() if not space.startswith(f"{front}-"))
        assert _post(urls[namespace(front, forms[0])], other) == 404


def test_the_front_doors_saw_function_name_and_credentials_in_the_url(local_io: int, deployed: Deployment) -> None:
    door = [space for space in namespaces() if front_and_form(space)[0] in ("lambda", "azure")]
    for space in door:
        assert put(local_io, f"{in_topic(space)}/door", b"knock")
    for space in door:
        assert take(local_io, out_topic(space), 1) == expected(space, "door", ["knock"])
    for front in deployed.fronts:
        if front.received is None:
            continue
        calls = [request for request in front.received if request.header("user-agent") != TEST_CLIENT]
        assert calls, f"the runtime never called the {front.name} front"
        assert {request.target for request in calls} == front_door_targets(front.name, deployed.credentials)
        assert {(request.method, request.header("content-type")) for request in calls} == {
            ("POST", "application/octet-stream")
        }
