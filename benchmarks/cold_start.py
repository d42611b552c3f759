"""Cold start of the adapters: import time, spawn-to-first-answer through awslambdaric, warm cost.

Run: ``python benchmarks/cold_start.py [--runs N] [--e2e-runs N] [--warm-runs N]``.

1. Import time of each adapter module against protobuf plus our generated modules alone
   (the baseline), each in a fresh ``python -P -c`` process (CPU time of the import), median
   of N with the contenders interleaved. Columns: our modules as a Lambda package ships them (hash-based
   ``.pyc``, see benchmarks/_cold_probes.py) in a plain interpreter; the same after the
   modules awslambdaric imports before it loads a handler (logging, json, traceback, ...:
   already paid for on Lambda); and the source checkout without ``.pyc``.
   Target: the Lambda adapter <= 1.3x the baseline.
2. End to end through the real Lambda runtime loop: spawn ``python -m awslambdaric
   app.handler`` in a package folder against the Runtime API emulator of the tests, queue
   one function URL event, stop the clock at the first answer. Contenders: an echo handler
   (no protobuf: the floor), the thin adapter, and mangum (lifespan off) in front of the
   ASGI app.
3. Warm per-request CPU cost of the Lambda handler (function URL event, base64 both ways,
   request log line on) against calling the core directly on 1-invocation batches, each
   contender in its own process (benchmarks/_lambda_warm.py); each process reports its
   best pass and the table the best process, the steadiest figure on a shared machine.
   Target: <= 1.5x. ``--instructions`` adds instructions per request under valgrind's
   callgrind (deterministic, whatever else the shared machine does); ``--warm-only`` skips
   parts 1 and 2.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).resolve().parent.parent))  # appended: the installed package stays first

from benchmarks._cold_probes import (
    build_package,
    first_answer_ms,
    import_ms,
    importable,
    interleaved,
    warm_instructions,
    warm_us,
)
from benchmarks.handler import GENERATED

BASELINE = "protobuf + generated modules (baseline)"
IMPORTS = {
    BASELINE: GENERATED,
    "statefun_faas (core)": "import statefun_faas",
    "adapters.aws_lambda": "import statefun_faas.adapters.aws_lambda",
    "adapters.asgi": "import statefun_faas.adapters.asgi",
    "adapters.wsgi": "import statefun_faas.adapters.wsgi",
    "adapters.gcp": "import statefun_faas.adapters.gcp",
    "adapters.azure": "import statefun_faas.adapters.azure",
    "mangum + adapters.asgi": "import mangum, statefun_faas.adapters.asgi",
}
#: What awslambdaric has imported before it imports the handler module.
RUNTIME_PRELOAD = "import awslambdaric.__main__, awslambdaric.bootstrap; "
COLUMNS = ("package .pyc", "after awslambdaric", "sources, no .pyc")

FUNCTIONS = """
from statefun_faas import IntType, StatefulFunctions, ValueSpec

functions = StatefulFunctions()


@functions.bind("bench/counter", specs=[ValueSpec("count", IntType)])
def counter(context, message):
    context.storage.count = (context.storage.count or 0) + (message.as_int() or 0)
