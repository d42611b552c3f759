"""module.yaml parsing: every kind from realistic files, the legacy format, merging, errors with file/line/field."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from statefun_faas.errors import StatefunFaasError
from statefun_faas.runtime.module import (
    ASYNC_TIMEOUTS,
    ASYNC_TRANSPORT,
    ENDPOINTS_V1,
    ENDPOINTS_V2,
    OKHTTP_TIMEOUTS,
    OKHTTP_TRANSPORT,
    Endpoint,
    ModuleError,
    Route,
    Timeouts,
    dump_endpoints,
    load_module,
    parse_duration,
    parse_module,
)

MODULES = Path(__file__).parent / "modules"


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


def test_dump_endpoints_round_trip() -> None:
    endpoints = [
        *load_module(MODULES / "shopping-cart.yaml").endpoints,
        *load_module(MODULES / "async-transport.yaml").endpoints,
        Endpoint("x.y/z", "http://z/", -1, Timeouts(0.25, 1.5, 2e-3, 7e-9), OKHTTP_TRANSPORT, ENDPOINTS_V2),
        Endpoint("x.y/*", "http://y/{function.name}", 5, Timeouts(61, 20, 3, 120), ASYNC_TRANSPORT, ENDPOINTS_V2),
    ]
    text = dump_endpoints(endpoints)
    assert parse_module(text, "dumped.yaml").endpoints == tuple(endpoints)
    v1 = load_module(MODULES / "v1-endpoint.yaml").endpoints[0]
    (again,) = parse_module(dump_endpoints([v1])).endpoints
    assert again == replace(v1, kind=ENDPOINTS_V2)  # written back as a v2 document with the OkHttp transport
    assert dump_endpoints([]) == ""
