"""``statefun-faas package aws|gcp|azure|container``: a deployment package of a registry.

``aws``: the Lambda zip holds the dependencies (``pip install --target`` for the Lambda
platform, architecture and Python version, wheels only), the statefun-faas core and adapters,
the user's functions module and a handler module (``statefun_handler.handler``, the name the
templates under ``deploy/aws`` use). Every module is precompiled to a hash-based ``.pyc`` that
Python uses without checking the source: Lambda's code folder is read-only, so without them
every cold start compiles every imported module again.

``gcp``, ``azure``, ``container``: the platform installs the requirements itself, so the package
carries them as wheels for its Python and machine in ``vendor/`` (statefun-faas among them, built
from the installed sources: it is not on PyPI), a requirements.txt that pins each one and lets pip
look nowhere else (``--no-index --find-links vendor``), the user's module and the platform's entry
file (statefun_faas.deploy.platforms). A name ending in .zip is written as a zip, any other as a folder.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from statefun_faas.deploy import DeployError
from statefun_faas.deploy.lambda_platform import interpreter
from statefun_faas.deploy.platforms import PLATFORMS, Platform, platform_files
from statefun_faas.deploy.sources import copy_statefun_faas, copy_target, core_requirements
from statefun_faas.deploy.wheel import DISTRIBUTION, build_wheel, write_zip

HANDLER_MODULE = PLATFORMS["aws"].entry
LAMBDA_TASK_ROOT = "/var/task"
REQUIREMENTS = "requirements.txt"
VENDOR = "vendor"


def build(args: argparse.Namespace, location: str, attribute: str) -> Path:
    """Build the package of the registry ``attribute`` of ``location`` (imported already) and return its path.

    ``args`` holds the options of ``statefun-faas package`` (see statefun_faas.cli.parsers); unset
    ones take the platform's defaults.
    """
    platform = PLATFORMS[args.platform]
    args.output = args.output or platform.output
    args.python = args.python or platform.python
    args.arch = args.arch or platform.arches[0]
    if args.arch not in platform.arches:
        raise DeployError(f"{platform.name} runs on {' or '.join(platform.arches)}, not {args.arch}")
    if platform.name == "aws":
        return _lambda_zip(args, location, attribute, platform)
    _check_replaceable(Path(args.output))
    with tempfile.TemporaryDirectory(prefix="statefun-faas-package-") as work:
        root = Path(work) / "package"
        _vendor(root / VENDOR, Path(work) / "wheel", platform, args)
        code = _add_code(root, location, attribute, platform)
        for name, text in platform_files(platform, args.python, code).items():
            (root / name).write_text(text, encoding="utf-8")
        return _write(root, Path(args.output))


def _lambda_zip(args: argparse.Namespace, location: str, attribute: str, platform: Platform) -> Path:
    compiler = None if args.no_compile else interpreter(args.python, args.compile_python)
    with tempfile.TemporaryDirectory(prefix="statefun-faas-package-") as work:
        root = Path(work)
        _pip_install(root, args, platform)
        _progress("adding statefun-faas (core and adapters)")
        copy_statefun_faas(root)
        _add_code(root, location, attribute, platform)
        if compiler is not None:
            _compile(root, compiler, args.python)
        output = _zip(root, Path(args.output))
    if output.stat().st_size > 50 * 1000 * 1000:
        _progress("note: over 50 MB, so upload it to S3 (sam deploy and terraform's s3 variant do)")
    return output


def _add_code(root: Path, location: str, attribute: str, platform: Platform) -> list[str]:
    """Copy the user's module and write the entry module next to it; the top-level names of both."""
    before = set(root.iterdir())
    module, attribute = copy_target(location, attribute, root)
    code = sorted(path.name for path in set(root.iterdir()) - before)
    entry = root / f"{platform.entry}.py"
    if entry.exists():
        raise DeployError(f"{entry.name} is the {platform.name} package's entry file: rename your module {entry.stem}")
    call = f"{platform.attribute} = {platform.factory}({module}.{attribute})"
    _progress(f"adding {', '.join(code)} and {entry.name} ({call})")
    entry.write_text(platform.entry_source(module, attribute), encoding="utf-8")
    return sorted([*code, entry.name])