"""

APPS = {
    "echo handler (floor)": (
        "import base64\n"
        "def handler(event, context):\n"
        "    body = base64.b64encode(base64.b64decode(event['body'])).decode()\n"
        "    return {'statusCode': 200, 'headers': {'Content-Type': 'application/octet-stream'},\n"
        "            'body': body, 'isBase64Encoded': True}\n"
    ),
    "thin adapter (aws_lambda)": (
        FUNCTIONS
        + "from statefun_faas.adapters.aws_lambda import lambda_handler\nhandler = lambda_handler(functions)\n"
    ),
    "mangum + asgi_app, lifespan off": (
        FUNCTIONS + "from mangum import Mangum\nfrom statefun_faas.adapters.asgi import asgi_app\n"
        "handler = Mangum(asgi_app(functions), lifespan='off')\n"
    ),
}

WARM = {
    "core": "RequestReplyHandler.handle_sync (core)",
    "aws_lambda": "aws_lambda handler, function URL event",
    "aws_lambda_quiet": "the same, request log line off",
    "mangum": "mangum + asgi_app, function URL event",
}


def import_table(package: Path, runs: int) -> None:
    present = [name for name, statement in IMPORTS.items() if importable(statement, package)]
    settings = dict(zip(COLUMNS, ((package, ""), (package, RUNTIME_PRELOAD), (None, "")), strict=True))
    measures = {
        (name, column): partial(import_ms, IMPORTS[name], where, preload)
        for name in present
        for column, (where, preload) in settings.items()
        if column != "after awslambdaric" or name in (BASELINE, "statefun_faas (core)", "adapters.aws_lambda")
    }
    medians = {key: statistics.median(values) for key, values in interleaved(measures, runs).items()}
    print(f"import CPU time in ms (x the baseline), a fresh process each, median of {runs}")
    print(f"{'module':<42}" + "".join(f"{column:>26}" for column in COLUMNS))
    for name in present:
        cells = [medians.get((name, column)) for column in COLUMNS]
        bases = [medians[BASELINE, column] for column in COLUMNS]
        print(f"{name:<42}" + "".join(_cell(cell, base) for cell, base in zip(cells, bases, strict=True)))
    for name in IMPORTS.keys() - set(present):
        print(f"{name:<42} (not importable here)")


def _cell(value: float | None, base: float) -> str:
    return f"{'':>26}" if value is None else f"{value:>17.1f} ({value / base:.2f}x)"


def success_event() -> dict[str, Any]:
    from statefun_faas import IntType
    from tests.adapters.lambda_events import event_for
    from tests.builders import Request, typed

    body = Request("bench/counter", "a").state("count", typed(IntType, 2)).message(typed(IntType, 3)).bytes()
    return event_for("function_url", "POST", "/statefun", "", body)


def end_to_end_table(folder: Path, runs: int) -> None:
    event = success_event()
    roots = {name: build_package(folder / f"app{index}", source) for index, (name, source) in enumerate(APPS.items())}
    samples = interleaved({name: partial(first_answer_ms, root, event) for name, root in roots.items()}, runs)
    floor = statistics.median(samples[next(iter(APPS))])
    print(f"\nawslambdaric + Runtime API emulator, spawn -> first answer, package with .pyc, median of {runs}")
    print(f"{'handler':<42} {'ms':>8} {'x floor':>9} {'+ ms':>8}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<42} {median:>8.1f} {median / floor:>8.2f}x {median - floor:>8.1f}")


def warm_table(seconds: float, runs: int, instructions: bool) -> None:
    samples = interleaved({name: partial(warm_us, name, seconds) for name in WARM}, runs)
    counts = {name: warm_instructions(name) for name in WARM} if instructions else {}
    core = min(samples["core"])
    print(f"\nwarm CPU time, 1-invocation batches, 1,000 distinct requests cycled; best of {runs} processes")
    print(f"{'contender':<42} {'us/req':>8} {'x core':>9}" + (f" {'instr/req':>11} {'x core':>9}" if counts else ""))
    for name, label in WARM.items():
        best = min(samples[name])
        row = f"{label:<42} {best:>8.1f} {best / core:>8.2f}x"
        if counts:
            row += f" {counts[name]:>11,} {counts[name] / counts['core']:>8.2f}x"
        print(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="fresh processes per import measurement")
    parser.add_argument("--e2e-runs", type=int, default=11, help="runtime spawns per end-to-end contender")
    parser.add_argument("--warm-seconds", type=float, default=1.0, help="timing per warm measurement")
    parser.add_argument("--warm-runs", type=int, default=3, help="processes per warm contender")
    parser.add_argument("--warm-only", action="store_true", help="only the warm per-request table")
    parser.add_argument(
        "--instructions", action="store_true", help="also count warm instructions per request with valgrind (slow)"
    )
    options = parser.parse_args()
    if not options.warm_only:
        with tempfile.TemporaryDirectory(prefix="statefun-faas-cold-start-") as folder:
            import_table(build_package(Path(folder) / "package"), options.runs)
            end_to_end_table(Path(folder), options.e2e_runs)
    warm_table(options.warm_seconds, options.warm_runs, options.instructions)


if __name__ == "__main__":
    main()
