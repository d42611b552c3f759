"""statefun-faas as a wheel, built from the installed sources, for packages that pip installs on the platform.

It holds what a function needs (the core and the adapters, as ``package aws`` ships them) and
the installed distribution's version, requirements and extras, so ``statefun-faas[gcp]`` in a
requirements file resolves from it. Built here rather than by a build backend: no build
dependencies, no network, and the same result from a source checkout, an editable install or
an installed wheel.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import shutil
import zipfile
from pathlib import Path

from statefun_faas.deploy.sources import copy_statefun_faas

DISTRIBUTION = "statefun-faas"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_KEPT_METADATA = ("Requires-Python", "Provides-Extra", "Requires-Dist")
_WHEEL = "Wheel-Version: 1.0\nGenerator: statefun-faas package\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def build_wheel(folder: Path, sources: Path) -> Path:
    """Write ``statefun_faas-<version>-py3-none-any.whl`` into ``folder``; ``sources`` is a scratch folder."""
    copy_statefun_faas(sources)
    version = importlib.metadata.version(DISTRIBUTION)
    info = sources / f"statefun_faas-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(_metadata(version), encoding="utf-8")
    (info / "WHEEL").write_text(_WHEEL, encoding="utf-8")
    files = sorted(path for path in sources.rglob("*") if path.is_file())
    record = [f"{path.relative_to(sources).as_posix()},sha256={_digest(path)},{path.stat().st_size}" for path in files]
    record.append(f"{info.name}/RECORD,,")
    (info / "RECORD").write_text("\n".join(record) + "\n", encoding="utf-8")
    return write_zip(sources, folder / f"statefun_faas-{version}-py3-none-any.whl")


def write_zip(root: Path, output: Path) -> Path:
    """The files under ``root`` as the zip ``output``, the same bytes for the same files (fixed dates, sorted)."""
    files = sorted(path for path in root.rglob("*") if path.is_file())
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16  # readable by the platform's runtime user
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    shutil.move(partial, output)
    return output


def _metadata(version: str) -> str:
    installed = importlib.metadata.metadata(DISTRIBUTION)
    lines = ["Metadata-Version: 2.1", f"Name: {DISTRIBUTION}", f"Version: {version}"]
    lines += [f"{key}: {value}" for key in _KEPT_METADATA for value in installed.get_all(key) or []]
    return "\n".join(lines) + "\n"


def _digest(path: Path) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode("ascii")
