"""The in-process invoker: a StatefulFunctions registry called through its handler, no HTTP hop."""

from __future__ import annotations

import asyncio
import logging

from statefun_faas.errors import BadRequestError, FunctionInvocationError, UnknownFunctionError
from statefun_faas.functions import StatefulFunctions
from statefun_faas.handler import RequestReplyHandler
from statefun_faas.runtime.engine.router import FunctionRoute, InvocationError, Routes
from statefun_faas.runtime.records import Address

logger = logging.getLogger("statefun_faas.runtime")


class InProcessInvoker:
    """Calls ``handler.handle_async``; a failing or hanging function is not retried (it is deterministic)."""

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
            raise InvocationError(f"{address}: no answer within the call timeout of {budget:g}s", False) from None
        except (BadRequestError, UnknownFunctionError) as error:
            raise InvocationError(str(error), retryable=False) from None
        except FunctionInvocationError as error:
            logger.error("%s", error, exc_info=error.original)
            raise InvocationError(str(error), retryable=False) from None
        except Exception as error:
            raise InvocationError(f"{type(error).__name__}: {error}", retryable=False) from None


def in_process_routes(functions: StatefulFunctions, max_batch: int = 1000, call_timeout: float = 60.0) -> Routes:
    """Routes every function type bound in ``functions`` to the registry itself."""
    route = FunctionRoute(InProcessInvoker(functions), max_batch=max_batch, call_timeout=call_timeout)

    def routes(typename: str) -> FunctionRoute | None:
        return route if typename in functions else None

    return routes
