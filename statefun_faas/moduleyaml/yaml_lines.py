"""YAML nodes that remember their file, line and field, so module.yaml errors can name all three."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NoReturn

import yaml
from yaml.constructor import SafeConstructor

from statefun_faas.errors import StatefunFaasError

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Bounds on what a module file may make the parser do: a module.yaml is a few KB, a few levels deep.
MAX_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_ALIASED_NODES = 10_000  # values reached through aliases (*name, <<: *name), counted as if written out
_TAG = "tag:yaml.org,2002:"
_SCALAR_NAMES = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true/false",
    "null": "nothing (null)",
    "timestamp": "a timestamp",
}


class ModuleError(StatefunFaasError, ValueError):
    """A module.yaml file is unreadable or invalid; names the file, line and field at fault.

    ``str(error)`` reads ``FILE:LINE: FIELD: problem; how to fix``.
    """

    def __init__(self, file: str, line: int | None, field: str, problem: str, fix: str = "") -> None:
        self.file = file
        self.line = line
        self.field = field
        self.problem = problem
        self.fix = fix
        where = file if line is None or not file else f"{file}:{line}"
        message = f"{problem}; {fix}" if fix else problem
        super().__init__(": ".join(part for part in (where, field, message) if part))


def describe(node: yaml.Node) -> str:
    """How a node reads in an error message: ``a list``, ``an integer``, ..."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return _SCALAR_NAMES.get(node.tag.removeprefix(_TAG), f"a value tagged {node.tag}")


def read_documents(text: str, file: str) -> list[Located]:
    """Compose every non-empty document of a YAML stream; syntax errors and the bounds become ModuleError."""
    if len(text) > MAX_BYTES:
        raise too_large(file)
    try:
        _check_bounds(yaml.parse(text, Loader=_Loader), file)
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, file) from None
    except yaml.YAMLError as error:  # reader errors (bad characters) carry no mark
        raise ModuleError(file, None, "", f"not valid YAML: {error}", "fix the file's encoding") from None
    return [Located(node, file, "") for node in nodes if not _is_null(node)]


def too_large(file: str) -> ModuleError:
    return ModuleError(
        file, None, "", f"is larger than {MAX_BYTES >> 20} MiB", "a module.yaml is a few KB: check the path"
    )


