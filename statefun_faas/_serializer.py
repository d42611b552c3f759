"""The serializer interface, apart so that the primitive codecs can build on it."""

from __future__ import annotations

import abc
from typing import Generic, TypeVar

T = TypeVar("T")


class TypeSerializer(abc.ABC, Generic[T]):
    """Turns values of one type into bytes and back."""

    __slots__ = ()

    @abc.abstractmethod
    def serialize(self, value: T) -> bytes:
        """Return the bytes of ``value``."""

    @abc.abstractmethod
    def deserialize(self, byte: bytes) -> T:
        """Return the value the bytes represent."""
