"""The errors statefun-faas raises, under one base class.

Adapters map them to HTTP statuses: :class:`BadRequestError` -> 400,
:class:`TooManyInvocationsError` -> 413, :class:`UnknownFunctionError` -> 404,
:class:`StateTypeMismatchError` and :class:`FunctionInvocationError` -> 500.
:class:`ConfigurationError` is raised while functions are being declared, never while a
request is served.
"""

from __future__ import annotations

from collections.abc import Iterable

#: How much of a value taken from a request an error message repeats.
ECHO_LIMIT = 120


def clip(value: str, limit: int = ECHO_LIMIT) -> str:
    """``value`` cut to ``limit`` characters, so request data echoed in answers and logs stays short."""
    return value if len(value) <= limit else f"{value[:limit]}... ({len(value)} characters)"


class StatefunFaasError(Exception):
    """Base class of every error raised by statefun-faas."""


class ConfigurationError(StatefunFaasError, ValueError):
    """A function, ValueSpec, type or message was declared with an invalid value."""


class BadRequestError(StatefunFaasError):
    """The request bytes are not a usable ToFunction message; retrying will not help."""


class TooManyInvocationsError(BadRequestError):
    """The request carries more invocations (or state values) than one request may."""

    def __init__(self, what: str, count: int, limit: int) -> None:
        self.what = what
        self.count = count
        self.limit = limit
        super().__init__(f"the request carries {count} {what}, over the limit of {limit} per request")


class UnknownFunctionError(StatefunFaasError, LookupError):
    """The request targets a function type that is not registered."""

    def __init__(self, typename: str, registered: Iterable[str]) -> None:
        self.typename = typename
        self.registered = sorted(registered)
        known = ", ".join(self.registered) or "none"
        super().__init__(
            f"no function is registered for typename {clip(typename)!r} (registered: {known}); "
            f"bind it with @functions.bind({clip(typename)!r}) or fix the module.yaml endpoint"
        )


class StateTypeMismatchError(StatefunFaasError, TypeError):
    """A state value arrived with a typename other than the one its ValueSpec declares."""

    def __init__(self, state_name: str, expected: str, actual: str) -> None:
        self.state_name = state_name
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"state {state_name!r} holds a value of type {clip(actual)!r} but its ValueSpec declares "
            f"{expected!r}; the StateFun runtime does not allow changing a state's type, "
            f"so declare {clip(actual)!r} again or use a new state name"
        )


class FunctionInvocationError(StatefunFaasError):
    """User code raised while handling a message; the original exception is the cause."""

    def __init__(self, typename: str, function_id: str, original: BaseException) -> None:
        self.typename = typename
        self.function_id = function_id
        self.original = original
        super().__init__(
            f"function {typename!r} with id {clip(function_id)!r} raised {type(original).__name__}: {original}"
        )
