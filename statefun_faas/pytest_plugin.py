"""pytest fixtures for StateFun applications (registered through the ``pytest11`` entry point).

Nothing here imports the runtime until a fixture is used, so a core-only install loads no runtime
dependency:

- ``statefun_tester(functions)``: an in-memory :class:`statefun_faas.testing.FunctionTester`.
- ``statefun_runtime(module=..., functions=...)``: the local runtime on loopback, in a background
  thread, on free ports, with its state in ``tmp_path``; see :class:`RunningRuntime`.
"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from statefun_faas.functions import StatefulFunctions
    from statefun_faas.runtime.app import Runtime
    from statefun_faas.testing import FunctionTester


class RunningRuntime:
    """A runtime running in a background thread; talk to it over HTTP like a user would."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),), daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        try:
            await self.runtime.start()
        except BaseException as error:
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await self.runtime.stop()

    def close(self) -> None:
        if self._stop is not None and self._error is None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self._loop.close()

    def url(self, role: str) -> str:
        return f"http://127.0.0.1:{self.runtime.ports[role]}"

    def send(self, address: str, body: bytes | str, typename: str | None = None) -> None:
        """Send through the playground ingress; ``typename`` becomes ``Content-Type: application/vnd.<typename>``."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        request = urllib.request.Request(f"{self.url('ingress')}/{address}", data=data, method="PUT")
        if typename:
            request.add_header("Content-Type", f"application/vnd.{typename}")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def take(self, topic: str, count: int = 1, timeout: float = 10.0) -> list[bytes]:
        """Pop ``count`` records from an egress topic, waiting at most ``timeout`` seconds for them."""
        found: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url('egress')}/{topic}", timeout=10) as response:
                    found.append(response.read())
            except urllib.error.HTTPError as error:
                if error.code != 404:
                    raise
                time.sleep(0.02)
        return found


@pytest.fixture
def statefun_tester() -> Iterator[Callable[[StatefulFunctions], FunctionTester]]:
    from statefun_faas.testing import FunctionTester

    made: list[FunctionTester] = []

    def make(functions: StatefulFunctions) -> FunctionTester:
        made.append(FunctionTester(functions))
        return made[-1]

    yield make
    for tester in made:
        tester.close()


@pytest.fixture
def statefun_runtime(tmp_path: Path) -> Iterator[Callable[..., RunningRuntime]]:
    from statefun_faas.runtime.app import Options, Runtime

    made: list[RunningRuntime] = []

    def make(
        module: str | Path | None = None, functions: StatefulFunctions | None = None, **options: Any
    ) -> RunningRuntime:
        settings = {"state_dir": tmp_path / "statefun-state", **options}
        if module is None:
            settings.setdefault("playground_ports", (0, 0))
        made.append(RunningRuntime(Runtime([str(module)] if module else [], functions, Options(**settings))))
        return made[-1]

    yield make
    for running in made:
        running.close()
