"""Hypothesis strategies for ToFunction bodies, written field by field on the wire.

The encoder is deliberately raw (field numbers of request-reply.proto, no generated class) so
that strings can carry bytes that are not UTF-8, fields can be missing or repeated, and unknown
fields can appear: structurally valid protobuf that is semantically wrong.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from statefun_faas import BoolType, IntType, StringType
from tests.builders import Request, typed
from tests.fuzz.registry import FUNCTIONS, KNOWN_TYPENAMES, STATE_NAMES, VALUE_TYPENAMES, DocType

# -- the raw encoder -----------------------------------------------------------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def ld(number: int, payload: bytes) -> bytes:
    """A length-delimited field: strings, bytes and sub-messages."""
    return tag(number, 2) + varint(len(payload)) + payload


def vi(number: int, value: int) -> bytes:
    return tag(number, 0) + varint(value)


# -- field values --------------------------------------------------------------------------------

#: Strings as the wire carries them: mostly names the registry knows, sometimes anything,
#: very long, or not UTF-8 at all (a proto3 parser must refuse those).
wire_strings = st.one_of(
    st.sampled_from([*KNOWN_TYPENAMES, *VALUE_TYPENAMES, *STATE_NAMES, "", "a", "x/y/z"]).map(str.encode),
    st.text(max_size=30).map(str.encode),
    st.binary(max_size=30),
    st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"a\x00b"]),
    st.integers(1, 100_000).map(lambda n: b"n" * n),
)


def _fields(*parts: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """Each part present or not, in order, sometimes followed by an unknown field."""
    optional = [st.one_of(st.just(b""), part) for part in parts]
    unknown = st.one_of(st.just(b""), st.builds(ld, st.integers(16, 99), st.binary(max_size=8)))
    return st.tuples(*optional, unknown).map(b"".join)


def _typename_and_value(typename: bytes) -> st.SearchStrategy[bytes]:
    """A value for ``typename``: a valid encoding of a primitive, or random bytes."""
    values = st.one_of(st.binary(max_size=20), st.integers(-(2**63), 2**64).map(varint), st.text().map(str.encode))
    return _fields(st.just(ld(1, typename)), st.booleans().map(lambda b: vi(2, int(b))), values.map(lambda v: ld(3, v)))


typed_values = st.one_of(st.just(b""), wire_strings.flatmap(_typename_and_value))
addresses = _fields(
    wire_strings.map(lambda s: ld(1, s)), wire_strings.map(lambda s: ld(2, s)), wire_strings.map(lambda s: ld(3, s))
)

_known_target = st.tuples(
    st.sampled_from(KNOWN_TYPENAMES), st.one_of(st.just(""), st.text(max_size=12), st.just("i" * 50_000))
).map(lambda t: ld(1, t[0].split("/")[0].encode()) + ld(2, t[0].split("/")[1].encode()) + ld(3, t[1].encode()))
targets = st.one_of(_known_target, addresses)

persisted_values = _fields(
    st.one_of(st.sampled_from(STATE_NAMES).map(str.encode), wire_strings).map(lambda s: ld(1, s)),
    typed_values.map(lambda v: ld(2, v)),
)
invocations = _fields(addresses.map(lambda a: ld(1, a)), typed_values.map(lambda v: ld(2, v)))


def _repeated(number: int, items: st.SearchStrategy[bytes], max_size: int) -> st.SearchStrategy[bytes]:
    return st.lists(items.map(lambda item: ld(number, item)), max_size=max_size).map(b"".join)


#: A huge batch: one small invocation repeated many times (cheap to generate, long to serve).
_small_invocation = st.sampled_from(
    [b"", ld(2, ld(1, b"io.statefun.types/int") + vi(2, 1) + ld(3, b"\x07\x00\x00\x00"))]
)
_huge_batch = st.tuples(_small_invocation, st.integers(1_000, 30_000)).map(lambda t: ld(3, t[0]) * t[1])

batches = st.tuples(
    st.one_of(st.just(b""), targets.map(lambda t: ld(1, t))),
    _repeated(2, persisted_values, 6),
    st.one_of(_repeated(3, invocations, 5), _huge_batch),
).map(b"".join)

#: A whole ToFunction body: the invocation present or missing, plus unknown fields.
to_function_bodies = _fields(batches.map(lambda b: ld(100, b)))


# -- requests a real runtime would send ----------------------------------------------------------


@st.composite
def valid_requests(draw: st.DrawFn) -> bytes:
    """A well-formed request for a registered function: every declared state, typed values."""
    typename = draw(st.sampled_from(KNOWN_TYPENAMES))
    request = Request(typename, draw(st.text(min_size=1, max_size=20)))
    for spec in FUNCTIONS.for_typename(typename).specs:
        value = draw(st.one_of(st.none(), st.just(_SAMPLES[spec.type.typename])))
        request.state(spec.name, None if value is None else typed(spec.type, value))
    for _ in range(draw(st.integers(0, 4))):
        argument = draw(st.one_of(st.integers(-(2**31), 2**31 - 1).map(lambda n: typed(IntType, n)), _strings))
        caller = draw(st.one_of(st.none(), st.sampled_from(["conformance/counter/c", "fuzz/echo/e"])))
        request.message(argument, caller)
    return request.bytes()


_strings = st.text(max_size=40).map(lambda s: typed(StringType, s))
_SAMPLES: dict[str, Any] = {
    IntType.typename: 7,
    StringType.typename: "seven",
    BoolType.typename: True,
    DocType.typename: {"seven": [7]},
}

#: Everything the core may be sent: well-formed, structured but wrong, and random bytes.
any_body = st.one_of(valid_requests(), to_function_bodies, st.binary(max_size=200))
