"""The protocol core: ToFunction bytes in, FromFunction bytes out."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from google.protobuf.message import DecodeError

from statefun_faas import _wire
from statefun_faas.context import Context, DelayedMessage, SdkAddress
from statefun_faas.errors import BadRequestError, FunctionInvocationError, StatefunFaasError, clip
from statefun_faas.functions import StatefulFunction, StatefulFunctions, ValueSpec
from statefun_faas.messages import Message
from statefun_faas.storage import Cell, resolve
from statefun_faas.types import split_typename

if TYPE_CHECKING:
    import asyncio

_MODIFY = _wire.FromFunction.PersistedValueMutation.MutationType.MODIFY
_DELETE = _wire.FromFunction.PersistedValueMutation.MutationType.DELETE


class RequestTrace:
    """What a request was about, filled in while it is handled (for logs)."""

    __slots__ = ("batch_size", "id", "typename")

    def __init__(self) -> None:
        self.typename = ""
        self.id = ""
        self.batch_size = 0


class _Batch:
    """One InvocationBatchRequest whose states are all present."""

    __slots__ = ("context", "function", "invocations")

    def __init__(self, function: StatefulFunction, context: Context, invocations: Any) -> None:
        self.function = function
        self.context = context
        self.invocations = invocations

    def messages(self) -> Iterator[Message]:
        """The batch's messages in order, setting the context's caller before each."""
        context = self.context
        typename, id_ = context.address.typename, context.address.id
        incoming = Message.incoming
        for invocation in self.invocations:
            context.caller = _sdk_address(invocation.caller) if invocation.HasField("caller") else None
            yield incoming(typename, id_, invocation.argument)

    def failed(self, error: Exception) -> FunctionInvocationError:
        """The error to raise for an exception from user code."""
        address = self.context.address
        return FunctionInvocationError(address.typename, address.id, error)

    def response(self) -> bytes:
        return _invocation_result(self.context).SerializeToString()


def _sdk_address(address: _wire.Address) -> SdkAddress | None:
    namespace, name, id_ = address.namespace, address.type, address.id
    if not namespace and not name and not id_:
        return None
    return _new_address(SdkAddress, (namespace, name, id_, f"{namespace}/{name}"))


_new_address = tuple.__new__  # SdkAddress is a named tuple; this skips its Python-level __new__


# Filling fields one by one is faster than keyword constructors in upb (measured with
# benchmarks/handler.py).


def _set_target(target: _wire.Address, message: Message) -> None:
    target.namespace, target.type = split_typename(message.target_typename, "target typename")
    target.id = message.target_id


def _invocation_result(context: Context) -> _wire.FromFunction:
    from_function = _wire.FromFunction()
    result = from_function.invocation_result
    if context.outgoing:
        add = result.outgoing_messages.add
        for message in context.outgoing:
            outgoing = add()
            _set_target(outgoing.target, message)
            outgoing.argument.CopyFrom(message.typed_value)
    if context.delayed:
        for delayed in context.delayed:
            _add_delayed(result.delayed_invocations.add(), delayed)
    if context.egress:
        add_egress = result.outgoing_egresses.add
        for egress in context.egress:
            outgoing_egress = add_egress()
            outgoing_egress.egress_namespace = egress.egress_namespace
            outgoing_egress.egress_type = egress.egress_type
            outgoing_egress.argument.CopyFrom(egress.typed_value)
    _add_mutations(result.state_mutations, context.cells)
    return from_function


def _add_delayed(outgoing: Any, delayed: DelayedMessage) -> None:
    message = delayed.message
    if message is None:
        outgoing.cancellation_token = delayed.cancellation_token
        outgoing.is_cancellation_request = True
        return
    _set_target(outgoing.target, message)
    outgoing.delay_in_ms = delayed.delay_ms
    outgoing.argument.CopyFrom(message.typed_value)
    outgoing.cancellation_token = delayed.cancellation_token


def _add_mutations(mutations: Any, cells: dict[str, Cell]) -> None:
    for name, cell in cells.items():
        if not cell.dirty:
            continue
        mutation = mutations.add()
        mutation.state_name = name
        if cell.written is None:
            mutation.mutation_type = _DELETE
        else:
            mutation.mutation_type = _MODIFY
            state_value = mutation.state_value
            state_value.typename = cell.type.typename
            state_value.has_value = True
            state_value.value = cell.written


def _incomplete_context(function: StatefulFunction, missing: list[ValueSpec]) -> bytes:
    from_function = _wire.FromFunction()
    persisted = function.persisted_specs
    from_function.incomplete_invocation_context.missing_values.extend([persisted[spec.name] for spec in missing])
    return from_function.SerializeToString()


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

    def _open(self, request_bytes: bytes | bytearray | memoryview, trace: RequestTrace | None) -> _Batch | bytes:
        """Parse and resolve a request: a batch ready to run, or the final response bytes."""
        if not isinstance(request_bytes, bytes | bytearray | memoryview):
            raise BadRequestError(
                f"the request body must be bytes, got {type(request_bytes).__name__}; "
                f"pass the raw HTTP body, never decoded text"
            )
        if type(request_bytes) is not bytes:
            request_bytes = bytes(request_bytes)
        try:
            to_function = _wire.ToFunction.FromString(request_bytes)
        except DecodeError as error:
            raise BadRequestError(f"the request body is not a ToFunction protobuf message: {error}") from None
        if not to_function.HasField("invocation"):
            raise BadRequestError("the ToFunction message carries no invocation batch")
        batch = to_function.invocation
        address = _sdk_address(batch.target)
        if address is None or not address.namespace or not address.name:
            raise BadRequestError(f"the invocation batch has no usable target address: {clip(repr(batch.target))}")
        if trace is not None:
            trace.typename, trace.id, trace.batch_size = address.typename, address.id, len(batch.invocations)
        function = self.functions.for_typename(address.typename)
        received = {state.state_name: state.state_value for state in batch.state}
        resolved = resolve(function.specs, received)
        if isinstance(resolved, list):
            return _incomplete_context(function, resolved)
        if not address.id and batch.invocations:
            raise BadRequestError(f"the invocation batch's target {address.typename!r} has an empty id")
        return _Batch(function, Context(address, resolved), batch.invocations)

    def handle_sync(self, request_bytes: bytes | bytearray | memoryview, trace: RequestTrace | None = None) -> bytes:
        """Handle one request synchronously; see the class docstring."""
        batch = self._open(request_bytes, trace)
        if isinstance(batch, bytes):
            return batch
        if batch.function.is_async:
            import asyncio

            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return self._loops.get().run_until_complete(self._run_async(batch))
            raise RuntimeError(
                f"function {batch.function.typename!r} is async and handle_sync() was called inside a "
                f"running event loop: use 'await handler.handle_async(request)' there"
            )
        fun = batch.function.fun
        context = batch.context
        try:
            for message in batch.messages():
                fun(context, message)
        except StatefunFaasError:
            raise
        except Exception as error:
            raise batch.failed(error) from error
        return batch.response()

    async def handle_async(
        self, request_bytes: bytes | bytearray | memoryview, trace: RequestTrace | None = None
    ) -> bytes:
        """Handle one request inside the running event loop."""
        batch = self._open(request_bytes, trace)
        if isinstance(batch, bytes):
            return batch
        return await self._run_async(batch)

    async def _run_async(self, batch: _Batch) -> bytes:
        fun: Any = batch.function.fun
        context = batch.context
        is_async = batch.function.is_async
        try:
            for message in batch.messages():
                result = fun(context, message)
                if is_async:
                    await result
        except StatefunFaasError:
            raise
        except Exception as error:
            raise batch.failed(error) from error
        return batch.response()
