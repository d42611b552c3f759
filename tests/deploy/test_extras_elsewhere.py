"""The README's first command installs ``.[dev]``: on macOS (arm64), Windows and Linux arm64 too, not only on the
Linux x86_64 that CI runs. pip resolves the extras for each platform from PyPI's wheels (``--dry-run --platform``,
binary wheels only, nothing installed), with the markers of that platform: a requirement that publishes no wheel
for it (as atheris, Linux x86_64 only) fails the test, naming it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYTHON = "3.11"
#: (pip's platform tag, the markers' values there)
PLATFORMS = {
    "macos-arm64": ("macosx_11_0_arm64", {"sys_platform": "darwin", "platform_machine": "arm64", "os_name": "posix"}),
    "windows": ("win_amd64", {"sys_platform": "win32", "platform_machine": "AMD64", "os_name": "nt"}),
    "linux-arm64": (
        "manylinux2014_aarch64",
        {"sys_platform": "linux", "platform_machine": "aarch64", "os_name": "posix"},
    ),
}
pytestmark = pytest.mark.slow


def requirements(extra: str, where: dict[str, str]) -> list[str]:
    """What ``statefun-faas[extra]`` requires on the platform ``where`` describes: our own extras expanded, every
    marker evaluated there and dropped."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    environment = {**where, "python_version": PYTHON, "python_full_version": f"{PYTHON}.0", "extra": ""}

    def expand(name: str) -> list[str]:
        found = []
        for text in extras[name]:
            requirement = Requirement(text)
            if requirement.marker is not None and not Marker(str(requirement.marker)).evaluate(environment):
                continue
            if requirement.name == project["name"]:
                found += [item for own in sorted(requirement.extras) for item in expand(own)]
            else:
                requirement.marker = None
                found.append(str(requirement))
        return found

    return [*project["dependencies"], *expand(extra)]


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_the_dev_extra_resolves_from_wheels_on(platform: str, tmp_path: Path) -> None:
    tag, where = PLATFORMS[platform]
    wanted = requirements("dev", where)
    report = tmp_path / "report.json"
    command = [
        *(sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"),
        *("--only-binary=:all:", "--platform", tag, "--python-version", PYTHON, "--implementation", "cp"),
        *("--target", str(tmp_path / "target"), "--report", str(report), "-c", str(ROOT / "constraints.txt")),
        *wanted,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    missing = re.findall(r"No matching distribution found for (\S+)", result.stderr)
    assert result.returncode == 0, f"[dev] does not install on {platform}: no wheel for {missing}\n{result.stderr}"
    chosen = {canonicalize_name(item["metadata"]["name"]) for item in json.loads(report.read_text())["install"]}
    assert {"protobuf", "pytest", "playwright", "prometheus-client"} <= chosen
    assert "atheris" not in chosen  # Linux x86_64 only: left out by its marker
