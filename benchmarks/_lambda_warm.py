"""Worker of benchmarks/cold_start.py: warm per-request cost of one contender, in its own process.

``python benchmarks/_lambda_warm.py CONTENDER SECONDS`` prints CPU microseconds per request
over 1,000 distinct 1-invocation requests, best of the passes made in SECONDS (at least 5);
with ``BENCH_PASSES=N`` in the environment, exactly N passes (for counting instructions).
The request log line is on (its default sink, stderr, pointed at os.devnull) for the
adapters except "aws_lambda_quiet"; "core" calls RequestReplyHandler.handle_sync directly.

The 1,000 events are whole dicts made up front, so each is cold in the CPU caches when its
turn comes (about 2.5 us more than one hot event sent again, measured on a 2-core VM). Events
parsed with json.loads just before each call, as awslambdaric hands them over, measured
slower still (about 22 us against 20 us), so the prebuilt corpus is not the pessimistic case.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).resolve().parent.parent))  # appended: the installed package stays first

from statefun_faas import Context, IntType, Message, RequestReplyHandler, StatefulFunctions, ValueSpec
from tests.adapters.lambda_events import event_for
from tests.builders import Request, typed

CONTENDERS = ("core", "aws_lambda", "aws_lambda_quiet", "mangum")


def functions() -> StatefulFunctions:
    registry = StatefulFunctions()

    @registry.bind("bench/counter", specs=[ValueSpec("count", IntType)])
    def counter(context: Context, message: Message) -> None:
        context.storage.count = (context.storage.count or 0) + (message.as_int() or 0)

    return registry


def bodies() -> list[bytes]:
    return [
        Request("bench/counter", f"id-{i}").state("count", typed(IntType, i)).message(typed(IntType, i)).bytes()
        for i in range(1000)
    ]


def calls(contender: str) -> list[Callable[[], Any]]:
    if contender == "core":
        handler = RequestReplyHandler(functions())
        return [partial(handler.handle_sync, body) for body in bodies()]
    if contender in ("aws_lambda", "aws_lambda_quiet"):
        from statefun_faas.adapters.aws_lambda import lambda_handler

        lambda_fn: Callable[..., Any] = lambda_handler(functions())
    else:
        from mangum import Mangum

        from statefun_faas.adapters.asgi import asgi_app

        lambda_fn = Mangum(asgi_app(functions()), lifespan="off")
    events = [event_for("function_url", "POST", "/statefun", "", body) for body in bodies()]
    return [partial(lambda_fn, event, None) for event in events]


def us_per_request(contender: str, seconds: float) -> float:
    os.environ["STATEFUN_FAAS_REQUEST_LOG"] = "off" if contender == "aws_lambda_quiet" else "stderr"
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # the request lines go nowhere, but are written
    work = calls(contender)
    for call in work:  # warm up, and check every answer once
        result = call()
        assert isinstance(result, bytes) or result["statusCode"] == 200, result
    passes: list[float] = []  # CPU time per pass over the corpus; the best one counts
    deadline = time.perf_counter() + seconds
    exact = int(os.environ.get("BENCH_PASSES", "0"))  # for instruction counting under callgrind
    while (len(passes) < exact) if exact else (len(passes) < 5 or time.perf_counter() < deadline):
        started = time.process_time()
        for call in work:
            call()
        passes.append(time.process_time() - started)
    return min(passes) / len(work) * 1e6


if __name__ == "__main__":
    print(us_per_request(sys.argv[1], float(sys.argv[2])))
