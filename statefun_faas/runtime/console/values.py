"""A stored value shown by its type: primitives decoded (as the CLI does), protobuf messages as JSON where their
descriptor is known, JSON pretty-printed, other UTF-8 as text, anything else as hex.

Protobuf descriptors come from the process's default pool (in ``dev`` the user's modules are imported, and
with them their generated classes) and, optionally, a FileDescriptorSet file (``--proto-descriptors``,
written by ``protoc --include_imports --descriptor_set_out=FILE``): what ``run`` needs, as it imports no
user code. A file in the set whose imports the set lacks takes them from the default pool (the well-known
types are always there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError, Message

from statefun_faas.errors import ConfigurationError
from statefun_faas.runtime.values import PRIMITIVES, decode
from statefun_faas.types import PROTOBUF_NAMESPACE

MOST_SHOWN = 64 * 1024  # bytes of a value decoded and shown; a longer one is shown cut, as hex


@dataclass(frozen=True)
class Shown:
    """How a value reads: ``kind`` (primitive, protobuf, json, text, bytes or absent), the text, and a note."""

    kind: str
    text: str
    note: str = ""


class Decoder:
    """Shows values; ``pools`` are searched for protobuf descriptors in order."""

    def __init__(self, pools: tuple[descriptor_pool.DescriptorPool, ...] = ()) -> None:
        self.pools = (*pools, descriptor_pool.Default())

    @classmethod
    def with_descriptors(cls, path: str | Path | None) -> Decoder:
        return cls(() if path is None else (load_descriptor_set(Path(path)),))

    def show(self, typename: str, data: bytes | None) -> Shown:
        if data is None:
            return Shown("absent", "", "no value")
        if len(data) > MOST_SHOWN:
            return Shown("bytes", _hex(data[:MOST_SHOWN]), f"the first {MOST_SHOWN:,} of {len(data):,} bytes")
        if typename in PRIMITIVES:
            return Shown("primitive", decode(typename, data))
        if typename.startswith(PROTOBUF_NAMESPACE + "/"):
            return self._protobuf(typename.partition("/")[2], data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return Shown("bytes", _hex(data), f"{len(data):,} bytes")
        try:
            parsed = json.loads(text)
        except ValueError:
            return Shown("text", text)
        return Shown("json", json.dumps(parsed, indent=2, ensure_ascii=False))

    def _protobuf(self, full_name: str, data: bytes) -> Shown:
        message_class = self._message_class(full_name)
        if message_class is None:
            note = f"the descriptor of {full_name} is not known: give --proto-descriptors FILE"
            return Shown("bytes", _hex(data), note)
        try:
            message = message_class.FromString(data)
        except DecodeError as error:
            return Shown("bytes", _hex(data), f"not a valid {full_name}: {error}")
        return Shown("protobuf", json_format.MessageToJson(message, indent=2), full_name)

    def _message_class(self, full_name: str) -> type[Message] | None:
        for pool in self.pools:
            try:
                descriptor = pool.FindMessageTypeByName(full_name)
            except KeyError:
                continue
            return _class_of(descriptor)
        return None


def _class_of(descriptor: Any) -> type[Message]:
    get_class = getattr(message_factory, "GetMessageClass", None)  # protobuf 4.22 and later
    if get_class is not None:
        return get_class(descriptor)  # type: ignore[no-any-return]
    factory: Any = message_factory.MessageFactory(descriptor.file.pool)  # older: GetPrototype, removed since
    return factory.GetPrototype(descriptor)  # type: ignore[no-any-return]


def _hex(data: bytes) -> str:
    return " ".join(data[i : i + 4].hex() for i in range(0, len(data), 4))


def load_descriptor_set(path: Path) -> descriptor_pool.DescriptorPool:
    """A pool of the files of a FileDescriptorSet; ConfigurationError naming ``path`` when it is none."""
    try:
        files = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes()).file
    except OSError as error:
        raise ConfigurationError(f"--proto-descriptors {path}: can not read it ({error.strerror})") from None
    except DecodeError:
        raise ConfigurationError(
            f"--proto-descriptors {path} is no FileDescriptorSet; write one with "
            "protoc --include_imports --descriptor_set_out=FILE your.proto"
        ) from None
    by_name = {file.name: file for file in files}
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(name: str) -> None:
        if name in added:
            return
        added.add(name)
        file = by_name.get(name)
        if file is None:
            file = _from_default_pool(path, name)
        for dependency in file.dependency:
            add(dependency)
        try:
            pool.AddSerializedFile(file.SerializeToString())
        except (TypeError, ValueError) as error:
            raise ConfigurationError(f"--proto-descriptors {path}: {name} can not be loaded: {error}") from None

    for name in by_name:
        add(name)
    return pool


def _from_default_pool(path: Path, name: str) -> descriptor_pb2.FileDescriptorProto:
    """An import the set lacks, from the default pool (the well-known types, generated modules imported)."""
    try:
        found = descriptor_pool.Default().FindFileByName(name)
    except KeyError:
        raise ConfigurationError(
            f"--proto-descriptors {path} lacks {name}, which its files import; write the set with protoc "
            "--include_imports"
        ) from None
    proto = descriptor_pb2.FileDescriptorProto()
    found.CopyToProto(proto)
    return proto
