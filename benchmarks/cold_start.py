"""Cold start of the adapters: import time, and spawn-to-first-answer through awslambdaric.

Run: ``python benchmarks/cold_start.py [--runs N] [--e2e-runs N]``.

1. Import time of each adapter module against protobuf plus our generated modules alone
   (the baseline), each measured in a fresh ``python -P -c`` process (median of N, the
   contenders interleaved so machine load hits them alike). Two columns: in a plain
   interpreter, and after the modules awslambdaric itself imports before it loads a handler
   (logging, json, traceback, ...: already paid for on Lambda). Target: the Lambda adapter
   <= 1.3x the baseline.
2. End to end through the real Lambda runtime loop: spawn ``python -m awslambdaric
   app.handler`` against the Runtime API emulator of the tests, queue one function URL
   event, stop the clock at the first answer. Contenders: an echo handler (no protobuf,
   the floor), the thin adapter, and mangum (lifespan off) in front of the ASGI app.
3. Warm per-request cost of the Lambda handler (function URL event, base64 both ways,
   request log line on) against calling the core directly on 1-invocation batches, each
   contender in its own process (benchmarks/_lambda_warm.py). Target: <= 1.5x.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # appended: the installed statefun_faas (with its adapters) stays first

from benchmarks.handler import GENERATED  # noqa: E402  (after the path set-up)
from tests.adapters.lambda_runtime_emulator import Result, RuntimeApiEmulator, runtime_env, write_task_root  # noqa: E402

K = TypeVar("K")

IMPORTS = {
    "protobuf + generated modules (baseline)": GENERATED,
    "statefun_faas (core)": "import statefun_faas",
    "adapters.aws_lambda": "import statefun_faas.adapters.aws_lambda",
    "adapters.asgi": "import statefun_faas.adapters.asgi",
    "adapters.wsgi": "import statefun_faas.adapters.wsgi",
    "adapters.gcp": "import statefun_faas.adapters.gcp",
    "adapters.azure": "import statefun_faas.adapters.azure",
    "mangum + adapters.asgi": "import mangum, statefun_faas.adapters.asgi",
}

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
        + "from statefun_faas.adapters.aws_lambda import lambda_handler\n"
        + "handler = lambda_handler(functions)\n"
    ),
    "mangum + asgi_app, lifespan off": (
        FUNCTIONS + "from mangum import Mangum\nfrom statefun_faas.adapters.asgi import asgi_app\n"
        "handler = Mangum(asgi_app(functions), lifespan='off')\n"
    ),
}


def available(statement: str) -> bool:
    """Whether the modules of ``statement`` import at all here (adapters land one by one)."""
    probe = subprocess.run([sys.executable, "-P", "-c", statement], capture_output=True, cwd=ROOT)
    return probe.returncode == 0


def interleaved(measures: Mapping[K, Callable[[], float]], runs: int) -> dict[K, list[float]]:
    """Run every measure ``runs`` times round-robin, after one discarded warm-up each (.pyc files)."""
    samples: dict[K, list[float]] = {name: [] for name in measures}
    for measure in measures.values():
        measure()
    for _ in range(runs):
        for name, measure in measures.items():
            samples[name].append(measure())
    return samples


PROBE = "{preload}import time; t = time.perf_counter(); exec({statement!r}); print(time.perf_counter() - t)"

#: What awslambdaric has imported before it imports the handler module: free for the handler.
RUNTIME_PRELOAD = "import awslambdaric.__main__, awslambdaric.bootstrap; "
LAMBDA_ROWS = ("protobuf + generated modules (baseline)", "statefun_faas (core)", "adapters.aws_lambda")


def import_ms(statement: str, preload: str = "", attempts: int = 3) -> float:
    """One fresh-process import time in ms; retried a little, as a reinstall of the editable
    package (which rebuilds its link tree) makes an import fail for a moment."""
    command = [sys.executable, "-P", "-c", PROBE.format(preload=preload, statement=statement)]
    for attempt in range(attempts):
        run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if run.returncode == 0:
            return float(run.stdout) * 1000.0
        if attempt == attempts - 1:
            raise RuntimeError(f"{statement!r} failed:\n{run.stderr}")
        time.sleep(1.0)
    raise AssertionError("unreachable")


def import_table(runs: int) -> None:
    present = {name: statement for name, statement in IMPORTS.items() if available(statement)}
    measures = {(name, ""): partial(import_ms, statement) for name, statement in present.items()}
    measures |= {(name, "rt"): partial(import_ms, IMPORTS[name], RUNTIME_PRELOAD) for name in LAMBDA_ROWS}
    medians = {key: statistics.median(values) for key, values in interleaved(measures, runs).items()}
    base, base_rt = medians[LAMBDA_ROWS[0], ""], medians[LAMBDA_ROWS[0], "rt"]
    print(f"import time in ms, a fresh process each, median of {runs}")
    print(f"{'module':<42} {'plain':>8} {'x base':>7} {'after awslambdaric':>19} {'x base':>7}")
    for name in present:
        plain = f"{medians[name, '']:>8.1f} {medians[name, ''] / base:>6.2f}x"
        rt = medians.get((name, "rt"))
        after = f"{rt:>19.1f} {rt / base_rt:>6.2f}x" if rt is not None else ""
        print(f"{name:<42} {plain} {after}")
    for name in IMPORTS.keys() - present.keys():
        print(f"{name:<42} (not importable here)")
    print("(after awslambdaric: the modules the Lambda runtime loads before the handler are already there)")


def success_event() -> dict[str, Any]:
    from statefun_faas import IntType
    from tests.adapters.lambda_events import event_for
    from tests.builders import Request, typed

    body = Request("bench/counter", "a").state("count", typed(IntType, 2)).message(typed(IntType, 3)).bytes()
    return event_for("function_url", "POST", "/statefun", "", body)


def wait_for(api: RuntimeApiEmulator, request_id: str, process: subprocess.Popen[bytes]) -> Result:
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline:
        try:
            return api.result(request_id, timeout=0.005)
        except TimeoutError:
            if api.init_errors or process.poll() is not None:
                raise RuntimeError(f"the runtime failed to start: {api.init_errors}") from None
    raise TimeoutError("no answer from the runtime within 60 s")


def first_answer_ms(task_root: Path, event: dict[str, Any]) -> float:
    """Spawn the runtime loop and time it until the first answer to ``event`` is back."""
    api = RuntimeApiEmulator()
    request_id = api.submit(event)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "awslambdaric", "app.handler"],
        cwd=task_root,
        env=runtime_env(api, task_root, "app.handler"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        result = wait_for(api, request_id, process)
        elapsed = (time.perf_counter() - started) * 1000.0
    finally:
        process.kill()
        process.wait()
        api.close()
    if result.kind != "response" or result.payload.get("statusCode") != 200:
        raise RuntimeError(f"{task_root}: the first answer was not a success: {result}")
    base64.b64decode(result.payload["body"], validate=True)
    return elapsed


def end_to_end_table(runs: int) -> None:
    event = success_event()
    with tempfile.TemporaryDirectory() as folder:
        roots = {}
        for index, (name, source) in enumerate(APPS.items()):
            roots[name] = Path(folder) / f"app{index}"
            roots[name].mkdir()
            write_task_root(roots[name], source)
        measures = {name: partial(first_answer_ms, root, event) for name, root in roots.items()}
        samples = interleaved(measures, runs)
    floor = statistics.median(samples[next(iter(APPS))])
    print(f"\nawslambdaric + Runtime API emulator, spawn -> first answer, median of {runs}")
    print(f"{'handler':<42} {'ms':>8} {'x floor':>11} {'+ ms':>8}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<42} {median:>8.1f} {median / floor:>10.2f}x {median - floor:>8.1f}")


def warm_table(seconds: float, runs: int) -> None:
    worker = str(Path(__file__).resolve().parent / "_lambda_warm.py")

    def measure(contender: str) -> float:
        run = subprocess.run([sys.executable, "-P", worker, contender, str(seconds)], capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"warm worker {contender} failed:\n{run.stderr}")
        return float(run.stdout)

    contenders = ("core", "aws_lambda", "mangum")
    samples = interleaved({name: partial(measure, name) for name in contenders}, runs)
    core = statistics.median(samples["core"])
    print(f"\nwarm, 1-invocation batches, 1,000 distinct requests cycled, request log on; median of {runs} processes")
    print(f"{'contender':<42} {'us/req':>8} {'x core':>11}")
    labels = {
        "core": "RequestReplyHandler.handle_sync (core)",
        "aws_lambda": "aws_lambda handler, function URL event",
        "mangum": "mangum + asgi_app, function URL event",
    }
    for name in contenders:
        median = statistics.median(samples[name])
        print(f"{labels[name]:<42} {median:>8.1f} {median / core:>10.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="fresh processes per import measurement")
    parser.add_argument("--e2e-runs", type=int, default=11, help="runtime spawns per end-to-end contender")
    parser.add_argument("--warm-seconds", type=float, default=1.0, help="timing per warm measurement")
    parser.add_argument("--warm-runs", type=int, default=3, help="processes per warm contender")
    options = parser.parse_args()
    import_table(options.runs)
    end_to_end_table(options.e2e_runs)
    warm_table(options.warm_seconds, options.warm_runs)


if __name__ == "__main__":
    main()
