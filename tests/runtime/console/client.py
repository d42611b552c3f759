"""The console's tests: a runtime with its console on loopback (the test app in-process), and an HTTP client
that keeps cookies and, when asked, does not follow redirects (urllib, called off the runtime's loop)."""

from __future__ import annotations

import asyncio
import http.cookiejar
import os
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from statefun_faas.runtime.app import Options, Runtime
from statefun_faas.runtime.console import ConsoleOptions
from statefun_faas.runtime.records import Address, Envelope, Value
from tests.runtime.console.app import HEALED_ENV, functions


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class Client:
    """A browser-like client of one console: cookies kept, redirects followed unless ``follow`` is False."""

    base: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def _open(self, request: urllib.request.Request, follow: bool) -> Answer:
        handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPCookieProcessor(self.jar)]
        if not follow:
            handlers.append(_NoRedirect())
        opener = urllib.request.build_opener(*handlers)
        try:
            with opener.open(request, timeout=10) as response:
                return Answer(response.status, dict(response.headers), response.read().decode())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read().decode())

    async def get(self, path: str, follow: bool = True, **headers: str) -> Answer:
        request = urllib.request.Request(self.base + path, headers=headers)
        return await asyncio.to_thread(self._open, request, follow)

    async def post(
        self, path: str, fields: Iterable[tuple[str, str]], origin: str | None = "own", follow: bool = True
    ) -> Answer:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if origin is not None:
            headers["Origin"] = self.base.rstrip("/") if origin == "own" else origin
        body = urlencode(list(fields)).encode()
        request = urllib.request.Request(self.base + path, data=body, headers=headers, method="POST")
        return await asyncio.to_thread(self._open, request, follow)


def put(port: int, address: str, body: str, typename: str = "console/Text") -> None:
    """A message through the playground ingress, as a user's client sends it."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/{address}",
        data=body.encode(),
        headers={"Content-Type": f"application/vnd.{typename}"},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


async def send(runtime: Runtime, address: str, *bodies: str) -> None:
    """Messages one after another through the ingress, then wait until every one is delivered."""
    for body in bodies:
        await asyncio.to_thread(put, runtime.ports["ingress"], address, body)
    await runtime.router.quiescent()


def waiting(runtime: Runtime, address: Address, *bodies: str) -> None:
    """Messages stored in an inbox without waking the address: they wait there (a real store, a real row)."""
    runtime.store.enqueue([Envelope(address, Value("console/Text", body.encode())) for body in bodies])


@asynccontextmanager
async def console_runtime(
    tmp_path: Path, console: ConsoleOptions | None = None, module: str | None = None, poll_s: float = 0.5
) -> AsyncIterator[tuple[Runtime, Client]]:
    """The test app in-process with playground ingress and egress on free ports and the console on a free port;
    the poison message is healed once ``tmp_path / "healed"`` exists."""
    os.environ[HEALED_ENV] = str(tmp_path / "healed")
    options = Options(
        state_dir=tmp_path / "state",
        playground_ports=None if module else (0, 0),
        console=console or ConsoleOptions(port=0),
        poll_s=poll_s,
    )
    runtime = Runtime([module] if module else [], functions, options)
    await runtime.start()
    try:
        yield runtime, Client(f"http://127.0.0.1:{runtime.ports['console']}")
    finally:
        await runtime.stop()
        os.environ.pop(HEALED_ENV, None)
