"""``statefun-faas package aws``: the Lambda deployment zip.

The zip holds the dependencies (``pip install --target`` for the Lambda platform, architecture
and Python version, wheels only), the statefun-faas core and adapters, the user's functions
module and a handler module (``statefun_handler.handler``, the name the templates under
``deploy/aws`` use). Every module is precompiled to a hash-based ``.pyc`` that Python uses
without checking the source: Lambda's code folder is read-only, so without them every cold
start compiles every imported module again.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from statefun_faas.deploy import DeployError
from statefun_faas.deploy.lambda_platform import interpreter, platform_tags
from statefun_faas.deploy.sources import copy_statefun_faas, copy_target, core_requirements, handler_source

HANDLER_MODULE = "statefun_handler"
LAMBDA_TASK_ROOT = "/var/task"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def build(args: argparse.Namespace, location: str, attribute: str) -> Path:
    """Build the zip of the registry ``attribute`` of ``location`` (imported already) and return its path.

    ``args`` holds the options of ``statefun-faas package`` (see statefun_faas.cli.deploy).
    """
    compiler = None if args.no_compile else interpreter(args.python, args.compile_python)
    with tempfile.TemporaryDirectory(prefix="statefun-faas-package-") as work:
        root = Path(work)
        _pip_install(root, args)
        _progress("adding statefun-faas (core and adapters)")
        copy_statefun_faas(root)
        module, attribute = copy_target(location, attribute, root)
        _progress(f"adding {module} and {HANDLER_MODULE}.py (handler = lambda_handler({module}.{attribute}))")
        (root / f"{HANDLER_MODULE}.py").write_text(handler_source(module, attribute), encoding="utf-8")
        if compiler is not None:
            _compile(root, compiler, args.python)
        return _zip(root, Path(args.output))


def _pip_install(root: Path, args: argparse.Namespace) -> None:
    requirements = core_requirements()
    _progress(f"pip install {' '.join(requirements)} for python{args.python} {args.arch} (wheels only)")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--target", str(root), "--implementation", "cp", "--python-version", args.python]
    command += ["--only-binary=:all:", "--no-compile", "--upgrade"]
    for tag in platform_tags(args.python, args.arch):
        command += ["--platform", tag]
    for path in args.requirement:
        command += ["--requirement", path]
    _run(command + requirements, "pip install")


def _compile(root: Path, compiler: str, python: str) -> None:
    _progress(f"compiling .pyc (unchecked-hash) with Python {python}: {compiler}")
    command = [compiler, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    command += ["-s", str(root), "-p", LAMBDA_TASK_ROOT, str(root)]
    _run(command, "compileall")


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = "\n".join(line for line in (result.stderr + result.stdout).splitlines() if "is ignored" not in line)
        raise DeployError(f"{what} failed (exit {result.returncode}):\n{output.strip()}")


def _zip(root: Path, output: Path) -> Path:
    files = sorted(path for path in root.rglob("*") if path.is_file())
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16  # readable by the Lambda runtime user
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    shutil.move(partial, output)
    size = output.stat().st_size
    _progress(f"wrote {output} ({len(files)} files, {size / 1e6:.1f} MB)")
    if size > 50 * 1000 * 1000:
        _progress("note: over 50 MB, so upload it to S3 (sam deploy and terraform's s3 variant do)")
    return output


def _progress(line: str) -> None:
    print(f"statefun-faas package: {line}", file=sys.stderr)
