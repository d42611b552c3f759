"""The protocol core: ToFunction bytes in, FromFunction bytes out."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from google.protobuf.message import DecodeError

from statefun_faas import _wire
from statefun_faas._response import invocation_result
from statefun_faas.context import Context, SdkAddress
from statefun_faas.errors import (
    BadRequestError,
    FunctionInvocationError,
    StatefunFaasError,
    TooManyInvocationsError,
    clip,
)
from statefun_faas.functions import StatefulFunction, StatefulFunctions
from statefun_faas.messages import Message, received_message
from statefun_faas.storage import address_storage

if TYPE_CHECKING:
    import asyncio

# A request ready to run: the function, the batch's context and the invocations.
_Opened = tuple[StatefulFunction, Context, Any]


class RequestTrace:
    """What a request was about, filled in while it is handled (for logs)."""

    __slots__ = ("batch_size", "id", "typename")

    def __init__(self) -> None:
        self.typename = ""
        self.id = ""
        self.batch_size = 0


def _sdk_address(address: _wire.Address) -> SdkAddress | None:
    namespace, name, id_ = address.namespace, address.type, address.id
    if not namespace and not name and not id_:
        return None
    return _new_address(SdkAddress, (namespace, name, id_, f"{namespace}/{name}"))


_new_address = tuple.__new__  # SdkAddress is a named tuple; this skips its Python-level __new__


def _receive(context: Context, invocation: Any) -> Message:
    """The message of one invocation, after setting the context's caller to its sender."""
    context.caller = _sdk_address(invocation.caller) if invocation.HasField("caller") else None
    address = context.address
    return received_message(address.typename, address.id, invocation.argument)


def _failed(context: Context, error: Exception) -> FunctionInvocationError:
    """The error to raise for an exception from user code."""
    return FunctionInvocationError(context.address.typename, context.address.id, error)


def _incomplete_context(function: StatefulFunction, received: dict[str, Any]) -> bytes:
    from_function = _wire.FromFunction()
    missing = [spec for name, spec in function.persisted_specs.items() if name not in received]
    from_function.incomplete_invocation_context.missing_values.extend(missing)
    return from_function.SerializeToString()


def _body_bytes(request_bytes: object) -> bytes:
    if not isinstance(request_bytes, bytes | bytearray | memoryview):
        raise BadRequestError(
            f"the request body must be bytes, got {type(request_bytes).__name__}; "
            f"pass the raw HTTP body, never decoded text"
        )
    return bytes(request_bytes)


def _check_counts(batch: _wire.ToFunction.InvocationBatchRequest, limit: int) -> None:
    """Refuse a batch with more than ``limit`` invocations or state values.

    Counted with ``len()`` of the parsed repeated fields, which builds no object per entry:
    a body of millions of empty invocations (two bytes each) is refused before any of them runs.
    """
    for what, entries in (("invocations", batch.invocations), ("state values", batch.state)):
        if len(entries) > limit:
            raise TooManyInvocationsError(what, len(entries), limit)


def _unusable_target(to_function: _wire.ToFunction) -> BadRequestError:
    if not to_function.HasField("invocation"):
        return BadRequestError("the ToFunction message carries no invocation batch")
    target = to_function.invocation.target
    return BadRequestError(f"the invocation batch has no usable target address: {clip(repr(target))}")


class _OwnedLoop:
    """An event loop closed when its owner (one thread's local storage) lets go of it."""

    __slots__ = ("loop",)

    def __init__(self) -> None:
        import asyncio  # only async functions need it; it would double the core's import time

        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        if not self.loop.is_running():
            self.loop.close()


class _ThreadLoop(threading.local):
    """One event loop per thread, created on first use and closed when the thread ends."""

    owned: _OwnedLoop | None = None

    def get(self) -> asyncio.AbstractEventLoop:
        if self.owned is None:
            self.owned = _OwnedLoop()
        return self.owned.loop


