"""Each example's production module on Apache Flink StateFun and on our local runtime: the same egress records.

A differential over one real Kafka broker (moto for Kinesis). The example's registry is served by ``statefun-faas
serve`` with a URL token; ``statefun-faas module terraform`` writes module.yaml from that
loopback deployment's outputs with ``--base`` the example's module.prod.yaml, its Kafka
``address`` (``kafka:9092``) pointed at the broker and its consumer groups suffixed per runtime.
The same input goes through StateFun (the harness form) and then through ``statefun-faas run``
(its aiokafka and boto3 bindings on the same broker or Kinesis server; the topics created afresh
for each); the egress records must be, per key and in order, the expected ones on both.

- cross_language: module.prod.yaml and the ``production`` registry as they are. Readings are sent
  in rounds (one reading per room, then the rooms' reports awaited), so each room sees its
  sensors' reports in one order; the report's ``at`` (the reading's wall-clock time) is dropped.
- shopping_cart: module.prod.yaml (exactly-once Kafka egress), the ``production`` egress with
  carts idle for 2 s instead of 30 min (tests/engine/example_targets.py), so carol's cart expires.
  Stock is confirmed by one-item probes before the story (restock and orders are separate topics),
  and a checkout is sent a second after its adds (separate topics too: it could overtake them).
- reminders: module.prod.yaml (Kinesis in, Kinesis out) and the ``production`` registry, on moto's
  Kinesis server over HTTPS, one fresh server per runtime; what StateFun's Kinesis connector needs
  for that (and the two settings of module.yaml it changes) is in tests/engine/kinesis_support.py.
  ``due_at``/``sent_at`` are checked (sent no earlier than due) and dropped.

Each story starts once the runtime reads its ingress: probes are sent until one comes out (so
``startupPosition: latest`` misses nothing, and with ``earliest`` no checkout is read before
the adds sent ahead of it); their records (keys ``warmup...``) are left out of the comparison.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.engine.conftest import Launcher
from tests.engine.examples_support import KafkaWire, Records, Wire, module_from_outputs, pointed_at, recreate_topics
from tests.engine.kafka import KafkaBroker
from tests.engine.kinesis_support import KinesisWire, Tls, kinesis_server, on_kinesis, write_tls
from tests.engine.serving import FunctionServer
from tests.examples.support import EXAMPLES, example_module
from tests.runtime.processes import RuntimeProcess

pytestmark = pytest.mark.engine

TARGETS = Path(__file__).with_name("example_targets.py")
xlang_main = example_module("cross_language", "main")
reminders_main = example_module("reminders", "main")


@dataclass(frozen=True)
class Example:
    name: str
    functions: str  # the endpoint's NS/*
    target: str  # what statefun-faas serve loads
    base: str  # the module documents whose ingresses and egresses are kept
    topics: tuple[str, ...]  # the ingress topics, then the egress topic
    drive: Callable[[Wire], Awaitable[None]]
    expected: Records
    normalize: Callable[[Any], Any] = field(default=lambda value: value)
    ignored: tuple[str, ...] = ("warmup",)
    transport: str = "kafka"  # or "kinesis": the topics are streams


def prod_module(example: str) -> str:
    return (EXAMPLES / example / "module.prod.yaml").read_text("utf-8")


# --- cross_language --------------------------------------------------------------------------------

ROUNDS = [
    [("kitchen-1", 21.5), ("hall-1", 19.0), ("lab-1", 20.0)],
    [("kitchen-2", 30.0), ("hall-1", 18.0), ("lab-2", 22.0)],
    [("kitchen-1", 22.5), ("hall-1", 17.5), ("lab-3", 27.0)],
]


async def drive_readings(wire: Wire) -> None:
    await wire.warm_up("readings", lambda n: (f"warmup{n}-1", xlang_main.double_value(0.0)), "warmup")
    for number, readings in enumerate(ROUNDS, start=1):
        await wire.send("readings", *[(sensor, xlang_main.double_value(celsius)) for sensor, celsius in readings])
        await wire.wait_for(len(ROUNDS[0]) * number)


def room(name: str, average: float, **sensors: float) -> dict[str, Any]:
    return {"room": name, "average": average, "sensors": {k.replace("_", "-"): v for k, v in sensors.items()}}


def without_time(report: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(report.pop("at"), str)
    return report


CROSS_LANGUAGE = Example(
    "cross_language",
    "xlang/*",
    str(EXAMPLES / "cross_language" / "functions.py") + ":production",
    prod_module("cross_language"),
    ("readings", "rooms"),
    drive_readings,
    {
        "kitchen": [
            room("kitchen", 21.5, kitchen_1=21.5),
            room("kitchen", 25.75, kitchen_1=21.5, kitchen_2=30.0),
            room("kitchen", 26.25, kitchen_1=22.5, kitchen_2=30.0),
        ],
        "hall": [room("hall", 19.0, hall_1=19.0), room("hall", 18.0, hall_1=18.0), room("hall", 17.5, hall_1=17.5)],
        "lab": [
            room("lab", 20.0, lab_1=20.0),
            room("lab", 21.0, lab_1=20.0, lab_2=22.0),
            room("lab", 23.0, lab_1=20.0, lab_2=22.0, lab_3=27.0),
        ],
    },
    without_time,
)

# --- shopping_cart ---------------------------------------------------------------------------------


def order(user: str, *items: tuple[str, int]) -> list[tuple[str, str, bytes]]:
    """A user's adds, in order (topic, key, value); the checkout follows separately."""
    return [("add-to-cart", user, json.dumps({"item": item, "quantity": n}).encode()) for item, n in items]


