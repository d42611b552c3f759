"""What goes into a deployment package besides the dependencies: statefun-faas and the user's module."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import sys
from pathlib import Path

import statefun_faas
from statefun_faas.deploy import DeployError

# Parts of statefun_faas a function package never imports (the local runtime, these tools).
_NOT_SHIPPED = {"runtime", "deploy", "cli", "moduleyaml"}
_RESERVED = {"statefun_faas", "statefun_handler", "google"}


def core_requirements() -> list[str]:
    """statefun-faas's own requirements, without any extra (the Lambda runtime brings its own client)."""
    requires = importlib.metadata.requires("statefun-faas") or []
    return [requirement for requirement in requires if "extra ==" not in requirement]


def copy_statefun_faas(root: Path) -> None:
    """The installed statefun_faas package (core and adapters), sources only."""
    package = Path(statefun_faas.__file__).parent
    _copy_sources(package, root / "statefun_faas", skip={*_NOT_SHIPPED, "adapters"})
    _copy_sources(_adapters_folder(package), root / "statefun_faas" / "adapters", skip=set())


def _adapters_folder(package: Path) -> Path:
    for folder in (package / "adapters", package.parent / "adapters"):  # installed; a source checkout
        if (folder / "__init__.py").is_file():
            return folder
    raise DeployError(f"statefun_faas.adapters not found next to {package}; reinstall statefun-faas")


def _copy_sources(source: Path, destination: Path, skip: set[str]) -> None:
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source)
        if relative.parts[0] not in skip and "__pycache__" not in relative.parts:
            _copy(path, destination / relative)


def copy_target(location: str, attribute: str, root: Path) -> tuple[str, str]:
    """Copy the module holding the registry; return (module name to import, attribute).

    The registry must be imported already (statefun_faas.cli.target.load_functions): the files next to a
    file target that it imported are copied with it.
    """
    target = f"{location}:{attribute}"
    path = Path(location)
    if location.endswith(".py") or path.is_file():
        module = _module_name(path.stem, target)
        _copy(path, root / f"{module}.py")
        for neighbour in _neighbours(path):
            _copy(neighbour, root / f"{_module_name(neighbour.stem, str(neighbour))}.py")
        return module, attribute
    top = _module_name(location.split(".")[0], target)
    spec = importlib.util.find_spec(top)
    if spec is None or (spec.origin is None and not spec.submodule_search_locations):
        raise DeployError(f"{target!r}: can not locate module {top!r} to copy it into the package")
    if spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            _copy_tree(Path(folder), root / top)
    else:
        _copy(Path(str(spec.origin)), root / f"{top}.py")
    return location, attribute


def _neighbours(path: Path) -> list[Path]:
    """The Python files next to ``path`` that loading it imported (its helpers, generated code)."""
    folder, itself = path.resolve().parent, path.resolve()
    found = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and file.endswith(".py"):
            candidate = Path(file).resolve()
            if candidate.parent == folder and candidate != itself:
                found.add(candidate)
    return sorted(found)


def _module_name(name: str, target: str) -> str:
    if not name.isidentifier() or name in _RESERVED:
        raise DeployError(f"{target!r}: {name!r} can not be a top-level module of the package; rename it")
    return name


def _copy_tree(source: Path, destination: Path) -> None:
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and "__pycache__" not in relative.parts and path.suffix != ".pyc":
            _copy(path, destination / relative)


def _copy(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination)  # follows links (editable installs link to the sources)