def _check_bounds(events: Iterator[yaml.Event], file: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH and aliases that expand past MAX_ALIASED_NODES, from the events alone:
    before anything is composed, so an alias bomb (anchors of anchors, ``<<`` merges) costs no more than its text.
    """
    sizes: dict[str, int] = {}  # anchor -> values in its node, aliases expanded
    open_nodes: list[list[Any]] = []  # [values so far, anchor] of each collection being read
    aliased = 0
    for event in events:
        size = 0
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_nodes) >= MAX_DEPTH:
                _bound_error(
                    file,
                    event,
                    f"nests deeper than {MAX_DEPTH} levels",
                    "a module.yaml needs a few levels: remove the extra nesting",
                )
            open_nodes.append([1, event.anchor])
            continue
        if isinstance(event, yaml.ScalarEvent):
            size, anchor = 1, event.anchor
        elif isinstance(event, yaml.CollectionEndEvent):
            size, anchor = open_nodes.pop()
        elif isinstance(event, yaml.AliasEvent):
            if any(event.anchor == node[1] for node in open_nodes):
                _bound_error(file, event, f"alias *{event.anchor} is inside its own anchor", "remove the loop")
            size, anchor = sizes.get(event.anchor or "", 0), None  # an undefined alias: the composer says so
            aliased += size
            if aliased > MAX_ALIASED_NODES:
                problem = f"aliases expand to more than {MAX_ALIASED_NODES} values"
                _bound_error(file, event, problem, "write the repeated parts out, or share fewer of them by alias")
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if open_nodes:
            open_nodes[-1][0] += size


def _bound_error(file: str, event: yaml.Event, problem: str, fix: str) -> NoReturn:
    mark = event.start_mark
    raise ModuleError(file, None if mark is None else mark.line + 1, "", problem, fix)


def _syntax_error(error: yaml.MarkedYAMLError, file: str) -> ModuleError:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = " ".join(part for part in (error.context, error.problem) if part)
    fix = "fix the YAML syntax there (keys end with ':', nested blocks are indented with spaces)"
    if "tab" in problem or "'\\t'" in problem:
        fix = "indent with spaces; YAML does not allow tabs"
    return ModuleError(file, line, "", f"not valid YAML: {problem}", fix)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "null"


class Located:
    """One YAML node plus the file, 1-based line and dotted field path it was read from."""

    __slots__ = ("_members", "file", "line", "node", "path")

    def __init__(self, node: yaml.Node, file: str, path: str, line: int | None = None) -> None:
        self.node = node
        self.file = file
        self.path = path
        self.line = node.start_mark.line + 1 if line is None else line
        self._members: dict[str, Located] | None = None

    @property
    def source(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.node, yaml.MappingNode)

    @property
    def is_null(self) -> bool:
        return _is_null(self.node)

    def fail(self, problem: str, fix: str) -> NoReturn:
        raise ModuleError(self.file, self.line, self.path, problem, fix)

    def expected(self, what: str, fix: str = "") -> NoReturn:
        self.fail(f"expected {what}, got {describe(self.node)}", fix or f"write {what} here")

    def members(self) -> dict[str, Located]:
        """The entries of a mapping by key; each is located at its key's line."""
        if self._members is None:
            self._members = self._read_members()
        return self._members

    def _read_members(self) -> dict[str, Located]:
        if not isinstance(self.node, yaml.MappingNode):
            self.expected("a mapping", "write nested `key: value` lines indented under this field")
        own: dict[str, Located] = {}
        merged: dict[str, Located] = {}
        for key_node, value_node in self.node.value:
            if key_node.tag == _TAG + "merge":  # `<<: *anchor`: the anchor's entries, own keys win
                for source in self._merge_sources(key_node, value_node):
                    for key, member in source.members().items():
                        merged.setdefault(key, member)
                continue
            key = self._key(key_node)
            line = key_node.start_mark.line + 1
            if key in own:
                fix = "remove one"
                raise ModuleError(
                    self.file, line, self.child_path(key), f"appears twice (first on line {own[key].line})", fix
                )
            own[key] = Located(value_node, self.file, self.child_path(key), line)
        return {**merged, **own}

    def _merge_sources(self, key_node: yaml.Node, value_node: yaml.Node) -> list[Located]:
        nodes = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        line = key_node.start_mark.line + 1
        sources = [Located(node, self.file, self.path, line) for node in nodes]
        for source in sources:
            if not source.is_mapping:
                source.expected("a mapping to merge", "merge an anchored mapping: <<: *name")
        return sources

    def _key(self, key_node: yaml.Node) -> str:
        if not isinstance(key_node, yaml.ScalarNode):
            line = key_node.start_mark.line + 1
            raise ModuleError(self.file, line, self.path, "a key must be plain text", "write the key as a plain word")
        return str(key_node.value)

    def child_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str) -> Located | None:
        """A mapping entry, or None when it is absent or written as null."""
        found = self.members().get(key)
        return None if found is None or found.is_null else found

    def require(self, key: str, fix: str) -> Located:
        found = self.get(key)
        if found is None:
            raise ModuleError(self.file, self.line, self.child_path(key), "is missing", fix)
        return found

    def items(self) -> Iterator[Located]:
        if not isinstance(self.node, yaml.SequenceNode):
            self.expected("a list", "write one `- item` line per entry")
        for index, item in enumerate(self.node.value):
            yield Located(item, self.file, f"{self.path}[{index}]")

    def raw(self) -> str:
        """The scalar exactly as written (Jackson's ``asText``), for durations and dates."""
        if not isinstance(self.node, yaml.ScalarNode) or self.is_null:
            self.expected("a single value")
        return str(self.node.value)

    def text(self) -> str:
        if not isinstance(self.node, yaml.ScalarNode) or self.node.tag != _TAG + "str":
            self.expected("a string")
        value = str(self.node.value)
        if not value.strip():
            self.fail("is empty", "write a value or remove the field")
        return value

    def integer(self) -> int:
        """An integer; a quoted one like "100" is read too, as Jackson coerces it."""
        value = self.plain()
        if isinstance(value, str) and value.strip().lstrip("-").isascii():
            try:
                return int(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int):
            self.expected("an integer")
        return value

    def plain(self) -> Any:
        """The node as plain Python values (dicts, lists, strings, numbers)."""
        try:
            return SafeConstructor().construct_document(self.node)
        except yaml.MarkedYAMLError as error:
            self.fail(f"cannot be read: {error.problem}", "write plain YAML values here")
