"""``statefun-faas package gcp|azure|container``, proven offline the way each platform builds and starts it.

For each platform the conformance registry is packaged for this machine's Python, unpacked into
a fresh folder and installed into a fresh venv from what the package carries only: the
platform's own install command (``pip install -r requirements.txt``, or the Dockerfile's RUN
steps) with no pip configuration and a package index that does not answer. Then it is started
as the platform starts it (functions-framework ``--target statefun``; the Azure worker's
indexing of function_app.py; the Dockerfile's CMD with ``$PORT`` set) and answers the
conformance requests: every row of the status table. Each test prints the package's size and
the offline install's time.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import venv
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.adapters.conformance import CASES, MAX_BODY, MAX_INVOCATIONS, TOKENS, Case, check
from tests.adapters.support import call, free_port, running
from tests.deploy.dockerfile import build, sh, steps
from tests.deploy.module_cli import run_console

HOST = f"{sys.version_info[0]}.{sys.version_info[1]}"
ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "tests" / "adapters" / "conformance_functions.py"
AZURE_WORKER = Path(__file__).with_name("azure_worker.py")
DEAD_INDEX = "http://127.0.0.1:9/simple"  # nothing listens there: any look-up in an index fails


def _package(platform: str, tmp_path: Path, output: str) -> Path:
    path = tmp_path / output
    args = ["package", platform, f"{TARGET}:functions", "-o", str(path), "--python", HOST, "--arch", "x86_64"]
    result = run_console(args, cwd=tmp_path)
    assert result.code == 0, result.err
    return path


def _unpack(package: Path, folder: Path) -> int:
    """Unpack (or copy) the package into ``folder``; its size in bytes as shipped."""
    if package.suffix == ".zip":
        with zipfile.ZipFile(package) as archive:
            archive.extractall(folder)
        return package.stat().st_size
    shutil.copytree(package, folder)
    return sum(path.stat().st_size for path in package.rglob("*") if path.is_file())


def _environment(scripts: Path) -> dict[str, str]:
    """No pip configuration, an index that does not answer, the venv first on PATH; tokens and limits set."""
    skip = ("PIP_", "PYTHON", "VIRTUAL_ENV", "STATEFUN_FAAS_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(skip)}
    env.update(PATH=f"{scripts}{os.pathsep}{env.get('PATH', '')}", PIP_CONFIG_FILE=os.devnull)
    env.update(PIP_INDEX_URL=DEAD_INDEX, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONUNBUFFERED="1")
    env.update(STATEFUN_FAAS_TOKENS=",".join(TOKENS), STATEFUN_FAAS_MAX_BODY_BYTES=str(MAX_BODY))
    env.update(STATEFUN_FAAS_MAX_INVOCATIONS=str(MAX_INVOCATIONS))
    return env


def _fresh(platform: str, tmp_path: Path, output: str) -> tuple[Path, Path, dict[str, str], int]:
    """The package unpacked into a fresh folder, a fresh venv: (folder, venv's scripts, environment, size)."""
    size = _unpack(_package(platform, tmp_path, output), tmp_path / "unpacked")
    venv.EnvBuilder(with_pip=True).create(tmp_path / "venv")
    scripts = tmp_path / "venv" / "bin"
    return tmp_path / "unpacked", scripts, _environment(scripts), size


def _install(folder: Path, env: dict[str, str]) -> float:
    """The remote build's install: only from the package, then pip's consistency check (Google's buildpack runs it)."""
    seconds = sh("python -m pip install --no-cache-dir -r requirements.txt", folder, env)
    sh("python -m pip check", folder, env)
    return seconds


def _imports_from_the_venv(folder: Path, env: dict[str, str], scripts: Path) -> None:
    where = subprocess.run(
        ["python", "-c", "import statefun_faas; print(statefun_faas.__file__)"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(scripts.parent)), where


def _report(platform: str, size: int, seconds: float) -> None:
    print(f"\n{platform}: package {size / 1e6:.2f} MB, offline install {seconds:.1f} s")


def _conformance(port: int) -> None:
    for case in CASES:
        check(case, *call(port, case))


@pytest.mark.slow
def test_gcp_package_installs_offline_and_serves_under_functions_framework(tmp_path: Path) -> None:
    folder, scripts, env, size = _fresh("gcp", tmp_path, "source.zip")
    requirements = (folder / "requirements.txt").read_text().splitlines()
    assert requirements[2:4] == ["--no-index", "--find-links vendor"]
    assert [line for line in requirements if line.startswith("functions-framework==")]  # the buildpack looks for it
    _report("gcp", size, _install(folder, env))
    _imports_from_the_venv(folder, env, scripts)
    port = free_port()
    command = [str(scripts / "functions-framework"), "--target", "statefun", "--host", "127.0.0.1"]
    with running([*command, "--port", str(port)], tmp_path / "server.log", env, cwd=folder) as server:
        server.wait_for_port(port)
        _conformance(port)


def _azure_request(case: Case) -> dict[str, object]:
    query = f"?{case.query}" if case.query else ""
    headers = {**case.headers, "Content-Length": str(len(case.body))} if case.method == "POST" else {}
    return {
        "function": "statefun_health" if case.path == "/healthz" else "statefun",
        "method": case.method,
        "url": f"https://example.azurewebsites.net{case.path}{query}",
        "headers": headers,
        "body": base64.b64encode(case.body if case.method == "POST" else b"").decode("ascii"),
    }


def _trigger(binding: dict[str, Any]) -> tuple[str, str, list[str], str]:
    (trigger,) = [entry for entry in binding["bindings"] if entry["type"] == "httpTrigger"]
    return binding["scriptFile"], trigger["route"], trigger["methods"], str(trigger["authLevel"]).lower()


@pytest.mark.slow
def test_azure_package_installs_offline_and_answers_through_the_worker_indexing(tmp_path: Path) -> None:
    folder, scripts, env, size = _fresh("azure", tmp_path, "app.zip")
    assert json.loads((folder / "host.json").read_text())["version"] == "2.0"
    _report("azure", size, _install(folder, env))
    _imports_from_the_venv(folder, env, scripts)
    requests = json.dumps([_azure_request(case) for case in CASES])
    done = subprocess.run(
        [str(scripts / "python"), "-I", str(AZURE_WORKER)],
        cwd=folder,
        env=env,
        input=requests,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    indexed = {name: _trigger(binding) for name, binding in result["functions"].items()}
    assert indexed == {
        "statefun": ("function_app.py", "statefun", ["POST"], "function"),
        "statefun_health": ("function_app.py", "healthz", ["GET"], "anonymous"),
    }
    for case, answer in zip(CASES, result["answers"], strict=True):
        content_type = next((v for k, v in answer["headers"].items() if k.lower() == "content-type"), None)
        check(case, answer["status"], content_type, base64.b64decode(answer["body"]))


@pytest.mark.slow
def test_container_package_builds_offline_and_serves_on_port_until_sigterm(tmp_path: Path) -> None:
    context, scripts, env, size = _fresh("container", tmp_path, "container")
    instructions = dict(steps(context / "Dockerfile"))
    assert instructions["ARG"] == f"BASE=python:{HOST}-slim-bookworm"
    assert instructions["USER"].split(":")[0] not in {"0", "root"}
    image = build(context, tmp_path / "image", env)
    _report("container", size, image.seconds)
    _imports_from_the_venv(image.workdir, env, scripts)
    port = free_port()
    log = tmp_path / "server.log"
    with running(image.command, log, {**env, "PORT": str(port)}, cwd=image.workdir) as server:
        server.wait_for_port(port)
        _conformance(port)
        server.process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then ends by the signal it caught (exit 143 in a container)
        assert server.process.wait(timeout=15) in {0, -signal.SIGTERM}, server.output()[-3000:]
        assert "Finished server process" in server.output()


def test_gcp_and_azure_run_on_x86_64_only(tmp_path: Path) -> None:
    result = run_console(["package", "gcp", f"{TARGET}:functions", "--arch", "arm64"], cwd=tmp_path)
    assert result.code == 2
    assert "gcp runs on x86_64, not arm64" in result.err
    assert not list(tmp_path.iterdir())


def test_a_folder_that_is_no_package_is_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me\n")
    result = run_console(["package", "container", f"{TARGET}:functions", "-o", "mine"], cwd=tmp_path)
    assert result.code == 2, result.err
    assert "mine exists and is no package written before" in result.err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me\n"