async def shop(wire: Wire, *orders: tuple[str, list[tuple[str, int]]], receipts: int) -> None:
    """Send the orders' adds, a second later their checkouts, then wait until ``receipts`` receipts in all."""
    for user, items in orders:
        await wire.send("add-to-cart", *[(key, value) for _, key, value in order(user, *items)])
    await asyncio.sleep(1.0)
    await wire.send("checkout", *[(user, b"{}") for user, _ in orders])
    await wire.wait_for(receipts)


async def stocktake(wire: Wire, items: list[str]) -> None:
    """Take one of each item until each was in stock once: the restocks are applied, each stock less one."""
    for attempt in range(20):
        users = {item: f"stocktake-{item}-{attempt}" for item in items}
        await shop(wire, *[(user, [(item, 1)]) for item, user in users.items()], receipts=0)
        await wire.wait_for_keys(set(users.values()))
        taken = {key: value for key, value in wire.seen if key in users.values()}
        overtaken = [user for user in users.values() if not taken[user]["items"] and not taken[user]["unavailable"]]
        assert not overtaken, f"the checkouts of {overtaken} overtook their adds: {taken}"
        items = [item for item, user in users.items() if item not in taken[user]["items"]]
        if not items:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"items {items} never came in stock")


async def drive_shop(wire: Wire) -> None:
    await wire.warm_up("checkout", lambda n: (f"warmup{n}", b"{}"), "warmup")  # an empty cart's receipt
    quantity = {"socks": 10, "hat": 2, "scarf": 5}
    await wire.send("restock", *[(item, json.dumps({"quantity": n}).encode()) for item, n in quantity.items()])
    await stocktake(wire, list(quantity))  # left: socks 9, hat 1, scarf 4
    await shop(wire, ("alice", [("socks", 2), ("hat", 1)]), ("dave", [("scarf", 1), ("socks", 3)]), receipts=2)
    await shop(wire, ("bob", [("hat", 1)]), ("alice", [("socks", 1)]), receipts=4)  # the hat is gone
    await wire.send("add-to-cart", *[(key, value) for _, key, value in order("carol", ("socks", 1))])
    await asyncio.sleep(5.0)  # carol's cart idles past its 2 s
    await shop(wire, ("carol", []), ("erin", [("socks", 1)]), receipts=6)


SHOPPING_CART = Example(
    "shopping_cart",
    "shop/*",
    f"{TARGETS}:shop",
    prod_module("shopping_cart"),
    ("add-to-cart", "checkout", "restock", "receipts"),
    drive_shop,
    {
        "alice": [
            {"order": 1, "user": "alice", "items": {"socks": 2, "hat": 1}, "unavailable": {}},
            {"order": 2, "user": "alice", "items": {"socks": 1}, "unavailable": {}},
        ],
        "dave": [{"order": 1, "user": "dave", "items": {"scarf": 1, "socks": 3}, "unavailable": {}}],
        "bob": [{"user": "bob", "items": {}, "unavailable": {"hat": 1}}],
        "carol": [{"user": "carol", "items": {}, "unavailable": {}}],
        "erin": [{"order": 1, "user": "erin", "items": {"socks": 1}, "unavailable": {}}],
    },
    ignored=("warmup", "stocktake"),
)

# --- reminders -------------------------------------------------------------------------------------

