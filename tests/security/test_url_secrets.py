"""No token written into a function URL reaches a log record, stderr, the dead-letter table or a CLI output,
whatever form the URL carries it in and however the call fails: refused, 401, 500, or a module that does not load.

The runtime is real (in-process for the property, as processes for the fixed run), its functions sit behind the
shared Edge configured with the token, and the dead-letter table is read straight from SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import aiohttp
from aiohttp import web
from hypothesis import event, given, settings
from hypothesis import strategies as st

from statefun_faas import cli
from statefun_faas.adapters.edge import Edge
from statefun_faas.runtime.store.database import DB_NAME
from tests.fuzz.profiles import SETTINGS
from tests.runtime.apps import functions
from tests.runtime.processes import RuntimeProcess, free_port
from tests.runtime.processes import cli as run_cli
from tests.runtime.processes import put as put_sync
from tests.runtime.servers import PLAYGROUND_IO, FunctionServer, endpoint, in_thread, put, running
from tests.security.capture import all_logs

#: Every form a URL carries a token in; ``{host}`` is host:port, ``{token}`` the token as written in the URL.
FORMS = {
    "query": "http://{host}/fn/{{function.name}}?token={token}",
    "query, encoded key": "http://{host}/fn/{{function.name}}?%74oken={token}",
    "query, upper case": "http://{host}/fn/{{function.name}}?TOKEN={token}",
    "query, second": "http://{host}/fn/{{function.name}}?page=2&token={token}",
    "query, after ;": "http://{host}/fn/{{function.name}}?page=2;token={token}",
    "azure code": "http://{host}/api/{{function.name}}?code={token}",
    "path prefix": "http://{host}/t/{token}/{{function.name}}",
    "encoded path prefix": "http://{host}/%74/{token}/{{function.name}}",
    "password": "http://user:{token}@{host}/fn/{{function.name}}",
    "user": "http://{token}@{host}/fn/{{function.name}}",
    "fragment": "http://{host}/fn/{{function.name}}#{token}",
}
#: Mistakes that keep the module from loading: (what replaces host:port, what is appended to the URL).
DEFECTS = {
    "bad scheme": ("", ""),
    "name as host": ("{function.name}:8000", ""),
    "empty host": (":8000", ""),
    "port out of range": ("127.0.0.1:99999", ""),
    "token as port": ("127.0.0.1:{token}", ""),
    "unknown placeholder": ("", "/{function.id}"),
    "unbalanced brace": ("", "/{x"),
}
FAST = (
    "  transport:\n    type: io.statefun.transports.v1/okhttp\n"
    "    timeouts: {call: 600ms, connect: 200ms, read: 600ms, write: 600ms}\n"
)
#: What a message asks of the function: counted (200 once the token passes) or raising (500, retried).
MESSAGES = {"counted": ("test/counter/k", "x"), "raising": ("test/failing/k", "boom")}

tokens = st.text(st.characters(codec="utf-8"), min_size=8, max_size=24).map("Sx".__add__)


def url_for(form: str, host: str, token: str, defect: str | None = None) -> str:
    written = quote(token, safe="")
    if defect is None:
        return FORMS[form].format(host=host, token=written)
    other_host, tail = DEFECTS[defect]
    url = FORMS[form].format(host=other_host.replace("{token}", written) or host, token=written)
    if defect == "bad scheme":
        url = "htp" + url.removeprefix("http")
    return url.replace("/{function.name}", "/{function.name}" + tail, 1)


def module_text(url: str) -> str:
    return endpoint("test/*", "'" + url.replace("'", "''") + "'", FAST) + PLAYGROUND_IO


@dataclass
class TokenServer(FunctionServer):
    """The test functions behind the shared Edge, which accepts ``token`` where the adapters do."""

    token: str = ""

    def __post_init__(self) -> None:
        self.edge = Edge.create(self.functions, "asgi", tokens=[self.token])

    async def handle(self, request: web.Request) -> web.Response:
        answer = await self.edge.handle_async(request.method, request.path, request.query_string, request.read)
        return web.Response(status=answer.status, body=answer.body, headers={"Content-Type": answer.content_type})


async def _deliver(folder: Path, token: str, form: str, message: str, refused: bool) -> None:
    async with TokenServer(functions, token=token).serving() as server:
        host = f"127.0.0.1:{free_port() if refused else server.port}"
        async with running(folder, module_text(url_for(form, host, token))) as runtime:
            async with aiohttp.ClientSession() as session:
                assert await put(session, runtime.ports["ingress"], *MESSAGES[message]) == 200
            await asyncio.sleep(0.05)
            await runtime.router.quiescent()


def _cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return code, out.getvalue() + err.getvalue()


def _dead_letter_rows(folder: Path) -> str:
    with contextlib.closing(sqlite3.connect(folder / "state" / DB_NAME)) as db:
        return repr(db.execute("SELECT * FROM dead_letters").fetchall())


def assert_hidden(token: str, *outputs: str) -> None:
    for written in {token, quote(token, safe=""), quote(token)}:
        for output in outputs:
            assert written not in output, f"a token reached an output: {output[:2000]}"


@settings(SETTINGS, max_examples=max(SETTINGS.max_examples // 3, 10))
@given(
    token=tokens,
    form=st.sampled_from(list(FORMS)),
    defect=st.one_of(st.none(), st.none(), st.sampled_from(list(DEFECTS))),
    message=st.sampled_from(list(MESSAGES)),
    refused=st.booleans(),
)
def test_no_token_reaches_any_output(token: str, form: str, defect: str | None, message: str, refused: bool) -> None:
    event(f"defect {defect}" if defect else f"{message}, refused {refused}")
    with tempfile.TemporaryDirectory() as name, all_logs() as logs:
        folder = Path(name)
        if defect is not None:  # the module does not load: `run` prints why and exits
            (folder / "module.yaml").write_text(module_text(url_for(form, "127.0.0.1:1", token, defect)))
            code, printed = _cli("run", "--module", str(folder / "module.yaml"), "--state", str(folder / "state"))
            assert code == 2
            assert "spec.urlPathTemplate" in printed
            assert_hidden(token, printed, logs())
            return
        asyncio.run(_deliver(folder, token, form, message, refused))
        code, listing = _cli("dead-letters", "--state", str(folder / "state"))
        rows = _dead_letter_rows(folder)
        logged = logs()
    assert code == 0
    assert "endpoint test/* -> http://" in logged, "the URL was logged, redacted"
    if refused or message == "raising":
        assert "reason: POST http" in listing, "the URL reached the dead letters, redacted"
    assert_hidden(token, logged, listing, rows)


def test_no_token_reaches_the_output_of_real_processes(tmp_path: Path) -> None:
    token = "Sx-process-t0ken-%/@#&;=?"
    module, state = tmp_path / "module.yaml", str(tmp_path / "state")
    with in_thread(TokenServer(functions, token=token)) as server:
        documents = [
            endpoint(f"f{index}/*", "'" + url_for(form, f"127.0.0.1:{server.port}", token) + "'", FAST)
            for index, form in enumerate(FORMS)
        ]
        module.write_text("".join(documents) + PLAYGROUND_IO)
        runtime = RuntimeProcess.start(tmp_path / "run.log", "run", "--module", str(module), "--state", state)
        try:
            for index in range(len(FORMS)):  # each answered 401, or 404 once the token passes: all dead letters
                assert put_sync(runtime.ports["ingress"], f"f{index}/fn/k", b"x")
            deadline = time.monotonic() + 30
            while f"{len(FORMS)} dead letter(s)" not in (listing := run_cli("dead-letters", "--state", state).stdout):
                assert time.monotonic() < deadline, listing
        finally:
            runtime.stop()
    module.write_text(endpoint("f/*", "'" + url_for("password", "", token, "empty host") + "'"))
    refused = run_cli("run", "--module", str(module), "--state", state)
    assert refused.returncode == 2
    assert "has no host" in refused.stderr
    logged = runtime.log.read_text()
    assert logged.count("endpoint f") == len(FORMS)
    assert listing.count("reason: POST http://") == len(FORMS)
    assert_hidden(token, logged, listing, refused.stdout + refused.stderr, _dead_letter_rows(tmp_path))
