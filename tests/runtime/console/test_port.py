"""The console's port: tokens over real HTTP, loopback only without one, a taken port, module reloads, the CLI."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from statefun_faas.errors import ConfigurationError
from statefun_faas.runtime.app import Options, Runtime
from statefun_faas.runtime.console import ConsoleOptions, server
from statefun_faas.runtime.store.database import DB_NAME, Store
from tests.runtime.console.app import functions
from tests.runtime.console.client import Client, console_runtime
from tests.runtime.console.test_pages import cells
from tests.runtime.processes import cli

TOKEN = "c0ffee" * 8


def test_a_token_opens_the_console_once_and_a_cookie_keeps_it_open(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with console_runtime(tmp_path, ConsoleOptions(port=0, tokens=(TOKEN,))) as (_, client):
            assert (await client.get("/functions")).status == 401
            assert (await client.get("/functions?token=nope")).status == 401
            signed = await client.get(f"/functions?token={TOKEN}", follow=False)
            assert (signed.status, signed.headers["Location"]) == (303, "/functions")
            assert "HttpOnly" in signed.headers["Set-Cookie"]
            assert TOKEN not in signed.headers["Set-Cookie"]
            page = await client.get(f"/functions?token={TOKEN}")  # the redirect followed, with the cookie
            assert page.status == 200
            assert "Endpoints (module.yaml)" in page.text
            assert (await client.get("/dead-letters")).status == 200  # links work: the cookie goes along
            stranger = Client(client.base)
            assert (await stranger.get("/metrics")).status == 401
            assert (await stranger.get(f"/metrics?token={TOKEN}", follow=False)).status == 200  # scrapers: no redirect
            assert (await stranger.get("/metrics", Authorization=f"Bearer {TOKEN}")).status == 200
            assert (await stranger.get(f"/t/{TOKEN}/metrics", follow=False)).status == 200

    asyncio.run(scenario())


def test_without_a_token_other_host_names_are_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with console_runtime(tmp_path) as (runtime, client):
            port = runtime.ports["console"]
            assert (await client.get("/", Host=f"localhost:{port}")).status == 200
            rebound = await client.get("/", Host=f"attacker.example:{port}")
            assert rebound.status == 403
            assert "localhost only" in rebound.text

    asyncio.run(scenario())


def test_a_console_beyond_loopback_without_a_token_is_refused_before_the_state_folder_is_taken(
    tmp_path: Path,
) -> None:
    options = Options(state_dir=tmp_path / "state", console=ConsoleOptions(host="0.0.0.0", port=0))
    with pytest.raises(ConfigurationError, match="would open the console to other machines without a token"):
        Runtime([], functions, options)
    assert not (tmp_path / "state" / DB_NAME).exists()


def test_a_taken_default_port_moves_the_console_and_a_taken_chosen_port_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        monkeypatch.setattr(server, "DEFAULT_PORT", busy)

        async def scenario() -> None:
            async with console_runtime(tmp_path, ConsoleOptions()) as (runtime, client):
                assert runtime.ports["console"] not in (0, busy)
                assert (await client.get("/")).status == 200
            chosen = Options(state_dir=tmp_path / "other", playground_ports=(0, 0), console=ConsoleOptions(port=busy))
            runtime = Runtime([], functions, chosen)
            with pytest.raises(OSError, match=f"can not listen on 127.0.0.1:{busy} for the console.*--console-port"):
                await runtime.start()
            Store.in_directory(tmp_path / "other").close()  # the failed start let go of the state folder

        asyncio.run(scenario())


MODULE = """
kind: io.statefun.playground.v1/ingress
spec: {port: 0}
"""
ENDPOINT = """
---
kind: io.statefun.endpoints.v2/http
spec:
  functions: remote/*
  urlPathTemplate: http://127.0.0.1:9/{function.name}
"""


def test_module_reloads_are_listed(tmp_path: Path) -> None:
    module = tmp_path / "module.yaml"
    module.write_text(MODULE)

    async def scenario() -> None:
        async with console_runtime(tmp_path, module=str(module), poll_s=0.05) as (runtime, client):
            assert "none since the runtime started" in (await client.get("/functions")).text
            time.sleep(0.01)  # a new modification time
            module.write_text(MODULE + ENDPOINT)
            for _ in range(200):
                if runtime.reloads:
                    break
                await asyncio.sleep(0.02)
            page = await client.get("/functions")
            assert [row[1:] for row in cells(page.text) if row[0].endswith("remote/*")] == [
                ["http://127.0.0.1:9/{function.name}", "async", "1000", "120 s", "DROP", f"{module}:6"]
            ]
            reload = [row for row in cells(page.text) if len(row) == 6 and row[1] == "1"]
            assert reload
            assert reload[0][1:] == ["1", "1", "0", "remote/*", ""]

    asyncio.run(scenario())


def test_the_command_line_refuses_an_open_console_without_a_token(tmp_path: Path) -> None:
    target = str(Path(__file__).with_name("app.py"))
    env = {name: value for name, value in os.environ.items() if name != "STATEFUN_FAAS_TOKENS"}
    done = cli("dev", target, "--state", str(tmp_path / "s"), "--console-host", "0.0.0.0", env=env)
    assert done.returncode == 2
    assert "--console-host 0.0.0.0 would open the console to other machines without a token" in done.stderr
    assert "STATEFUN_FAAS_TOKENS" in done.stderr


def test_the_command_line_names_an_unusable_descriptor_file(tmp_path: Path) -> None:
    target = str(Path(__file__).with_name("app.py"))
    (tmp_path / "junk.pb").write_bytes(b"not a descriptor set")
    done = cli("dev", target, "--state", str(tmp_path / "s"), "--proto-descriptors", str(tmp_path / "junk.pb"))
    assert done.returncode == 2
    assert f"--proto-descriptors {tmp_path / 'junk.pb'} is no FileDescriptorSet" in done.stderr