class RequestReplyHandler:
    """Serves the functions of a :class:`StatefulFunctions` registry.

    ``handle_sync`` runs synchronous functions with no event loop at all and async ones on
    a loop kept per thread; it is safe to call from many threads at once.
    ``handle_async`` works inside any running event loop.
    """

    __slots__ = ("_loops", "functions")

    def __init__(self, functions: StatefulFunctions) -> None:
        if functions is None:
            raise ValueError("functions must be provided")
        self.functions = functions
        self._loops = _ThreadLoop()

    def _open(
        self, request_bytes: bytes | bytearray | memoryview, trace: RequestTrace | None, max_invocations: int | None
    ) -> _Opened | bytes:
        """Parse and resolve a request: a batch ready to run, or the final response bytes."""
        if type(request_bytes) is not bytes:
            request_bytes = _body_bytes(request_bytes)
        try:
            to_function = _wire.ToFunction.FromString(request_bytes)
        except DecodeError as error:
            raise BadRequestError(f"the request body is not a ToFunction protobuf message: {error}") from None
        batch = to_function.invocation
        target = batch.target
        namespace, name, id_ = target.namespace, target.type, target.id
        if not namespace or not name:
            raise _unusable_target(to_function)
        typename = f"{namespace}/{name}"
        invocations = batch.invocations
        if trace is not None:
            trace.typename, trace.id, trace.batch_size = typename, id_, len(invocations)
        if max_invocations is not None:
            _check_counts(batch, max_invocations)
        function = self.functions.for_typename(typename)
        received = {}
        for state in batch.state:
            received[state.state_name] = state.state_value
        for state_name in function.state_types:
            if state_name not in received:
                return _incomplete_context(function, received)
        if not id_ and invocations:
            raise BadRequestError(f"the invocation batch's target {typename!r} has an empty id")
        address = _new_address(SdkAddress, (namespace, name, id_, typename))
        return function, Context(address, address_storage(function, received)), invocations

    def handle_sync(
        self,
        request_bytes: bytes | bytearray | memoryview,
        trace: RequestTrace | None = None,
        max_invocations: int | None = None,
    ) -> bytes:
        """Handle one request synchronously; see the class docstring.

        ``max_invocations``: refuse a batch of more invocations (or state values) than that with
        :class:`~statefun_faas.errors.TooManyInvocationsError` before running any; None: no limit.
        """
        opened = self._open(request_bytes, trace, max_invocations)
        if isinstance(opened, bytes):
            return opened
        function, context, invocations = opened
        if function.is_async:
            import asyncio

            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return self._loops.get().run_until_complete(self._run_async(opened))
            raise RuntimeError(
                f"function {function.typename!r} is async and handle_sync() was called inside a "
                f"running event loop: use 'await handler.handle_async(request)' there"
            )
        fun = function.fun
        try:
            for invocation in invocations:
                fun(context, _receive(context, invocation))
        except StatefunFaasError:
            raise
        except Exception as error:
            raise _failed(context, error) from error
        return invocation_result(context)

    async def handle_async(
        self,
        request_bytes: bytes | bytearray | memoryview,
        trace: RequestTrace | None = None,
        max_invocations: int | None = None,
    ) -> bytes:
        """Handle one request inside the running event loop; ``max_invocations`` as for :meth:`handle_sync`."""
        opened = self._open(request_bytes, trace, max_invocations)
        if isinstance(opened, bytes):
            return opened
        return await self._run_async(opened)

    async def _run_async(self, opened: _Opened) -> bytes:
        function, context, invocations = opened
        fun: Any = function.fun
        is_async = function.is_async
        try:
            for invocation in invocations:
                result = fun(context, _receive(context, invocation))
                if is_async:
                    await result
        except StatefunFaasError:
            raise
        except Exception as error:
            raise _failed(context, error) from error
        return invocation_result(context)
