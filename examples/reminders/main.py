"""Reminders end to end on the local runtime: schedule three, cancel one, reschedule one, print the timing.

Runs the functions of functions.py in-process (as ``statefun-faas dev`` does) with this folder's
module.yaml on free ports, sends commands through the playground ingress, prints each reminder
with the time it was due, sent and read (seconds since the start) and exits 0 when exactly the
expected reminders came, in order.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from functions import functions  # noqa: E402 (the example's own module, next to this file)

from statefun_faas.runtime.app import Options, Runtime  # noqa: E402

COMMANDS: list[dict[str, Any]] = [
    {"action": "schedule", "name": "tea", "text": "Tea is ready", "seconds": 1.0},
    {"action": "schedule", "name": "standup", "text": "Stand-up meeting", "seconds": 2.0},
    {"action": "schedule", "name": "call", "text": "Call mum", "seconds": 1.5},
    {"action": "cancel", "name": "call"},
    {"action": "schedule", "name": "standup", "text": "Stand-up meeting, moved", "seconds": 3.0},  # reschedule
]
EXPECTED = ["tea", "standup"]


class Planner:
    """Sends commands to the playground ingress and reads the ``reminders`` topic of the playground egress."""

    def __init__(self, session: aiohttp.ClientSession, ingress: str, egress: str) -> None:
        self.session, self.ingress, self.egress = session, ingress, egress
        self.start = time.time()

    def clock(self, at: float | None = None) -> str:
        return f"t+{(time.time() if at is None else at) - self.start:.2f}s"

    async def send(self, user: str, command: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/vnd.reminders/Command"}
        url = f"{self.ingress}/reminders/user/{user}"
        async with self.session.put(url, data=json.dumps(command), headers=headers) as answer:
            answer.raise_for_status()
        when = f" in {command['seconds']:g}s" if "seconds" in command else ""
        print(f"{self.clock()} {command['action']} {command['name']!r}{when}")

    async def reminder(self, timeout: float = 10.0) -> dict[str, Any] | None:
        """The next reminder, or None when none came within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            async with self.session.get(f"{self.egress}/reminders") as answer:
                if answer.status == 200:
                    reminder: dict[str, Any] = json.loads(await answer.read())
                    due, sent = self.clock(reminder["due_at"]), self.clock(reminder["sent_at"])
                    print(f"{self.clock()} read {reminder['name']!r}: {reminder['text']} (due {due}, sent {sent})")
                    return reminder
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.05)


async def plan(planner: Planner) -> list[str]:
    """Send the commands, read the reminders as they come, then check that no other one comes."""
    for command in COMMANDS:
        await planner.send("alice", command)
    names: list[str] = []
    while len(names) < len(EXPECTED) and (reminder := await planner.reminder()) is not None:
        names.append(reminder["name"])
    if await planner.reminder(timeout=0.5) is not None:
        names.append("(unexpected)")
    return names


def on_free_ports(module: Path, folder: Path) -> Path:
    """A copy of module.yaml whose ingress and egress listen on ports the OS picks."""
    copy = folder / module.name
    copy.write_text(module.read_text().replace("port: 8090", "port: 0").replace("port: 8091", "port: 0"))
    return copy


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="reminders-") as folder:
        module = on_free_ports(HERE / "module.yaml", Path(folder))
        runtime = Runtime([str(module)], functions, Options(state_dir=Path(folder)))
        print("starting the local runtime ...")
        await runtime.start()
        try:
            ingress, egress = (f"http://127.0.0.1:{runtime.ports[role]}" for role in ("ingress", "egress"))
            async with aiohttp.ClientSession() as session:
                names = await plan(Planner(session, ingress, egress))
        finally:
            await runtime.stop()
    if names != EXPECTED:
        print(f"error: expected the reminders {EXPECTED}, got {names}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
