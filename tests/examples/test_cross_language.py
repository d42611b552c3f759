"""examples/cross_language: over real HTTP, and its stored bytes decoded by hand as README.md documents them,
the way a function written with another StateFun SDK would read them."""

from __future__ import annotations

import asyncio
import json
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from statefun_faas import DoubleType
from statefun_faas.pytest_plugin import RunningRuntime
from statefun_faas.runtime.records import Address
from statefun_faas.runtime.store.database import Store
from tests.deploy.test_docs import blocks
from tests.examples.support import EXAMPLES, example_module, running
from tests.runtime.processes import put, take
from tests.venvs import ensure_venv

FOLDER = EXAMPLES / "cross_language"
main = example_module("cross_language", "main")
xlang = example_module("cross_language", "functions")


async def reports(ingress: str, egress: str) -> list[Any]:
    async with aiohttp.ClientSession() as session:
        return [await main.report(session, ingress, egress, *reading) for reading in main.READINGS]


def stored(state_dir: Path, address: str, until: Callable[[dict[str, bytes]], bool]) -> dict[str, bytes]:
    """The state of one address once ``until`` holds (a reply may still be on its way)."""
    typename, _, id_ = address.rpartition("/")
    store = Store.read_only(state_dir)
    try:
        for _ in range(100):
            found = store.state(Address(typename, id_), time.time())
            values = {name: value.data or b"" for name, value in found.items()}
            if until(values):
                return values
            time.sleep(0.05)
    finally:
        store.close()
    raise AssertionError(f"{address}: {values}")


@pytest.mark.slow  # two processes
def test_over_http_and_the_stored_bytes(tmp_path: Path) -> None:
    with running("cross_language", str(FOLDER / "functions.py"), tmp_path) as app:
        found = asyncio.run(reports(app.ingress, app.egress))
        state_dir = tmp_path / "state"
        sensor = stored(state_dir, "xlang/sensor/kitchen-1", lambda v: v.get("too_warm") == b"\x08\x01")
        room = stored(state_dir, "xlang/room/kitchen", lambda v: "reports" in v)
    assert [(report["room"], report["average"]) for report in found] == main.EXPECTED
    # the encodings of README.md's table, byte by byte
    assert sensor["room"] == b"\x0a\x07kitchen"
    assert sensor["readings"] == b"\x09" + struct.pack("<q", 2)
    assert sensor["total"] == b"\x09" + struct.pack("<d", 44.0)
    assert sensor["peak"] == b"\x0d" + struct.pack("<f", 22.5)
    assert sensor["too_warm"] == b"\x08\x01"
    report = xlang.SensorReport.FromString(sensor["last_report"])
    assert (report.sensor, report.celsius, report.readings) == ("kitchen-1", 22.5, 2)
    assert report.taken_at.seconds > 0
    assert room["reports"] == b"\x0d" + struct.pack("<i", 3)
    assert json.loads(room["latest"]) == {"kitchen-1": 22.5, "kitchen-2": 30.0}


def test_the_main_writes_doubles_as_the_sdk_does() -> None:
    for value in (0.5, -3.25, 21.5):
        assert main.double_value(value) == DoubleType.serializer().serialize(value)


def test_production_module_on_local_kafka_topics(statefun_runtime: Callable[..., RunningRuntime]) -> None:
    app = statefun_runtime(FOLDER / "module.prod.yaml", xlang.production, local_io=True, local_io_port=0)
    topics = app.runtime.ports["local-io"]
    assert put(topics, "readings/attic-1", main.double_value(31.0))
    (record,) = take(topics, "rooms", 1)
    assert json.loads(record)["sensors"] == {"attic-1": 31.0}


@pytest.mark.slow  # the pinned generator's virtual environment
def test_the_readme_regenerates_the_committed_code(tmp_path: Path) -> None:
    """examples/cross_language/README.md's commands, with the cached venv of the pinned generator as .protogen."""
    (block,) = [b for b in blocks(FOLDER / "README.md") if b.marker == "run-by: tests/examples/test_cross_language.py"]
    create, *generate = block.text.splitlines()
    pins = subprocess.run(
        [sys.executable, str(EXAMPLES.parent / "protos" / "generate.py"), "--requirements"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert create == "python -m venv .protogen && .protogen/bin/pip install $(python protos/generate.py --requirements)"
    work = tmp_path / "work"
    shutil.copytree(FOLDER, work / "examples" / "cross_language", ignore=shutil.ignore_patterns("*_pb2.py*"))
    (work / ".protogen").symlink_to(ensure_venv("protogen", pins).parent.parent)
    subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(generate)], cwd=work, check=True)
    for name in ("sensors_pb2.py", "sensors_pb2.pyi"):
        regenerated = work / "examples" / "cross_language" / name
        assert regenerated.read_bytes() == (FOLDER / name).read_bytes(), f"regenerate {name} (README.md)"
