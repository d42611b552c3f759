"""A Dockerfile's steps run without a container engine: each stage's file system is a folder, the
"base image" is the Python environment of ``env`` (a fresh venv first on PATH).

This proves what a build would do with the same files (the COPY sources, the RUN commands, the
command the image starts) on a machine that has no daemon and no registry to pull the base from.
RUN commands must only use paths relative to their WORKDIR, which is what makes them portable here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Image:
    """The last stage: its root folder, WORKDIR, the command it starts (ENTRYPOINT + CMD), seconds of RUN steps."""

    root: Path
    workdir: Path
    command: list[str]
    seconds: float


def venv_environment(scripts: Path) -> dict[str, str]:
    """The machine's pip settings (its index serves what RUN steps install), the venv's ``scripts`` first on PATH."""
    skip = ("PYTHON", "VIRTUAL_ENV", "STATEFUN_FAAS_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(skip)}
    env.update(PATH=f"{scripts}{os.pathsep}{env.get('PATH', '')}", PYTHONUNBUFFERED="1")
    return env


def steps(dockerfile: Path) -> list[tuple[str, str]]:
    """(instruction, rest of the line) for each instruction; comments and blank lines left out."""
    lines = [line for line in dockerfile.read_text().splitlines() if line and not line.startswith("#")]
    return [(line.split(" ", 1)[0], line.split(" ", 1)[1]) for line in lines]


def sh(command: str, cwd: Path, env: dict[str, str]) -> float:
    """Run a shell command as a build step does; the seconds it took."""
    started = time.monotonic()
    done = subprocess.run(["sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return time.monotonic() - started


def _command(rest: str) -> list[str]:
    """The exec form (a JSON list) as it is, the shell form run by ``sh -c`` as Docker does."""
    if rest.startswith("["):
        words: list[str] = json.loads(rest)
        return words
    return ["sh", "-c", rest]


def _copy(rest: str, context: Path, stages: dict[str, Path], root: Path, workdir: Path) -> None:
    words = rest.split()
    flags = dict(word[2:].split("=", 1) for word in words if word.startswith("--"))
    *sources, destination = [word for word in words if not word.startswith("--")]
    origin = stages[flags["from"]] if "from" in flags else context
    base = root / destination.lstrip("/") if destination.startswith("/") else workdir / destination
    for source in sources:
        path = origin / source.lstrip("/")
        if path.is_dir():  # its contents go into the destination, as COPY does
            shutil.copytree(path, base, symlinks=True, dirs_exist_ok=True)  # a link stays a link, as COPY keeps it
        else:
            target = base / path.name if destination.endswith("/") else base
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def build(context: Path, folder: Path, env: dict[str, str]) -> Image:
    """Run the steps of ``context``/Dockerfile; stage N's root is ``folder``/N (``env`` takes the ENV lines)."""
    stages: dict[str, Path] = {}
    root = workdir = folder
    entrypoint: list[str] = []
    cmd: list[str] = []
    seconds = 0.0
    for instruction, rest in steps(context / "Dockerfile"):
        if instruction == "FROM":
            root = workdir = folder / str(len(stages))
            root.mkdir(parents=True)
            stages[rest.split(" AS ")[1] if " AS " in rest else str(len(stages))] = root
        elif instruction == "WORKDIR":
            workdir = root / rest.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "ENV":
            env.update(pair.partition("=")[::2] for pair in rest.split())
        elif instruction == "COPY":
            _copy(rest, context, stages, root, workdir)
        elif instruction == "RUN":
            seconds += sh(rest, workdir, env)
        elif instruction == "ENTRYPOINT":
            entrypoint = _command(rest)
        elif instruction == "CMD":
            cmd = _command(rest)
        else:
            assert instruction in {"ARG", "USER", "EXPOSE", "VOLUME"}, instruction
    return Image(root, workdir, entrypoint + cmd, seconds)
