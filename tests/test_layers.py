"""The house's layering rules (ARCHITECTURE.md), checked on every import of every module.

A rule only holds if something fails when it is broken: every import statement counts, at the top of a
module, inside a function (a lazy import is still a dependency) and under ``if TYPE_CHECKING:`` (the
types still tie the parts together). Imports by name at run time (``importlib.import_module``, the CLI's
``COMMANDS`` table) are not seen; only the CLI uses them, and the CLI may import anything.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> its folder, relative to the checkout. statefun_faas/adapters is a link to adapters/: the walk of
# statefun_faas/ does not follow it, so the adapters are read once, under the name they are imported by.
SOURCES = {"statefun_faas": "statefun_faas", "statefun_faas.adapters": "adapters"}


@dataclass(frozen=True)
class Layering:
    """Parts of the code and which parts each may not import.

    A module belongs to the part with the longest prefix naming it (``statefun_faas.runtime.http.client`` is
    in ``statefun_faas.runtime.http``'s part, not ``statefun_faas.runtime``'s); modules no prefix names are
    outside this layering, and so are imports of them.
    """

    name: str
    parts: Mapping[str, tuple[str, ...]]
    may_not_import: Mapping[str, frozenset[str]]

    def part_of(self, module: str) -> str | None:
        named = [
            (len(prefix), part)
            for part, prefixes in self.parts.items()
            for prefix in prefixes
            if module == prefix or module.startswith(prefix + ".")
        ]
        return max(named)[1] if named else None


RUNTIME = "statefun_faas.runtime"

PARTS = Layering(
    "parts",
    parts={
        "core": ("statefun_faas",),  # the SDK, handler, wire, types, messages, storage, errors, redact, _proto
        "adapters": ("statefun_faas.adapters",),
        "cli": ("statefun_faas.cli",),
        "moduleyaml": ("statefun_faas.moduleyaml",),
        "deploy": ("statefun_faas.deploy",),
        "runtime": (RUNTIME,),
        "testing": ("statefun_faas.testing", "statefun_faas.pytest_plugin"),
    },
    may_not_import={
        "core": frozenset({"adapters", "runtime", "cli", "testing", "moduleyaml", "deploy"}),
        "adapters": frozenset({"runtime", "cli", "moduleyaml", "deploy", "testing"}),
        "runtime": frozenset({"adapters", "cli", "deploy", "testing"}),
        "moduleyaml": frozenset({"runtime", "adapters", "cli", "deploy", "testing"}),
        "deploy": frozenset({"runtime", "adapters", "cli", "testing"}),  # core and moduleyaml only
        # cli and testing are the tops: they may import anything
    },
)

RUNTIME_LAYERS = Layering(
    "runtime layers",
    parts={
        # records, defaults, supervisor, repeats, failpoints: a module of runtime/ outside the sub-packages starts here
        "base": (RUNTIME,),
        "http": (f"{RUNTIME}.http",),
        "store": (f"{RUNTIME}.store",),
        "engine": (f"{RUNTIME}.engine",),
        "invoke": (f"{RUNTIME}.invoke",),
        "io": (f"{RUNTIME}.io",),
        "console": (f"{RUNTIME}.console",),
        # metrics reads the router, the store and the valve when scraped, as app puts them together: a top part too
        "top": (f"{RUNTIME}.app", f"{RUNTIME}.watch", f"{RUNTIME}.metrics"),
    },
    may_not_import={
        "base": frozenset({"http", "store", "engine", "invoke", "io", "console", "top"}),
        # http and store are independent of each other: the engine never speaks HTTP, the HTTP code never stores
        "http": frozenset({"store", "engine", "invoke", "io", "console", "top"}),
        "store": frozenset({"http", "engine", "invoke", "io", "console", "top"}),
        "engine": frozenset({"http", "invoke", "io", "console", "top"}),  # invokers are handed in: see engine/router.py
        "invoke": frozenset({"io", "console", "top"}),
        "io": frozenset({"invoke", "console", "top"}),
        # the console looks at what the runtime holds (its store, router, module) and serves it on its own port;
        # it calls no function and takes no ingress, so it needs neither invoke nor io, and the runtime (top) hands
        # it itself (console/source.py describes what it reads)
        "console": frozenset({"invoke", "io", "top"}),
        # app and watch are the top (app hands watch what it watches); nothing else in the runtime imports them
    },
)

LAYERINGS = (PARTS, RUNTIME_LAYERS)


@dataclass(frozen=True)
class Import:
    """One imported name: where the statement is, as written, and the module it resolves to."""

    path: Path
    line: int
    text: str
    importer: str
    target: str


def modules(root: Path, sources: Mapping[str, str]) -> dict[str, tuple[Path, bool]]:
    """Every module of the sources: name -> (file, is a package). Linked folders are not followed."""
    found: dict[str, tuple[Path, bool]] = {}
    for package, folder in sources.items():
        top = root / folder
        for directory, _, files in os.walk(top):
            prefix = [package, *Path(directory).relative_to(top).parts]
            for name in sorted(f for f in files if f.endswith(".py")):
                stem = name.removesuffix(".py")
                module = ".".join(prefix if stem == "__init__" else [*prefix, stem])
                found[module] = (Path(directory, name), stem == "__init__")
    return found


def imports(found: Mapping[str, tuple[Path, bool]]) -> Iterator[Import]:
    """Every imported name of every module, relative imports resolved. ``from P import N`` imports the
    module ``P.N`` when there is one (``from statefun_faas.runtime import watch``), else ``P``."""
    for importer, (path, is_package) in sorted(found.items()):
        package = importer if is_package else importer.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(path, node.lineno, f"import {alias.name}", importer, alias.name)
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:  # relative: from the importer's package, one level up per dot past the first
                    parts = package.split(".")
                    source = ".".join([*parts[: len(parts) - node.level + 1], *filter(None, [node.module])])
                written = "." * node.level + (node.module or "")
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    target = submodule if submodule in found else source
                    yield Import(path, node.lineno, f"from {written} import {alias.name}", importer, target)


def violations(root: Path, sources: Mapping[str, str], layerings: tuple[Layering, ...]) -> list[str]:
    """One line per import that breaks a rule: file, line, the import, and the rule."""
    found = []
    for each in imports(modules(root, sources)):
        for layering in layerings:
            importer, target = layering.part_of(each.importer), layering.part_of(each.target)
            forbidden = layering.may_not_import.get(importer or "", frozenset())
            if target in forbidden:
                found.append(
                    f"{each.path.relative_to(root)}:{each.line}: `{each.text}` ({importer} -> {target}) breaks the "
                    f"{layering.name} rule: {importer} imports none of {', '.join(sorted(forbidden))}"
                )
    return found


def test_the_code_keeps_to_the_layers() -> None:
    broken = violations(ROOT, SOURCES, LAYERINGS)
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("layering", LAYERINGS, ids=lambda layering: layering.name)
def test_every_part_names_real_modules(layering: Layering) -> None:
    """A renamed folder must not leave a rule guarding nothing."""
    names = modules(ROOT, SOURCES)
    assert {"statefun_faas.handler", "statefun_faas.adapters.edge", f"{RUNTIME}.app"} <= names.keys()
    assert {layering.part_of(module) for module in names} >= layering.parts.keys()


# a small tree shaped like the real one, with only allowed imports
TREE = {
    "statefun_faas/__init__.py": "",
    "statefun_faas/handler.py": "from statefun_faas import types\n",
    "statefun_faas/types.py": "",
    "statefun_faas/cli/__init__.py": "from statefun_faas.runtime import app\nfrom statefun_faas.adapters import edge\n",
    "statefun_faas/runtime/__init__.py": "",
    "statefun_faas/runtime/app.py": "from . import watch\nfrom .io import playground\n",
    "statefun_faas/runtime/watch.py": "from statefun_faas.runtime.app import Runtime\n",
    "statefun_faas/runtime/records.py": "",
    "statefun_faas/runtime/http/__init__.py": "",
    "statefun_faas/runtime/http/client.py": "from ..records import Address\nfrom statefun_faas import types\n",
    "statefun_faas/runtime/engine/__init__.py": "",
    "statefun_faas/runtime/engine/router.py": "from ..records import Address\n",
    "statefun_faas/runtime/io/__init__.py": "",
    "statefun_faas/runtime/io/playground.py": "from ..engine.router import Router\nfrom ..http import client\n",
    "adapters/__init__.py": "",
    "adapters/edge.py": "from statefun_faas.handler import RequestReplyHandler\n",
    "adapters/asgi.py": "from .edge import Edge\n",
}


def _tree(root: Path, changes: Mapping[str, str]) -> None:
    for name, text in {**TREE, **changes}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "statefun_faas/adapters").symlink_to(root / "adapters")


def test_a_tree_of_allowed_imports_passes(tmp_path: Path) -> None:
    _tree(tmp_path, {})
    assert violations(tmp_path, SOURCES, LAYERINGS) == []


@pytest.mark.parametrize(
    ("path", "source", "found"),
    [
        pytest.param(
            "statefun_faas/handler.py",
            "def serve() -> None:\n    from statefun_faas.runtime.app import Runtime\n",
            "statefun_faas/handler.py:2: `from statefun_faas.runtime.app import Runtime` (core -> runtime) "
            "breaks the parts rule: core imports none of adapters, cli, deploy, moduleyaml, runtime, testing",
            id="lazy",
        ),
        pytest.param(
            "statefun_faas/types.py",
            "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from .adapters import edge\n",
            "statefun_faas/types.py:4: `from .adapters import edge` (core -> adapters) breaks the parts rule",
            id="type-checking-relative",
        ),
        pytest.param(
            "adapters/asgi.py",
            "import statefun_faas.cli\n",
            "adapters/asgi.py:1: `import statefun_faas.cli` (adapters -> cli) breaks the parts rule",
            id="adapter-to-cli",
        ),
        pytest.param(
            "statefun_faas/runtime/engine/router.py",
            "from ..http.client import HttpClient\n",
            "statefun_faas/runtime/engine/router.py:1: `from ..http.client import HttpClient` (engine -> http) "
            "breaks the runtime layers rule: engine imports none of console, http, invoke, io, top",
            id="engine-to-http",
        ),
        pytest.param(
            "statefun_faas/runtime/io/playground.py",
            "from statefun_faas.runtime import watch\n",
            "statefun_faas/runtime/io/playground.py:1: `from statefun_faas.runtime import watch` (io -> top) "
            "breaks the runtime layers rule",
            id="package-import-of-a-module",
        ),
    ],
)
def test_a_bad_import_is_reported(tmp_path: Path, path: str, source: str, found: str) -> None:
    _tree(tmp_path, {path: source})
    reported = violations(tmp_path, SOURCES, LAYERINGS)
    assert len(reported) == 1, reported
    assert reported[0].startswith(found)
