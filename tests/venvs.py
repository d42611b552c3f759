"""Virtual environments that tests and benchmarks create for tools that must not share ours.

The reference SDK pins ``protobuf<4`` and the proto generator pins its own versions, so each
lives in a venv of its own under a cache folder: ``$STATEFUN_FAAS_CACHE/venvs/<name>-<hash>``
(``~/.cache/statefun-faas`` by default), where the hash covers the requirements and the
interpreter. A venv is built once and reused; a file lock makes concurrent pytest processes
wait for the one that builds it, and a marker file tells a finished venv from a broken one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

_COMPLETE = ".statefun-faas-complete"


def cache_root() -> Path:
    """The folder under which the venvs live."""
    configured = os.environ.get("STATEFUN_FAAS_CACHE")
    root = Path(configured) if configured else Path.home() / ".cache" / "statefun-faas"
    return root / "venvs"


def venv_path(name: str, requirements: Sequence[str]) -> Path:
    """Where the venv ``name`` for ``requirements`` lives (it may not exist yet)."""
    key = "\n".join([sys.version, *sorted(requirements)])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    return cache_root() / f"{name}-{digest}"


def _python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on the file ``path`` (made if missing), held by one process at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(folder: Path, requirements: Sequence[str]) -> None:
    if folder.exists():
        shutil.rmtree(folder)  # left half-built by an interrupted run
    venv.EnvBuilder(with_pip=bool(requirements)).create(folder)
    if requirements:
        command = [str(_python(folder)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        result = subprocess.run([*command, *requirements], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"could not install {' '.join(requirements)} into {folder} (is PyPI reachable?):\n"
                f"{result.stdout}{result.stderr}"
            )
    (folder / _COMPLETE).write_text(f"built by process {os.getpid()}\n" + "".join(f"{r}\n" for r in requirements))


def _ready(folder: Path) -> bool:
    return (folder / _COMPLETE).exists() and _python(folder).exists()


def ensure_venv(name: str, requirements: Sequence[str]) -> Path:
    """Return the interpreter of a venv holding exactly ``requirements``, building it if needed."""
    folder = venv_path(name, requirements)
    if not _ready(folder):
        with locked(folder.with_name(folder.name + ".lock")):
            if not _ready(folder):
                _build(folder, requirements)
    return _python(folder)
