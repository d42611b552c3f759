"""Values shown by their type: primitives, protobuf (default pool, or a FileDescriptorSet file), JSON, text, hex."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from statefun_faas import IntType, StringType
from statefun_faas.errors import ConfigurationError
from statefun_faas.runtime.console.values import MOST_SHOWN, Decoder, load_descriptor_set


def test_primitives_json_text_and_bytes() -> None:
    decoder = Decoder()
    shown = decoder.show(IntType.typename, IntType.serializer().serialize(42))
    assert (shown.kind, shown.text) == ("primitive", "42")
    assert decoder.show(StringType.typename, StringType.serializer().serialize("hé")).text == '"hé"'
    assert decoder.show(IntType.typename, b"\xff\xff").text.startswith("0xffff (not a valid")
    pretty = decoder.show("shop/Basket", b'{"items":{"socks":2}}')
    assert (pretty.kind, json.loads(pretty.text)) == ("json", {"items": {"socks": 2}})
    assert "\n" in pretty.text  # pretty-printed
    assert decoder.show("my/Text", b"plain words").kind == "text"
    raw = decoder.show("my/Blob", b"\x00\x01\x02\x03\xfe")
    assert (raw.kind, raw.text) == ("bytes", "00010203 fe")
    assert decoder.show("my/Blob", None).kind == "absent"


def test_a_long_value_is_cut() -> None:
    shown = Decoder().show("my/Text", b"a" * (MOST_SHOWN + 10))
    assert shown.kind == "bytes"
    assert f"{MOST_SHOWN + 10:,} bytes" in shown.note


def test_protobuf_from_the_default_pool_and_unknown_messages() -> None:
    stamp = Timestamp(seconds=1_700_000_000)
    shown = Decoder().show("type.googleapis.com/google.protobuf.Timestamp", stamp.SerializeToString())
    assert (shown.kind, shown.text) == ("protobuf", '"2023-11-14T22:13:20Z"')
    unknown = Decoder().show("type.googleapis.com/nowhere.Thing", b"\x08\x01")
    assert unknown.kind == "bytes"
    assert "--proto-descriptors" in unknown.note


def _reading_set(path: Path, with_imports: bool = True) -> Path:
    """A FileDescriptorSet of a message no generated module of this process defines, importing a well-known type."""
    reading = descriptor_pb2.FileDescriptorProto(
        name="consoletest/reading.proto",
        package="consoletest",
        syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )
    message = reading.message_type.add(name="Reading")
    message.field.add(
        name="celsius",
        number=1,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
    )
    message.field.add(
        name="at",
        number=2,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
        type_name=".google.protobuf.Timestamp",
    )
    files = [reading]
    if with_imports:
        timestamp = descriptor_pb2.FileDescriptorProto()
        Timestamp.DESCRIPTOR.file.CopyToProto(timestamp)
        files.insert(0, timestamp)
    path.write_bytes(descriptor_pb2.FileDescriptorSet(file=files).SerializeToString())
    return path


@pytest.mark.parametrize("with_imports", [True, False], ids=["include-imports", "imports-from-default-pool"])
def test_protobuf_from_a_descriptor_set(tmp_path: Path, with_imports: bool) -> None:
    decoder = Decoder.with_descriptors(_reading_set(tmp_path / "set.pb", with_imports))
    data = b"\x09" + struct.pack("<d", 21.5) + b"\x12\x02\x08\x01"  # celsius 21.5, at {seconds: 1}
    shown = decoder.show("type.googleapis.com/consoletest.Reading", data)
    assert shown.kind == "protobuf", shown
    assert json.loads(shown.text) == {"celsius": 21.5, "at": "1970-01-01T00:00:01Z"}
    broken = decoder.show("type.googleapis.com/consoletest.Reading", b"\x0a\xff")
    assert broken.kind == "bytes"
    assert "not a valid consoletest.Reading" in broken.note


def test_an_unusable_descriptor_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="can not read it"):
        load_descriptor_set(tmp_path / "missing.pb")
    (tmp_path / "junk.pb").write_bytes(b"\xff\xff\xff")
    with pytest.raises(ConfigurationError, match=r"junk\.pb is no FileDescriptorSet; write one with protoc"):
        load_descriptor_set(tmp_path / "junk.pb")
    lacking = descriptor_pb2.FileDescriptorProto(name="a.proto", package="a", dependency=["not/there.proto"])
    (tmp_path / "lacking.pb").write_bytes(descriptor_pb2.FileDescriptorSet(file=[lacking]).SerializeToString())
    with pytest.raises(ConfigurationError, match=r"lacks not/there\.proto.*--include_imports"):
        load_descriptor_set(tmp_path / "lacking.pb")