BOB: list[dict[str, Any]] = [
    {"action": "schedule", "name": "plants", "text": "Water the plants", "seconds": 1.0},
    {"action": "schedule", "name": "lunch", "text": "Lunch", "seconds": 2.0},
    {"action": "cancel", "name": "lunch"},
]


def command(user: str, value: dict[str, Any]) -> tuple[str, bytes]:
    return user, json.dumps(value).encode()


async def drive_reminders(wire: Wire) -> None:
    probe: dict[str, Any] = {"action": "schedule", "name": "probe", "text": "probe", "seconds": 0.0}
    await wire.warm_up("reminder-commands", lambda n: command(f"warmup{n}", probe), "warmup")
    commands: list[dict[str, Any]] = reminders_main.COMMANDS
    alice = [command("alice", value) for value in commands]
    await wire.send("reminder-commands", *alice, *[command("bob", value) for value in BOB])
    await wire.wait_for(3)


def untimed(reminder: dict[str, Any]) -> dict[str, Any]:
    due, sent = reminder.pop("due_at"), reminder.pop("sent_at")
    assert sent >= due - 0.05, f"{reminder} sent {due - sent:.3f} s before it was due"
    return reminder


REMINDERS = Example(
    "reminders",
    "reminders/*",
    str(EXAMPLES / "reminders" / "functions.py") + ":production",
    prod_module("reminders"),
    ("reminder-commands", "reminders"),
    drive_reminders,
    {
        "alice": [
            {"user": "alice", "name": "tea", "text": "Tea is ready"},
            {"user": "alice", "name": "standup", "text": "Stand-up meeting, moved"},
        ],
        "bob": [{"user": "bob", "name": "plants", "text": "Water the plants"}],
    },
    untimed,
    transport="kinesis",
)

# --- the differential ------------------------------------------------------------------------------


@contextmanager
def runtime(side: str, statefun_harness: Launcher, module: Path, folder: Path) -> Iterator[None]:
    """StateFun's harness, or ``statefun-faas run`` (its Kafka binding on the same broker), on the module."""
    if side == "statefun":
        harness = statefun_harness(module)
        try:
            yield
            assert harness.failures() == [], harness.logs()
        finally:
            harness.stop()
        return
    local = RuntimeProcess.start(folder / "run.log", "run", "--module", str(module), "--state", str(folder / "state"))
    try:
        yield
    finally:
        assert local.stop() == 0, local.log.read_text()


async def collect(example: Example, wire: Wire) -> Records:
    async with wire:
        await example.drive(wire)
        await wire.read(2.0)  # records beyond the expected ones would show here
        return wire.by_key(example.normalize)


@contextmanager
def wired(example: Example, kafka_broker: KafkaBroker, tls: Tls | None, folder: Path) -> Iterator[tuple[str, Wire]]:
    """The example's module documents pointed at fresh topics (or streams of a fresh moto), and a wire to them."""
    if tls is not None:
        with kinesis_server(folder, tls, example.topics) as endpoint:
            yield on_kinesis(example.base, endpoint), KinesisWire(endpoint, tls, example.topics[-1], example.ignored)
        return
    recreate_topics(kafka_broker, example.topics)
    base = pointed_at(example.base, kafka_broker.bootstrap, f"-{folder.name}")
    yield base, KafkaWire(kafka_broker.bootstrap, example.topics[-1], example.ignored)


@pytest.mark.parametrize("example", [CROSS_LANGUAGE, SHOPPING_CART, REMINDERS], ids=lambda e: e.name)
def test_the_example_gives_the_same_egress_records_on_statefun_as_on_the_local_runtime(
    example: Example,
    kafka_broker: KafkaBroker,
    statefun_harness: Launcher,
    function_server: Callable[..., FunctionServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tls = write_tls(tmp_path / "tls") if example.transport == "kinesis" else None
    if tls is not None:
        for name, value in tls.environment().items():  # for StateFun's JVM and boto3 in our runtime
            monkeypatch.setenv(name, value)
    server = function_server(example.target)
    found: dict[str, Records] = {}
    for side in ("statefun", "local"):
        with wired(example, kafka_broker, tls, tmp_path / side) as (base, wire):
            module = module_from_outputs(base, server.url, server.token, example.functions, tmp_path / side)
            started = time.monotonic()
            with runtime(side, statefun_harness, module, tmp_path / side):
                found[side] = asyncio.run(collect(example, wire))
        print(f"{example.name} on {side}: {time.monotonic() - started:.1f} s, start to the last record")
    assert found["statefun"] == example.expected
    assert found["local"] == found["statefun"]
