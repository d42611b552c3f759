"""What a Lambda Python runtime is: its pip platform tags, and an interpreter of its minor version."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

from statefun_faas.deploy import DeployError

# Lambda's Python runtimes: python3.11 runs on Amazon Linux 2 (glibc 2.26), python3.12 and
# later on Amazon Linux 2023 (glibc 2.34).
GLIBC = {"3.11": 26, "3.12": 34, "3.13": 34, "3.14": 34}
ARCHES = {"arm64": "aarch64", "x86_64": "x86_64"}
_LEGACY = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


def platform_tags(python: str, arch: str) -> list[str]:
    """pip ``--platform`` values of a Lambda runtime."""
    if python not in GLIBC:
        raise DeployError(f"Lambda has no python{python} runtime here; use one of {', '.join(GLIBC)}")
    return manylinux_tags(GLIBC[python], arch)


def manylinux_tags(glibc: int, arch: str) -> list[str]:
    """pip ``--platform`` values for Linux with glibc 2.``glibc``, newest first (pip does not expand one downwards)."""
    machine = ARCHES[arch]
    lowest = 17 if machine == "aarch64" else 5
    tags = []
    for minor in range(glibc, lowest - 1, -1):
        tags.append(f"manylinux_2_{minor}_{machine}")
        if minor in _LEGACY:
            tags.append(f"{_LEGACY[minor]}_{machine}")
    return tags


def interpreter(python: str, explicit: str | None = None) -> str:
    """A Python of the target's minor version, to compile .pyc files the runtime will accept."""
    candidates = [explicit] if explicit else _candidates(python)
    for candidate in candidates:
        if candidate and _version_of(candidate) == python:
            return candidate
    if explicit:
        raise DeployError(f"--compile-python {explicit} is not Python {python}; give a python{python} interpreter")
    raise DeployError(
        f"the .pyc files must be compiled by Python {python} (Lambda python{python} ignores others) and none was "
        f"found: install it (e.g. pyenv install {python}), pass --compile-python PATH, or --no-compile"
    )


def _candidates(python: str) -> list[str]:
    found = [sys.executable] if f"{sys.version_info[0]}.{sys.version_info[1]}" == python else []
    found.append(shutil.which(f"python{python}") or "")
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found += sorted(glob.glob(os.path.join(root, "versions", f"{python}.*", "bin", f"python{python}")), reverse=True)
    return found


def _version_of(executable: str) -> str | None:
    try:
        result = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None
