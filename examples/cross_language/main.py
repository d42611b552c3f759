"""Sensors and rooms end to end on the local runtime, then their state as another SDK would find it.

Runs the functions of functions.py in-process (as ``statefun-faas dev`` does) with this folder's
module.yaml on free ports. Readings go in through the playground ingress as
``io.statefun.types/double``, written byte by byte as any producer in any language would write
them; each room report is read from the egress. Then ``statefun-faas state`` shows every
stored value with its typename. Exits 0 when the reports are the expected ones.
"""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from functions import functions  # noqa: E402 (the example's own module, next to this file)

from statefun_faas.runtime.app import Options, Runtime  # noqa: E402

READINGS = [("kitchen-1", 21.5), ("kitchen-2", 30.0), ("kitchen-1", 22.5), ("hall-1", 19.0)]
EXPECTED = [("kitchen", 21.5), ("kitchen", 25.75), ("kitchen", 26.25), ("hall", 19.0)]


def double_value(celsius: float) -> bytes:
    """``io.statefun.types/double``: a DoubleWrapper message, tag 0x09 then 8 bytes little-endian."""
    return b"\x09" + struct.pack("<d", celsius)


async def report(session: aiohttp.ClientSession, ingress: str, egress: str, sensor: str, celsius: float) -> Any:
    """Send one reading and wait for the room report it causes."""
    headers = {"Content-Type": "application/vnd.io.statefun.types/double"}
    async with session.put(f"{ingress}/xlang/sensor/{sensor}", data=double_value(celsius), headers=headers) as answer:
        answer.raise_for_status()
    for _ in range(200):
        async with session.get(f"{egress}/rooms") as answer:
            if answer.status == 200:
                room_report = json.loads(await answer.read())
                print(f"{sensor} reads {celsius:g} °C -> room report {json.dumps(room_report)}")
                return room_report
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no room report after the reading of {sensor}")


def on_free_ports(module: Path, folder: Path) -> Path:
    """A copy of module.yaml whose ingress and egress listen on ports the OS picks."""
    copy = folder / module.name
    copy.write_text(module.read_text().replace("port: 8090", "port: 0").replace("port: 8091", "port: 0"))
    return copy


def show_state(state_dir: Path, *addresses: str) -> None:
    for address in addresses:
        print(f"state of {address}:")
        command = [sys.executable, "-m", "statefun_faas.cli", "state", address, "--state", str(state_dir)]
        shown = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        print("".join(f"  {line}\n" for line in shown.splitlines()), end="")


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="cross-language-") as folder:
        module = on_free_ports(HERE / "module.yaml", Path(folder))
        runtime = Runtime([str(module)], functions, Options(state_dir=Path(folder)))
        print("starting the local runtime ...")
        await runtime.start()
        try:
            ingress, egress = (f"http://127.0.0.1:{runtime.ports[role]}" for role in ("ingress", "egress"))
            async with aiohttp.ClientSession() as session:
                reports = [await report(session, ingress, egress, *reading) for reading in READINGS]
        finally:
            await runtime.stop()
        show_state(Path(folder), "xlang/sensor/kitchen-1", "xlang/room/kitchen")
    if [(r["room"], r["average"]) for r in reports] != EXPECTED:
        print(f"error: expected the room averages {EXPECTED}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
