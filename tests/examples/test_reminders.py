"""examples/reminders: schedule, cancel and reschedule over real HTTP; the Kinesis module on local streams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from statefun_faas.pytest_plugin import RunningRuntime
from statefun_faas.testing import FunctionTester
from tests.examples.support import EXAMPLES, example_module, running
from tests.runtime.processes import cli, put, take

main = example_module("reminders", "main")
reminders = example_module("reminders", "functions")


async def plan(ingress: str, egress: str) -> list[str]:
    async with aiohttp.ClientSession() as session:
        names: list[str] = await main.plan(main.Planner(session, ingress, egress))
        return names


@pytest.mark.slow  # waits for reminders due after three seconds
def test_cancelled_and_rescheduled_reminders_over_http(tmp_path: Path) -> None:
    with running("reminders", str(EXAMPLES / "reminders" / "functions.py"), tmp_path) as app:
        assert asyncio.run(plan(app.ingress, app.egress)) == main.EXPECTED
    state = cli("state", "reminders/user/alice", "--state", str(tmp_path / "state"))
    assert state.stdout.splitlines() == ["pending (reminders/Pending): {}", "scheduled (io.statefun.types/int): 4"]


def test_the_reminder_record_carries_its_timing(statefun_tester: Callable[..., FunctionTester]) -> None:
    tester = statefun_tester(reminders.functions)
    for command in main.COMMANDS:
        tester.send("reminders/user", "alice", command, reminders.CommandType)
    assert tester.pending_delayed() == 2  # tea and the rescheduled standup
    tester.advance(3.5)
    records = [json.loads(payload) for payload in tester.take_egress("io.statefun.playground/egress", "reminders")]
    expected = [("tea", "Tea is ready"), ("standup", "Stand-up meeting, moved")]
    assert [(record["name"], record["text"]) for record in records] == expected
    assert all(record.keys() == {"user", "name", "text", "due_at", "sent_at"} for record in records)
    assert tester.dead_letters() == []


def test_a_late_reminder_of_a_cancelled_token_is_ignored(statefun_tester: Callable[..., FunctionTester]) -> None:
    tester = statefun_tester(reminders.functions)
    command = {"action": "schedule", "name": "x", "text": "x", "seconds": 5}
    tester.send("reminders/user", "bob", command, reminders.CommandType)
    tester.send("reminders/user", "bob", {"name": "x", "token": "x#0"}, reminders.DueType)  # already on its way
    assert tester.take_egress("io.statefun.playground/egress", "reminders") == []
    tester.advance(5)
    assert len(tester.take_egress("io.statefun.playground/egress", "reminders")) == 1


def test_production_module_on_local_kinesis_streams(statefun_runtime: Callable[..., RunningRuntime]) -> None:
    module = EXAMPLES / "reminders" / "module.prod.yaml"
    app = statefun_runtime(module, reminders.production, local_io=True, local_io_port=0)
    streams = app.runtime.ports["local-io"]
    command = {"action": "schedule", "name": "now", "text": "Now", "seconds": 0}
    assert put(streams, "reminder-commands/carol", json.dumps(command).encode())
    (record,) = take(streams, "reminders", 1)
    assert json.loads(record)["user"] == "carol"
