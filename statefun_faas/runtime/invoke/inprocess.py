"""The in-process invoker: a StatefulFunctions registry called through its handler, no HTTP hop."""

from __future__ import annotations

import asyncio

from statefun_faas.errors import BadRequestError, FunctionInvocationError, UnknownFunctionError
from statefun_faas.functions import StatefulFunctions
from statefun_faas.handler import RequestReplyHandler
from statefun_faas.runtime.engine.failures import Failure, InvocationError
from statefun_faas.runtime.engine.router import FunctionRoute, Routes
from statefun_faas.runtime.records import Address


class InProcessInvoker:
    """Calls the registry's handler. Its errors fail as the HTTP edge's statuses would (the failure policy is
    one for ``run`` and ``dev``): user code raising as a 500, a request the handler refuses as a 4xx, a hanging
    async function as a call that timed out."""

    def __init__(self, functions: StatefulFunctions) -> None:
        self.functions = functions
        self.handler = RequestReplyHandler(functions)

    async def __call__(self, address: Address, body: bytes, budget: float) -> bytes:
        try:
            if not self.functions.for_typename(address.typename).is_async:
                return self.handler.handle_sync(body)  # runs to the end: no timer, no coroutine hop
            async with asyncio.timeout(budget):  # bounds async functions
                return await self.handler.handle_async(body)
        except TimeoutError:
            reason = f"{address}: no answer within the call timeout of {budget:g}s"
            raise InvocationError(reason, Failure.TRANSIENT) from None
        except (BadRequestError, UnknownFunctionError) as error:  # 400, 413, 404
            raise InvocationError(str(error), Failure.REFUSED) from None
        except FunctionInvocationError as error:  # 500
            raise InvocationError(str(error), Failure.RAISED, error.original) from None
        except Exception as error:  # 500 too, e.g. StateTypeMismatchError
            raise InvocationError(f"{type(error).__name__}: {error}", Failure.RAISED, error) from None


def in_process_routes(functions: StatefulFunctions, max_batch: int = 1000, call_timeout: float = 60.0) -> Routes:
    """Routes every function type bound in ``functions`` to the registry itself."""
    route = FunctionRoute(InProcessInvoker(functions), max_batch=max_batch, call_timeout=call_timeout)

    def routes(typename: str) -> FunctionRoute | None:
        return route if typename in functions else None

    return routes
