"""Small HTTP helpers the adapters share: the declared body length and a bounded read."""

from __future__ import annotations

from collections.abc import Callable

from statefun_faas.adapters.edge import Edge, EdgeResponse, text

CHUNK = 64 * 1024


def declared_length(raw: str | bytes | None) -> int | EdgeResponse | None:
    """The Content-Length header as an int, None when absent, or a 400 answer when invalid."""
    if raw is None or raw in ("", b""):
        return None
    value = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    digits = value.strip()
    if digits.isascii() and digits.isdigit():  # str.isdigit alone also accepts "²", which int() refuses
        return int(digits)
    return text(400, f"bad request: invalid Content-Length {value[:40]!r}")


def read_limited(edge: Edge, read: Callable[[int], bytes], length: int | None) -> bytes | EdgeResponse:
    """Read a body through ``read(n)``: ``length`` bytes if declared, else to the end.

    Stops as soon as more than the edge's limit arrived and answers 413 instead.
    """
    remaining = length if length is not None else edge.max_body_bytes + 1
    chunks: list[bytes] = []
    size = 0
    while remaining > 0:
        chunk = read(min(CHUNK, remaining))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        remaining -= len(chunk)
        if size > edge.max_body_bytes:
            return edge.too_large(size)
    return b"".join(chunks)
