"""Flink 1.16.2 with StateFun 3.3.0, assembled the way the ``apache/flink-statefun:3.3.0`` image is.

Maven Central does not serve ``flink-dist``, so Flink's ``lib/`` and ``plugins/`` (and
``bash-java-utils.jar``) come from PyPI's ``apache-flink-libraries`` sdist, and ``bin/`` and
``conf/`` from the ``apache-flink`` wheel (cp38 only; unpacked, never installed). Both are
fetched with ``pip download --require-hashes``. Then, as the image's Dockerfile does:
``lib/flink-table*`` removed, ``statefun-flink-distribution`` and ``statefun-flink-core`` (and the
netty-tcnative jar) added to ``lib/`` (from ``java/standalone``). The result lives in
``<cache>/engine/flink-1.16.2-statefun-3.3.0-<hash>``, built once under a file lock.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from functools import cache
from pathlib import Path
from typing import IO

from tests.engine.artifacts import engine_cache, maven_build
from tests.engine.processes import EngineSetupError
from tests.venvs import locked

FLINK_VERSION = "1.16.2"
STATEFUN_VERSION = "3.3.0"
LIBRARIES = (
    "apache-flink-libraries==1.16.2 --hash=sha256:68f4328b6109e178a63d7eac661fc1f1cd1b70f01a77cd1bbaf93512a76382ab"
)
WHEEL = "apache-flink==1.16.2 --hash=sha256:e458d6076c82d10d73a690c72bf7e9ff31a91be2c93b6addf8efa8b86284c3a3"
_COMPLETE = ".statefun-faas-complete"


@cache
def flink_home() -> Path:
    """FLINK_HOME of the assembled distribution (``bin/``, ``lib/``, ``plugins/``, ``conf/``)."""
    jars = maven_build().statefun_lib
    key = "\n".join([LIBRARIES, WHEEL, *(f"{jar.name} {jar.stat().st_size}" for jar in sorted(jars.glob("*.jar")))])
    home = (
        engine_cache()
        / f"flink-{FLINK_VERSION}-statefun-{STATEFUN_VERSION}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    )
    if not (home / _COMPLETE).exists():
        with locked(home.with_name(home.name + ".lock")):
            if not (home / _COMPLETE).exists():
                _assemble(home, jars)
    return home


def _pip_download(requirement: str, folder: Path, *options: str) -> Path:
    """``pip download`` one pinned, hash-checked file into ``folder``; its path."""
    pinned = requirement.split()[0]  # name==version
    found = [p for p in folder.glob("*") if p.name.replace("_", "-").startswith(pinned.replace("==", "-") + "-")]
    if found:
        return found[0]
    partial = folder / "partial"
    if partial.exists():
        shutil.rmtree(partial)  # left by an interrupted download
    partial.mkdir(parents=True)
    requirements = partial / "requirements.txt"
    requirements.write_text(requirement + "\n")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--disable-pip-version-check"]
    command += ["-d", str(partial), "-r", str(requirements), *options]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise EngineSetupError(
            f"could not download {pinned} from PyPI (`{' '.join(command)}`):\n{done.stdout}{done.stderr}"
        )
    (downloaded,) = (p for p in partial.iterdir() if p != requirements)
    return downloaded.rename(folder / downloaded.name)


def _assemble(home: Path, statefun_jars: Path) -> None:
    downloads = engine_cache() / "downloads"
    libraries = _pip_download(LIBRARIES, downloads, "--no-binary", ":all:")
    wheel = _pip_download(
        WHEEL, downloads, "--only-binary", ":all:", "--python-version", "3.8", "--platform", "manylinux1_x86_64"
    )
    partial = home.with_name(home.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    with tarfile.open(libraries) as archive:
        for member in archive.getmembers():
            inside = Path(*Path(member.name).parts[1:])  # below apache-flink-libraries-1.16.2/
            if member.isfile() and inside.parts[:2] in (("deps", "lib"), ("deps", "plugins"), ("deps", "bin")):
                source = archive.extractfile(member)
                assert source is not None
                _write(partial / Path(*inside.parts[1:]), source)
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            inside = Path(info.filename)
            if not info.is_dir() and inside.parts[:2] in (("pyflink", "bin"), ("pyflink", "conf")):
                with archive.open(info) as source:
                    _write(partial / Path(*inside.parts[1:]), source)
    for script in (partial / "bin").glob("*"):
        script.chmod(0o755)
    for table in (partial / "lib").glob("flink-table*"):
        table.unlink()  # as the image does
    for jar in statefun_jars.glob("*.jar"):
        shutil.copy2(jar, partial / "lib" / jar.name)
    (partial / "log").mkdir()
    if (
        not (partial / "lib" / f"flink-dist-{FLINK_VERSION}.jar").exists()
        or not (partial / "bin" / "config.sh").exists()
    ):
        raise EngineSetupError(f"{libraries.name} or {wheel.name} lacks flink-dist or bin/config.sh: unexpected layout")
    if home.exists():
        shutil.rmtree(home)
    partial.rename(home)
    (home / _COMPLETE).write_text(f"assembled by process {os.getpid()}\n")


def _write(target: Path, source: IO[bytes]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as sink:
        shutil.copyfileobj(source, sink)
