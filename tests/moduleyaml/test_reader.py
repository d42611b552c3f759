"""module.yaml parsing: every kind from realistic files, the legacy format, merging, errors with file/line/field."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statefun_faas.errors import StatefunFaasError
from statefun_faas.moduleyaml.model import (
    ASYNC_TIMEOUTS,
    ASYNC_TRANSPORT,
    ENDPOINTS_V1,
    ENDPOINTS_V2,
    OKHTTP_TIMEOUTS,
    OKHTTP_TRANSPORT,
    Endpoint,
    Route,
    Timeouts,
)
from statefun_faas.moduleyaml.reader import ModuleError, dump_endpoints, load_module, parse_duration, parse_module

MODULES = Path(__file__).parent / "modules"
ENDPOINT_TEXT = (
    "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a.b/*\n  urlPathTemplate: http://f/{function.name}\n"
)


def test_playground_greeter() -> None:
    path = str(MODULES / "greeter.yaml")
    module = load_module(path)
    (endpoint,) = module.endpoints
    assert endpoint == Endpoint(
        functions="greeter.fns/*",
        url_path_template="http://functions:8000/statefun",
        max_num_batch_requests=1000,
        timeouts=ASYNC_TIMEOUTS,
        transport=ASYNC_TRANSPORT,
        kind=ENDPOINTS_V2,
    )
    assert endpoint.source == f"{path}:3"
    assert endpoint.url_for("greeter.fns/user") == "http://functions:8000/statefun"
    (ingress,) = module.ingresses
    assert (ingress.id, ingress.port, ingress.routes, ingress.source) == (
        "io.statefun.playground/ingress",
        8090,
        (),
        f"{path}:8",
    )
    (egress,) = module.egresses
    assert (egress.id, egress.port, egress.topics) == ("io.statefun.playground/egress", 8091, ("greetings",))
    assert module.files == (path,)


def test_playground_ports_default() -> None:
    module = parse_module(
        "kind: io.statefun.playground.v1/ingress\nspec: {}\n---\n"
        "kind: io.statefun.playground.v1/egress\nspec: {topics: [out]}\n"
    )
    assert [module.ingresses[0].port, module.egresses[0].port] == [8090, 8091]
    assert module.egress("io.statefun.playground/egress") is module.egresses[0]
    assert module.ingress("com.example/none") is None


def test_kafka_shop() -> None:
    module = load_module(MODULES / "shopping-cart.yaml")
    wildcard, inventory = module.endpoints
    assert wildcard.timeouts == Timeouts(call=120.0, connect=5.0, read=30.0, write=30.0)
    assert (wildcard.transport, wildcard.max_num_batch_requests) == (OKHTTP_TRANSPORT, 500)
    assert inventory.transport == ASYNC_TRANSPORT
    (ingress,) = module.ingresses
    assert ingress.id == "com.example.shop/orders"
    assert ingress.kind == "io.statefun.kafka.v1/ingress"
    assert ingress.port is None
    assert ingress.routes == (
        Route("add-to-cart", "com.example.shop/AddToCart", ("com.example.shop/user-shopping-cart",)),
        Route("restock", "com.example.shop/RestockItem", ("com.example.shop/inventory", "com.example.shop/audit")),
    )
    assert ingress.spec["address"] == "kafka:9092"
    assert ingress.spec["properties"] == [{"max.poll.records": 500}]
    (egress,) = module.egresses
    assert (egress.id, egress.kind, egress.topics) == ("com.example.shop/receipts", "io.statefun.kafka.v1/egress", ())
    assert egress.spec["deliverySemantic"] == {"type": "exactly-once", "transactionTimeout": "15min"}


def test_kinesis() -> None:
    module = load_module(MODULES / "kinesis.yaml")
    (endpoint,) = module.endpoints
    assert endpoint.matches("com.example.fn/greeter")
    assert not endpoint.matches("com.example.fn/other")
    (ingress,) = module.ingresses
    assert ingress.kind == "io.statefun.kinesis.v1/ingress"
    assert ingress.routes == (Route("user-stream", "com.example/User", ("com.example.fn/greeter",)),)
    assert ingress.spec["awsRegion"] == {"type": "specific", "id": "eu-west-1"}
    (egress,) = module.egresses
    assert egress.id == "com.example/greetings"
    assert egress.spec["maxOutstandingRecords"] == 9999
    assert egress.spec["awsCredentials"]["type"] == "basic"


def test_async_transport_flat_keys_pool_settings_and_nested_block() -> None:
    module = load_module(MODULES / "async-transport.yaml")
    flat, nested = module.endpoints
    assert flat.timeouts == Timeouts(call=90.0, connect=3.0, read=90.0, write=90.0)
    assert flat.max_num_batch_requests == 0
    assert flat.spec == {"pool_ttl": "30s", "pool_size": 64, "payload_max_bytes": 1048576}
    assert nested.timeouts == Timeouts(call=45.0, connect=2.0, read=45.0, write=45.0)  # the block wins
    assert nested.transport == ASYNC_TRANSPORT


def test_v1_endpoint_reads_timeouts_under_spec() -> None:
    (endpoint,) = load_module(MODULES / "v1-endpoint.yaml").endpoints
    assert endpoint.kind == ENDPOINTS_V1
    assert endpoint.transport == OKHTTP_TRANSPORT
    assert endpoint.timeouts == Timeouts(call=60.0, connect=30.0, read=20.0, write=10.0)
    assert endpoint.max_num_batch_requests == 10000
    assert endpoint.url_for("com.foo.bar/baz") == "http://bar.foo.com:8080/functions/baz"


@pytest.mark.parametrize("mode", ["FAIL", "DROP", "drop", "Fail", None])
def test_failure_mode_of_the_sbb_fork_is_read_in_any_case(mode: str | None) -> None:
    text = ENDPOINT_TEXT + (f"  failureMode: {mode}\n" if mode else "")
    module = parse_module(text, "f.yaml")
    assert module.endpoints[0].failure_mode == (mode.upper() if mode else None)  # the fork's toUpperCase
    assert module.warnings == ()
    v1 = parse_module(text.replace("endpoints.v2", "endpoints.v1"), "f.yaml")  # the fork adds it to v2 only
    assert v1.endpoints[0].failure_mode is None
    if mode:
        [warning] = v1.warnings
        assert warning.startswith("f.yaml:5: spec.failureMode: unknown field, ignored; ")


def test_okhttp_defaults() -> None:
    module = parse_module(
        "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a.b/*\n  urlPathTemplate: http://f/\n"
        "  transport: {type: io.statefun.transports.v1/okhttp}\n"
    )
    assert module.endpoints[0].timeouts == OKHTTP_TIMEOUTS


def test_legacy_format() -> None:
    path = str(MODULES / "legacy-3.0.yaml")
    module = load_module(path)
    (endpoint,) = module.endpoints
    assert (endpoint.kind, endpoint.transport, endpoint.functions) == (ENDPOINTS_V1, OKHTTP_TRANSPORT, "com.foo.bar/*")
    assert endpoint.timeouts == Timeouts(call=60.0, connect=10.0, read=10.0, write=10.0)
    assert endpoint.source == f"{path}:8"
    (ingress,) = module.ingresses
    assert (ingress.id, ingress.kind) == ("com.foo.bar/names", "io.statefun.kafka.v1/ingress")
    assert ingress.routes == (Route("names", "com.foo.bar/Name", ("com.foo.bar/greeter",)),)
    assert ingress.spec["id"] == "com.foo.bar/names"  # meta.id is copied into the spec
    (egress,) = module.egresses
    assert (egress.id, egress.kind) == ("com.foo.bar/greets", "io.statefun.kafka.v1/egress")


def test_several_files_merge() -> None:
    functions, io = str(MODULES / "split-functions.yaml"), str(MODULES / "split-io.yaml")
    module = load_module(functions, io)
    assert module.files == (functions, io)
    assert [endpoint.functions for endpoint in module.endpoints] == ["com.example.split/*"]
    assert module.ingresses[0].port == 18090
    assert module.egresses[0].topics == ("greetings", "audit")
    assert module.egresses[0].source == f"{io}:6"


def test_duplicate_across_files(tmp_path: Path) -> None:
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    shutil.copy(MODULES / "split-io.yaml", first)
    shutil.copy(MODULES / "split-io.yaml", second)
    with pytest.raises(ModuleError) as caught:
        load_module(first, second)
    error = caught.value
    assert (error.file, error.line, error.field) == (str(second), 2, "kind")
    assert f"already declared at {first}:2" in str(error)
    assert "remove one" in str(error)


def test_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ModuleError, match="cannot be read") as caught:
        load_module(missing)
    assert (caught.value.file, caught.value.line) == (str(missing), None)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"kind: caf\xe9\n")
    with pytest.raises(ModuleError, match="not UTF-8"):
        load_module(latin)
    with pytest.raises(ModuleError, match="at least one"):
        load_module()


def test_endpoint_for_prefers_the_exact_function_type() -> None:
    module = load_module(MODULES / "shopping-cart.yaml")
    exact = module.endpoint_for("com.example.shop/inventory")
    assert exact is not None
    assert exact.url_for("com.example.shop/inventory") == "https://inventory.internal:8443/statefun/inventory"
    wildcard = module.endpoint_for("com.example.shop/user-shopping-cart")
    assert wildcard is not None
    assert wildcard.url_for("com.example.shop/user-shopping-cart") == "http://shop-functions:8000/user-shopping-cart"
    assert module.endpoint_for("com.example/inventory") is None  # namespaces match exactly, no prefixes
    assert module.endpoint_for("com.example.shop.sub/x") is None
    assert module.endpoint_for("com.example.shop/*") is None


def test_exact_binding_wins_whatever_the_order() -> None:
    text = (
        "kind: io.statefun.endpoints.v2/http\nspec: {functions: a.b/one, urlPathTemplate: 'http://one/'}\n---\n"
        "kind: io.statefun.endpoints.v2/http\nspec: {functions: a.b/*, urlPathTemplate: 'http://all/'}\n"
    )
    module = parse_module(text)
    assert [module.endpoint_for(t).url_path_template for t in ("a.b/one", "a.b/two")] == ["http://one/", "http://all/"]  # type: ignore[union-attr]


def test_url_for_replaces_every_placeholder() -> None:
    endpoint = replace(
        load_module(MODULES / "greeter.yaml").endpoints[0],
        url_path_template="http://h/{function.name}/x/{function.name}",
    )
    assert endpoint.url_for("greeter.fns/user") == "http://h/user/x/user"
    assert endpoint.matches("greeter.fns/user")
    assert not endpoint.matches("greeter.fns")
    assert not endpoint.matches("greeter.fns2/user")


def test_empty_file_declares_nothing() -> None:
    module = parse_module("# nothing yet\n---\n", "empty.yaml")
    assert (module.endpoints, module.ingresses, module.egresses, module.files) == ((), (), (), ("empty.yaml",))


def test_anchors_and_merge_keys() -> None:
    text = (
        "kind: io.statefun.kafka.v1/ingress\nspec:\n  id: a.b/in\n  topics:\n"
        "    - &first\n      topic: one\n      valueType: a.b/V\n      targets: [a.b/f]\n"
        "    - <<: *first\n      topic: two\n"
    )
    (ingress,) = parse_module(text).ingresses
    assert ingress.routes == (Route("one", "a.b/V", ("a.b/f",)), Route("two", "a.b/V", ("a.b/f",)))


def test_module_error_is_a_value_error_under_the_project_base() -> None:
    error = ModuleError("m.yaml", 3, "spec.functions", "is missing", "add it")
    assert isinstance(error, StatefunFaasError)
    assert isinstance(error, ValueError)
    assert str(error) == "m.yaml:3: spec.functions: is missing; add it"
    assert str(ModuleError("m.yaml", None, "", "cannot be read", "check it")) == "m.yaml: cannot be read; check it"


def test_fields_statefun_ignores_become_warnings() -> None:
    text = (
        ENDPOINT_TEXT + "  maxNumBatchRequest: 10\n  transport:\n    type: io.statefun.transports.v1/okhttp\n"
        "    call: 5s\n    timeouts: {call: 16s}\n---\n"
        "kind: io.statefun.kafka.v1/ingress\nspec:\n  id: a.b/in\n  topic: t\n"
        "  topics: [{topic: t, valueType: a/V, targets: [a/f]}]\n"
    )
    module = parse_module(text, "w.yaml")
    assert module.warnings == (
        "w.yaml:5: spec.maxNumBatchRequest: unknown field, ignored; did you mean maxNumBatchRequests?",
        "w.yaml:8: spec.transport.call: unknown field, ignored; "
        "this transport reads timeouts only from its timeouts: block",
        "w.yaml:14: spec.topic: unknown field, ignored; did you mean topics?",
    )
    assert module.endpoints[0].timeouts.call == 16.0
    assert module.endpoints[0].max_num_batch_requests == 1000
    assert module == parse_module(
        text.replace("maxNumBatchRequest:", "maxNumBatchRequest0:"), "w.yaml"
    )  # warnings aside


def test_quoted_integers_are_read_as_jackson_does() -> None:
    module = parse_module(
        ENDPOINT_TEXT + '  maxNumBatchRequests: "25"\n---\n'
        'kind: io.statefun.playground.v1/ingress\nspec: {port: "9000"}\n'
    )
    assert (module.endpoints[0].max_num_batch_requests, module.ingresses[0].port) == (25, 9000)


def test_shared_anchors_and_bad_merges() -> None:
    shared = (
        'version: "3.0"\nmodule:\n  meta: {type: remote}\n  spec:\n    endpoints:\n'
        "      - endpoint: &e\n          meta: {kind: http}\n          spec:\n            functions: a/*\n"
        "            urlPathTemplate: http://f/\n"
        "      - endpoint:\n          <<: *e\n          spec:\n            <<: *s\n            functions: b/*\n"
    ).replace("          spec:\n            functions: a/*", "          spec: &s\n            functions: a/*")
    first, second = parse_module(shared).endpoints
    assert (first.functions, second.functions, second.url_path_template) == ("a/*", "b/*", "http://f/")
    with pytest.raises(ModuleError, match="merge an anchored mapping") as caught:
        parse_module("kind: io.statefun.playground.v1/ingress\nspec:\n  x: &n 5\n  <<: *n\n", "m.yaml")
    assert (caught.value.line, caught.value.field) == (4, "spec")


def test_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "windows.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + ENDPOINT_TEXT.replace("\n", "\r\n").encode() + b"  maxNumBatchRequests: x\r\n")
    with pytest.raises(ModuleError) as caught:
        load_module(path)
    assert (caught.value.line, caught.value.field) == (5, "spec.maxNumBatchRequests")


DURATIONS = [
    ("1 min", 60.0),
    ("1min", 60.0),
    ("2m", 120.0),
    ("1minute", 60.0),
    ("3 minutes", 180.0),
    ("10s", 10.0),
    ("10 sec", 10.0),
    ("10 secs", 10.0),
    ("30seconds", 30.0),
    ("1 second", 1.0),
    ("500ms", 0.5),
    ("500 millis", 0.5),
    ("250 milliseconds", 0.25),
    ("1500", 1.5),
    (1500, 1.5),
    (2.5, 0.0025),
    ("2h", 7200.0),
    ("1 hours", 3600.0),
    ("1d", 86400.0),
    ("2 days", 172800.0),
    ("7µs", 7e-6),
    ("3 micros", 3e-6),
    ("9ns", 9e-9),
    ("40 nanoseconds", 4e-8),
    (" 10 S ", 10.0),
    ("0", 0.0),
]


@pytest.mark.parametrize(("text", "seconds"), DURATIONS)
def test_durations(text: str | int | float, seconds: float) -> None:
    assert parse_duration(text, "timeouts.call") == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize("text", ["", "min", "1.5s", "-1s", "10 parsecs", "1 mins", True, -5, float("inf")])
def test_bad_durations(text: str | int | float) -> None:
    with pytest.raises(ModuleError) as caught:
        parse_duration(text, "timeouts.call")
    assert caught.value.field == "timeouts.call"
    assert "e.g. 500ms" in str(caught.value)


@given(st.integers(min_value=1, max_value=10**15))
def test_written_durations_read_back_exactly(nanos: int) -> None:
    seconds = nanos / 10**9
    (endpoint,) = parse_module(
        dump_endpoints([replace(ENDPOINT_SAMPLE, timeouts=Timeouts(10**6, 1, seconds, 1))])
    ).endpoints
    assert endpoint.timeouts.read == seconds


ENDPOINT_SAMPLE = Endpoint("a.b/*", "http://f/", 1000, OKHTTP_TIMEOUTS, OKHTTP_TRANSPORT, ENDPOINTS_V2)


def test_legacy_version_may_be_an_unquoted_number() -> None:
    text = "version: 3.0\nmodule:\n  meta: {type: REMOTE}\n  spec: {}\n"
    assert parse_module(text) == parse_module("# nothing declared\n")


def test_dump_endpoints_round_trip() -> None:
    endpoints = [
        *load_module(MODULES / "shopping-cart.yaml").endpoints,
        *load_module(MODULES / "async-transport.yaml").endpoints,
        Endpoint("x.y/z", "http://z/", -1, Timeouts(2.25, 1.5, 2e-3, 7e-9), OKHTTP_TRANSPORT, ENDPOINTS_V2),
        Endpoint("x.y/*", "http://y/{function.name}", 5, Timeouts(61, 20, 3, 120), ASYNC_TRANSPORT, ENDPOINTS_V2),
        replace(ENDPOINT_SAMPLE, functions="a.b/fail", failure_mode="FAIL"),
    ]
    text = dump_endpoints(endpoints)
    assert parse_module(text, "dumped.yaml").endpoints == tuple(endpoints)
    v1 = load_module(MODULES / "v1-endpoint.yaml").endpoints[0]
    (again,) = parse_module(dump_endpoints([v1])).endpoints
    assert again == replace(v1, kind=ENDPOINTS_V2)  # written back as a v2 document with the OkHttp transport
    assert dump_endpoints([]) == ""


ENDPOINT = (
    "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a.b/*\n  urlPathTemplate: http://f:8000/{function.name}\n"
)
URL_FIELD = "spec.urlPathTemplate"
KAFKA_IN = "kind: io.statefun.kafka.v1/ingress\nspec:\n  id: a.b/in\n"  # topics follow from line 4
ROUTE = "  topics:\n    - topic: t\n      valueType: a.b/V\n      targets: [a.b/f]\n"  # lines 4-7 after KAFKA_IN
KAFKA_OUT = "kind: io.statefun.kafka.v1/egress\nspec:\n  id: a.b/out\n"
KINESIS_IN = (
    "kind: io.statefun.kinesis.v1/ingress\nspec:\n  id: a.b/in\n"
    "  streams:\n    - {stream: s, valueType: a.b/V, targets: [a.b/f]}\n"
)
EGRESS = "kind: io.statefun.playground.v1/egress\nspec:\n"
LEGACY = 'version: "3.0"\nmodule:\n  meta:\n    type: remote\n  spec:\n'

# (case id, file text, line, field, words the message must contain)
BROKEN = [
    (
        "unknown kind",
        "kind: io.statefun.endpoints.v2/htp\nspec: {}\n",
        1,
        "kind",
        "did you mean io.statefun.endpoints.v2/http",
    ),
    ("unknown kind far", "kind: com.example/thing\nspec: {}\n", 1, "kind", "use one of io.statefun.endpoints.v2/http"),
    ("missing kind", "# a component\nspec:\n  functions: a.b/*\n", 2, "kind", "start the document with kind:"),
    ("missing spec", "---\nkind: io.statefun.endpoints.v2/http\n", 2, "spec", "add spec:"),
    ("document not a mapping", "- kind: io.statefun.endpoints.v2/http\n", 1, "", "kind: <kind> and spec:"),
    (
        "spec not a mapping",
        "kind: io.statefun.endpoints.v2/http\nspec: [a]\n",
        2,
        "spec",
        "expected a mapping, got a list",
    ),
    ("kind not a string", "kind: [a]\nspec: {}\n", 1, "kind", "expected a string"),
    ("duplicate yaml key", ENDPOINT + "  functions: a.c/*\n", 5, "spec.functions", "appears twice (first on line 3)"),
    (
        "functions missing",
        "kind: io.statefun.endpoints.v2/http\nspec:\n  urlPathTemplate: http://f/\n",
        2,
        "spec.functions",
        "<namespace>/*",
    ),
    (
        "functions not a string",
        ENDPOINT.replace("a.b/*", "[a.b/*]"),
        3,
        "spec.functions",
        "expected a string, got a list",
    ),
    ("functions without slash", ENDPOINT.replace("a.b/*", "greeter"), 3, "spec.functions", "<namespace>/<name>"),
    ("functions two slashes", ENDPOINT.replace("a.b/*", "a/b/c"), 3, "spec.functions", "<namespace>/<name>"),
    ("star in namespace", ENDPOINT.replace("a.b/*", "a.*/x"), 3, "spec.functions", "only the name can be '*'"),
    ("star inside name", ENDPOINT.replace("a.b/*", "a.b/gr*"), 3, "spec.functions", "write a.b/* or the full"),
    (
        "url missing",
        "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a.b/*\n",
        2,
        "spec.urlPathTemplate",
        "give the URL",
    ),
    (
        "other placeholder",
        ENDPOINT.replace("{function.name}", "{function.namespace}/x"),
        4,
        "spec.urlPathTemplate",
        "the only placeholder is {function.name}",
    ),
    (
        "unbalanced brace",
        ENDPOINT.replace("{function.name}", "{function.name"),
        4,
        "spec.urlPathTemplate",
        "exactly as {function.name}",
    ),
    ("not an http url", ENDPOINT.replace("http://f:8000", "ftp://f"), 4, "spec.urlPathTemplate", "http://host:port"),
    (
        "placeholder as the host",
        ENDPOINT.replace("f:8000", "{function.name}:8000"),
        4,
        URL_FIELD,
        "is in the URL's host and port",
    ),
    (
        "placeholder in the host",
        ENDPOINT.replace("f:8000", "{function.name}.svc:8000"),
        4,
        URL_FIELD,
        "may only stand in the path",
    ),
    (
        "placeholder as the port",
        ENDPOINT.replace("f:8000", "f:{function.name}"),
        4,
        URL_FIELD,
        "is in the URL's host and port",
    ),
    (
        "placeholder in the query",
        ENDPOINT.replace("/{function.name}", "/fn?f={function.name}"),
        4,
        URL_FIELD,
        "is in the URL's query",
    ),
    (
        "placeholder in the fragment",
        ENDPOINT.replace("/{function.name}", "/fn#{function.name}"),
        4,
        URL_FIELD,
        "is in the URL's fragment",
    ),
    (
        "placeholder in the socket",
        ENDPOINT.replace("http://f:8000", "http+unix:///run/{function.name}.sock/fn"),
        4,
        URL_FIELD,
        "URL's socket file",
    ),
    ("no socket file", ENDPOINT.replace("http://f:8000", "http+unix:///run/fn"), 4, URL_FIELD, "names no socket file"),
    ("empty host", ENDPOINT.replace("f:8000", ":8000"), 4, URL_FIELD, "has no host"),
    ("userinfo and no host", ENDPOINT.replace("f:8000", "user:pw@"), 4, URL_FIELD, "has no host"),
    ("url port out of range", ENDPOINT.replace("f:8000", "f:65536"), 4, URL_FIELD, "has a port out of range"),
    ("url port zero", ENDPOINT.replace("f:8000", "f:0"), 4, URL_FIELD, "has a port out of range"),
    ("url port not a number", ENDPOINT.replace("f:8000", "f:80a"), 4, URL_FIELD, "has a port that is not a number"),
    ("unclosed ipv6 host", ENDPOINT.replace("f:8000", "[::1:8000"), 4, URL_FIELD, "is not a valid URL"),
    (
        "batch not an int",
        ENDPOINT + "  maxNumBatchRequests: many\n",
        5,
        "spec.maxNumBatchRequests",
        "expected an integer, got a string",
    ),
    ("transport not a mapping", ENDPOINT + "  transport: okhttp\n", 5, "spec.transport", "expected a mapping"),
    (
        "unknown transport",
        ENDPOINT + "  transport:\n    type: io.statefun.transports.v1/netty\n",
        6,
        "spec.transport.type",
        "use io.statefun.transports.v1/async",
    ),
    (
        "zero timeout",
        ENDPOINT + "  transport:\n    timeouts:\n      connect: 1s\n      call: 0ms\n",
        8,
        "spec.transport.timeouts.call",
        "a timeout of zero",
    ),
    ("zero flat async timeout", ENDPOINT + "  transport:\n    connect: 0\n", 6, "spec.transport.connect", "zero"),
    (
        "unknown failure mode",
        ENDPOINT + "  failureMode: RETRY\n",
        5,
        "spec.failureMode",
        "unknown failure mode 'RETRY'",
    ),
    ("failure mode not a string", ENDPOINT + "  failureMode: [FAIL]\n", 5, "spec.failureMode", "expected a string"),
    (
        "bad duration",
        ENDPOINT + "  transport:\n    timeouts: {read: 10 parsecs}\n",
        6,
        "spec.transport.timeouts.read",
        "unknown unit 'parsecs'",
    ),
    ("decimal duration", ENDPOINT + "  transport:\n    call: 1.5s\n", 6, "spec.transport.call", "e.g. 500ms"),
    (
        "unknown timeout",
        ENDPOINT + "  transport:\n    type: io.statefun.transports.v1/okhttp\n    timeouts:\n      reed: 1s\n",
        8,
        "spec.transport.timeouts.reed",
        "use call, connect, read and write",
    ),
    (
        "okhttp call under its default connect",
        ENDPOINT + "  transport:\n    type: io.statefun.transports.v1/okhttp\n    timeouts: {call: 2s}\n",
        7,
        "spec.transport.timeouts",
        "the okhttp connect timeout (10s) is longer than the call timeout (2s)",
    ),
    (
        "okhttp read over call",
        ENDPOINT + "  transport:\n    type: io.statefun.transports.v1/okhttp\n    timeouts: {call: 30s, read: 1min}\n",
        7,
        "spec.transport.timeouts",
        "the okhttp read timeout (60s) is longer",
    ),
    (
        "v1 zero timeout",
        "kind: io.statefun.endpoints.v1/http\nspec:\n  functions: a/*\n  urlPathTemplate: http://f/\n"
        "  timeouts: {call: 0s}\n",
        5,
        "spec.timeouts.call",
        "positive duration",
    ),
    ("bad pool size", ENDPOINT + "  transport:\n    pool_size: 0\n", 6, "spec.transport.pool_size", "above zero"),
    ("bad pool ttl", ENDPOINT + "  transport:\n    pool_ttl: soon\n", 6, "spec.transport.pool_ttl", "e.g. 500ms"),
    (
        "duplicate pattern",
        ENDPOINT + "---\n" + ENDPOINT.replace("8000", "9000"),
        8,
        "spec.functions",
        "endpoint for functions 'a.b/*' is already declared at bad.yaml:1",
    ),
    (
        "duplicate exact type",
        ENDPOINT.replace("a.b/*", "a.b/f") + "---\n" + ENDPOINT.replace("a.b/*", "a.b/f"),
        8,
        "spec.functions",
        "remove one of the two",
    ),
    (
        "duplicate playground ingress",
        "kind: io.statefun.playground.v1/ingress\nspec: {}\n---\n"
        "kind: io.statefun.playground.v1/ingress\nspec: {port: 1}\n",
        4,
        "kind",
        "already declared at bad.yaml:1",
    ),
    ("duplicate kafka ingress", KAFKA_IN + ROUTE + "---\n" + KAFKA_IN + ROUTE, 11, "spec.id", "ingress 'a.b/in'"),
    ("duplicate egress", KAFKA_OUT + "---\n" + KAFKA_OUT, 7, "spec.id", "egress 'a.b/out' is already declared"),
    (
        "ingress id missing",
        "kind: io.statefun.kafka.v1/ingress\nspec:\n  topics: []\n",
        2,
        "spec.id",
        "exactly one '/'",
    ),
    ("ingress id not a typename", KAFKA_IN.replace("a.b/in", "orders") + ROUTE, 3, "spec.id", "exactly one '/'"),
    ("topics missing", KAFKA_IN, 2, "spec.topics", "list the topics"),
    ("topics empty", KAFKA_IN + "  topics: []\n", 4, "spec.topics", "list at least one topic"),
    (
        "topic without valueType",
        KAFKA_IN + "  topics:\n    - topic: t\n      targets: [a.b/f]\n",
        5,
        "spec.topics[0].valueType",
        "give the typename of its values",
    ),
    (
        "wildcard target",
        KAFKA_IN + ROUTE.replace("[a.b/f]", "[a.b/*]"),
        7,
        "spec.topics[0].targets[0]",
        "exactly one '/'",
    ),
    (
        "targets empty",
        KAFKA_IN + ROUTE.replace("[a.b/f]", "[]"),
        7,
        "spec.topics[0].targets",
        "list at least one target",
    ),
    (
        "same topic twice",
        KAFKA_IN + ROUTE + ROUTE.removeprefix("  topics:\n"),
        8,
        "spec.topics[1]",
        "topic 't' appears twice (first on line 5)",
    ),
    (
        "unknown startup position",
        KAFKA_IN + ROUTE + "  startupPosition:\n    type: newest\n",
        9,
        "spec.startupPosition.type",
        "use one of group-offsets, earliest, latest, specific-offsets, date",
    ),
    (
        "startup date pattern",
        KAFKA_IN + ROUTE + "  startupPosition: {type: date, date: '2020-02-01'}\n",
        8,
        "spec.startupPosition.date",
        "yyyy-MM-dd HH:mm:ss.SSS Z",
    ),
    (
        "specific offsets key",
        KAFKA_IN + ROUTE + "  startupPosition:\n    type: specific-offsets\n    offsets:\n      - users: 91\n",
        11,
        "spec.startupPosition.offsets[0].users",
        '"topic/partition": offset',
    ),
    (
        "auto offset reset",
        KAFKA_IN + ROUTE + "  autoOffsetResetPosition: oldest\n",
        8,
        "spec.autoOffsetResetPosition",
        "use one of earliest, latest",
    ),
    (
        "properties not single-key",
        KAFKA_IN + ROUTE + "  properties:\n    - {a: 1, b: 2}\n",
        9,
        "spec.properties[0]",
        "one `- key: value` line per property",
    ),
    (
        "delivery semantic",
        KAFKA_OUT + "  deliverySemantic:\n    type: exactly-twice\n",
        5,
        "spec.deliverySemantic.type",
        "use one of exactly-once, at-least-once, none",
    ),
    (
        "exactly-once without timeout",
        KAFKA_OUT + "  deliverySemantic:\n    type: exactly-once\n",
        4,
        "spec.deliverySemantic",
        "add transactionTimeout: 15min",
    ),
    (
        "transaction timeout",
        KAFKA_OUT + "  deliverySemantic: {type: exactly-once, transactionTimeout: soon}\n",
        4,
        "spec.deliverySemantic.transactionTimeout",
        "e.g. 500ms",
    ),
    (
        "region without id",
        KINESIS_IN + "  awsRegion:\n    type: specific\n",
        6,
        "spec.awsRegion.id",
        "type specific needs id",
    ),
    (
        "unknown credentials",
        KINESIS_IN + "  awsCredentials: {type: environment}\n",
        6,
        "spec.awsCredentials.type",
        "use one of default, basic, profile",
    ),
    (
        "basic credentials incomplete",
        KINESIS_IN + "  awsCredentials: {type: basic, accessKeyId: k}\n",
        6,
        "spec.awsCredentials.secretAccessKey",
        "accessKeyId, secretAccessKey",
    ),
    (
        "kinesis startup group offsets",
        KINESIS_IN + "  startupPosition: {type: group-offsets}\n",
        6,
        "spec.startupPosition.type",
        "use one of earliest, latest, date",
    ),
    (
        "kinesis stream without targets",
        KINESIS_IN.replace(", targets: [a.b/f]", ""),
        5,
        "spec.streams[0].targets",
        "function types that receive",
    ),
    (
        "kinesis egress outstanding",
        "kind: io.statefun.kinesis.v1/egress\nspec:\n  id: a.b/out\n  maxOutstandingRecords: -1\n",
        4,
        "spec.maxOutstandingRecords",
        "above zero",
    ),
    ("egress topics missing", EGRESS + "  port: 8091\n", 2, "spec.topics", "list the topics functions write to"),
    ("egress topic with slash", EGRESS + "  topics:\n    - ok\n    - a/b\n", 5, "spec.topics[1]", "GET /<topic>"),
    ("egress topic twice", EGRESS + "  topics: [a, b, a]\n", 3, "spec.topics[2]", "topic 'a' appears twice"),
    ("port out of range", EGRESS + "  port: 80910\n  topics: [a]\n", 3, "spec.port", "0..65535"),
    (
        "port not a number",
        "kind: io.statefun.playground.v1/ingress\nspec:\n  port: http\n",
        3,
        "spec.port",
        "expected an integer",
    ),
    ("yaml syntax", ENDPOINT + "  transport: {type: a\n", 6, "", "not valid YAML"),
    ("yaml tab", ENDPOINT + "\tmaxNumBatchRequests: 5\n", 5, "", "indent with spaces"),
    ("legacy version 2.0", 'version: "2.0"\nmodule:\n  meta: {type: remote}\n', 1, "version", "end-of-life"),
    ("legacy version 1.0", "version: 1.0\nmodule: {}\n", 1, "version", "kind: io.statefun.endpoints.v2/http"),
    ("legacy version 3.1", 'version: "3.1"\n', 1, "version", 'use version: "3.0", or drop version:'),
    (
        "legacy module type",
        'version: "3.0"\nmodule:\n  meta:\n    type: embedded\n  spec: {}\n',
        4,
        "module.meta.type",
        "type: remote",
    ),
    (
        "legacy endpoint kind",
        LEGACY + "    endpoints:\n      - endpoint:\n          meta: {kind: io.statefun.kafka/ingress}\n"
        "          spec: {}\n",
        8,
        "module.spec.endpoints[0].endpoint.meta.kind",
        "move it under ingresses:",
    ),
    (
        "legacy functions in meta",
        LEGACY + "    endpoints:\n      - endpoint:\n          meta:\n            kind: http\n"
        "            functions: a/*\n          spec:\n            urlPathTemplate: http://f/\n",
        10,
        "module.spec.endpoints[0].endpoint.meta.functions",
        "move functions: from meta: to spec:",
    ),
    (
        "legacy ingress without id",
        LEGACY + "    ingresses:\n      - ingress:\n          meta:\n"
        "            type: io.statefun.kafka/ingress\n          spec: {}\n",
        8,
        "module.spec.ingresses[0].ingress.meta.id",
        "add id:",
    ),
    (
        "legacy unknown kind",
        LEGACY + "    egresses:\n      - egress:\n          meta: {type: io.statefun.s3/egress, id: a/b}\n"
        "          spec: {}\n",
        8,
        "module.spec.egresses[0].egress.meta.type",
        "unknown kind 'io.statefun.s3/egress'",
    ),
    (
        "legacy entry not wrapped",
        LEGACY + "    endpoints:\n      - meta: {kind: http}\n",
        7,
        "module.spec.endpoints[0].endpoint",
        "- endpoint: with meta: and spec:",
    ),
]


@pytest.mark.parametrize(("text", "line", "field", "words"), [case[1:] for case in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_files_name_file_line_and_field(text: str, line: int, field: str, words: str) -> None:
    with pytest.raises(ModuleError) as caught:
        parse_module(text, "bad.yaml")
    error = caught.value
    assert (error.file, error.line, error.field) == ("bad.yaml", line, field), str(error)
    assert words in str(error)
    assert error.fix, "every error says how to fix it"
    assert str(error).startswith(f"bad.yaml:{line}: {field}: " if field else f"bad.yaml:{line}: ")