def _pip_install(root: Path, args: argparse.Namespace, platform: Platform) -> None:
    requirements = core_requirements()
    _progress(f"pip install {' '.join(requirements)} for python{args.python} {args.arch} (wheels only)")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--target", str(root), "--upgrade", "--no-compile", *_wheels_for(platform, args)]
    _run(command + requirements, "pip install")


def _vendor(vendor: Path, scratch: Path, platform: Platform, args: argparse.Namespace) -> None:
    """Our wheel and every wheel it needs on the platform into ``vendor``; requirements.txt next to it."""
    wheel = build_wheel(vendor, scratch)
    shown = f"{DISTRIBUTION}[{platform.extra}]"
    _progress(f"pip download {shown} for python{args.python} {args.arch} into {VENDOR}/ (wheels only)")
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    command += ["--dest", str(vendor), *_wheels_for(platform, args)]
    _run([*command, f"{wheel}[{platform.extra}]"], "pip download")
    (vendor.parent / REQUIREMENTS).write_text(requirements_text(vendor, platform), encoding="utf-8")


def _wheels_for(platform: Platform, args: argparse.Namespace) -> list[str]:
    """pip options: wheels only, for the platform's Python and machine, with the user's requirement files."""
    options = ["--implementation", "cp", "--python-version", args.python, "--only-binary=:all:"]
    for tag in platform.tags(args.python, args.arch):
        options += ["--platform", tag]
    for path in args.requirement:
        options += ["--requirement", path]
    return options


_WHEEL_NAME = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)-.*\.whl$")


def requirements_text(vendor: Path, platform: Platform) -> str:
    """A requirements.txt naming each wheel of ``vendor`` by its version, with pip told to look nowhere else."""
    pins = []
    for wheel in sorted(vendor.glob("*.whl")):
        found = _WHEEL_NAME.match(wheel.name)
        if found is None:
            raise DeployError(f"{wheel.name}: not a wheel file name")
        name = re.sub(r"[-_.]+", "-", found["name"]).lower()  # as the platforms' tools spell them
        extra = f"[{platform.extra}]" if name == DISTRIBUTION else ""
        pins.append((name, f"{name}{extra}=={found['version']}"))
    header = [
        f"# Written by `statefun-faas package {platform.name}`: every requirement is a wheel in {VENDOR}/,",
        "# so `pip install -r requirements.txt` needs no package index.",
        "--no-index",
        f"--find-links {VENDOR}",
    ]
    return "\n".join([*header, *(line for _, line in sorted(pins))]) + "\n"


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


def _write(root: Path, output: Path) -> Path:
    """The package as a zip (``output`` ends with .zip) or a folder, replacing one written before."""
    if output.suffix == ".zip":
        return _zip(root, output)
    if output.exists():
        shutil.rmtree(output)
    shutil.copytree(root, output)
    files = [path for path in output.rglob("*") if path.is_file()]
    _progress(f"wrote {output}/ ({len(files)} files, {sum(path.stat().st_size for path in files) / 1e6:.1f} MB)")
    return output


def _check_replaceable(output: Path) -> None:
    """A folder to write is new, empty or a package written before: nothing else gets replaced."""
    if output.suffix == ".zip" or not output.exists():
        return
    written = output / REQUIREMENTS
    if any(output.iterdir()) and not (written.is_file() and "statefun-faas package" in written.read_text()):
        raise DeployError(f"{output} exists and is no package written before: remove it or choose another -o")


def _zip(root: Path, output: Path) -> Path:
    write_zip(root, output)
    files = sum(1 for path in root.rglob("*") if path.is_file())
    _progress(f"wrote {output} ({files} files, {output.stat().st_size / 1e6:.1f} MB)")
    return output


def _progress(line: str) -> None:
    print(f"statefun-faas package: {line}", file=sys.stderr)
