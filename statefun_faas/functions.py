"""Declaring functions: ValueSpec and the StatefulFunctions registry."""

from __future__ import annotations

import keyword
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from statefun_faas import _wire
from statefun_faas.errors import ConfigurationError, UnknownFunctionError
from statefun_faas.types import Type, split_typename

if TYPE_CHECKING:
    from statefun_faas.context import Context
    from statefun_faas.messages import Message

FunctionCallable = Callable[["Context", "Message"], "Awaitable[None] | None"]

# StateFun's runtime keeps its own per-address bookkeeping under this name.
RESERVED_STATE_NAMES = frozenset({"batch"})


def _millis(delta: timedelta, what: str) -> int:
    if not isinstance(delta, timedelta):
        raise ConfigurationError(f"{what} must be a datetime.timedelta, got {delta!r}")
    if delta < timedelta(0):
        raise ConfigurationError(f"{what} must not be negative, got {delta}")
    return int(delta.total_seconds() * 1000.0)


def _check_state_name(name: str) -> None:
    rule = (
        "a state name must be a lower-case Python identifier (letters a-z, digits, '_', "
        "not starting with a digit) and not a Python keyword"
    )
    if not name or not isinstance(name, str):
        raise ConfigurationError(f"state name is missing: {rule}")
    if not name.isidentifier() or not name.islower() or keyword.iskeyword(name):
        raise ConfigurationError(f"invalid state name {name!r}: {rule}")


class ValueSpec:
    """A state of a function: its name, its type and, optionally, when it expires.

    ``expire_after_call`` refreshes the clock on every call to the address,
    ``expire_after_write`` only when the value is written. At most one may be given.
    """

    __slots__ = ("after_call", "after_write", "duration", "name", "type")

    def __init__(
        self,
        name: str,
        type: Type[Any],  # noqa: A002 (the reference SDK's keyword)
        expire_after_call: timedelta | None = None,
        expire_after_write: timedelta | None = None,
    ) -> None:
        _check_state_name(name)
        if not isinstance(type, Type):
            raise ConfigurationError(f"the type of state {name!r} must be a statefun_faas Type, got {type!r}")
        split_typename(type.typename, f"type of state {name!r}")
        if expire_after_call and expire_after_write:
            raise ConfigurationError(f"state {name!r}: give expire_after_call or expire_after_write, not both")
        self.name = name
        self.type = type
        self.after_call = bool(expire_after_call)
        self.after_write = bool(expire_after_write) and not self.after_call
        if expire_after_call:
            self.duration = _millis(expire_after_call, f"expire_after_call of state {name!r}")
        elif expire_after_write:
            self.duration = _millis(expire_after_write, f"expire_after_write of state {name!r}")
        else:
            self.duration = 0

    def __repr__(self) -> str:
        expiry = ""
        if self.after_call:
            expiry = f", expire_after_call={self.duration}ms"
        elif self.after_write:
            expiry = f", expire_after_write={self.duration}ms"
        return f"ValueSpec({self.name!r}, {self.type.typename!r}{expiry})"


_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE; inspect itself is slow to import


def _is_coroutine_function(fun: Callable[..., Any]) -> bool:
    code = getattr(fun, "__code__", None)
    if code is not None:
        return bool(code.co_flags & _CO_COROUTINE)
    import inspect

    call = fun if inspect.isroutine(fun) else type(fun).__call__
    return inspect.iscoroutinefunction(call)


def _takes_context_and_message(fun: Callable[..., Any]) -> bool:
    import inspect  # registration time only

    try:
        inspect.signature(fun).bind(None, None)
    except TypeError:
        return False
    except ValueError:  # no signature available (some builtins): trust the caller
        return True
    return True


class StatefulFunction:
    """A registered function: the callable, its specs, and whether it is a coroutine function."""

    __slots__ = ("fun", "is_async", "persisted_specs", "specs", "state_types", "typename")

    def __init__(self, typename: str, fun: FunctionCallable, specs: list[ValueSpec]) -> None:
        self.typename = typename
        self.fun = fun
        self.specs = specs
        self.is_async = _is_coroutine_function(fun)
        #: the type of each state, by name, in declaration order
        self.state_types: dict[str, Type[Any]] = {spec.name: spec.type for spec in specs}
        #: each spec as the runtime must register it, built once here rather than per request
        self.persisted_specs = {spec.name: _persisted_value_spec(spec) for spec in specs}


_ExpireMode = _wire.FromFunction.ExpirationSpec.ExpireMode


def _persisted_value_spec(spec: ValueSpec) -> _wire.FromFunction.PersistedValueSpec:
    expiration = _wire.FromFunction.ExpirationSpec()  # present even for NONE, as the reference sends it
    if spec.after_call:
        expiration.mode, expiration.expire_after_millis = _ExpireMode.AFTER_INVOKE, spec.duration
    elif spec.after_write:
        expiration.mode, expiration.expire_after_millis = _ExpireMode.AFTER_WRITE, spec.duration
    return _wire.FromFunction.PersistedValueSpec(
        state_name=spec.name, expiration_spec=expiration, type_typename=spec.type.typename
    )


class StatefulFunctions:
    """The registry of functions one handler serves, by typename."""

    __slots__ = ("_functions",)

    def __init__(self) -> None:
        self._functions: dict[str, StatefulFunction] = {}

    def register(self, typename: str, fun: FunctionCallable, specs: Iterable[ValueSpec] | None = None) -> None:
        """Register ``fun(context, message)`` as the function ``typename`` with its states."""
        if fun is None or not callable(fun):
            raise ConfigurationError(f"function {typename!r}: a callable is required, got {fun!r}")
        split_typename(typename, "function typename")
        if not _takes_context_and_message(fun):
            raise ConfigurationError(
                f"function {typename!r} must accept exactly two positional arguments (context, message)"
            )
        spec_list = list(specs or [])
        seen: set[str] = set()
        for spec in spec_list:
            if not isinstance(spec, ValueSpec):
                raise ConfigurationError(f"function {typename!r}: specs must be ValueSpec, got {spec!r}")
            if spec.name in seen:
                raise ConfigurationError(f"function {typename!r}: state {spec.name!r} is declared twice")
            seen.add(spec.name)
            if spec.name in RESERVED_STATE_NAMES:
                import logging

                logging.getLogger("statefun_faas").warning(
                    "function %s: state name %r is also used by the Flink StateFun runtime's own "
                    "bookkeeping and may collide there; consider another name",
                    typename,
                    spec.name,
                )
        self._functions[typename] = StatefulFunction(typename, fun, spec_list)

    def bind(
        self, typename: str, specs: Iterable[ValueSpec] | None = None
    ) -> Callable[[FunctionCallable], FunctionCallable]:
        """Decorator form of :meth:`register`; returns the function unchanged."""

        def wrapper(fun: FunctionCallable) -> FunctionCallable:
            self.register(typename, fun, specs)
            return fun

        return wrapper

    def for_typename(self, typename: str) -> StatefulFunction:
        """The function registered as ``typename``; :class:`UnknownFunctionError` if none is."""
        try:
            return self._functions[typename]
        except KeyError:
            raise UnknownFunctionError(typename, self._functions) from None

    @property
    def typenames(self) -> list[str]:
        """The registered typenames, in registration order."""
        return list(self._functions)

    def __contains__(self, typename: object) -> bool:
        return typename in self._functions

    def __len__(self) -> int:
        return len(self._functions)
