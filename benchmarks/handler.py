"""How fast the protocol core answers, side by side with the floor and the reference SDK.

Run: ``python benchmarks/handler.py [--seconds S]``. Every contender runs in its own
subprocess (two SDKs' generated classes must not share a descriptor pool) over three corpora
of 1,000 distinct requests each: 1-invocation batches, 100-invocation batches and requests
with missing state. Contenders:

- floor: benchmarks/floor.py, the same function written directly on upb protobuf;
- statefun_faas: our RequestReplyHandler.handle_sync;
- reference-installed: apache-flink-statefun 3.3.0 as pip installs it (protobuf<4, pure Python),
  handle_sync;
- reference-upb: the same wheel forced onto our protobuf (upb), handle_async on a kept loop.

Before timing, each contender's responses to the corpus are hashed: the table says whether
every contender answered byte for byte like the floor. Then the import time of
``statefun_faas`` against protobuf plus our generated modules alone.
Times are CPU time of the best of alternating rounds; ``--instructions N`` adds counts of
instructions per request under valgrind (deterministic, whatever else the machine does).
Targets: statefun_faas <= 1.5x the floor on both batch corpora, <= 2x on missing state,
import <= 1.25x.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.venvs import ensure_venv  # noqa: E402  (after the path set-up)

CORPORA = ("batch1", "batch100", "missing")
REFERENCE = "apache-flink-statefun==3.3.0"


def interpreters() -> dict[str, Path]:
    ours = Path(sys.executable)
    protobuf = f"protobuf=={metadata.version('protobuf')}"
    return {
        "floor": ours,
        "statefun_faas": ours,
        "reference-installed": ensure_venv("reference", [REFERENCE]),
        "reference-upb": ensure_venv("reference-upb", ["--no-deps", protobuf, REFERENCE]),
    }


def run(python: Path, name: str, corpus: str, seconds: float, size: int) -> dict[str, object]:
    command = [str(python), "-P", str(HERE / "_handler_worker.py"), name, corpus, str(seconds)]
    env = {"PYTHONPATH": str(HERE), "BENCH_CORPUS_SIZE": str(size)}
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=env, cwd=ROOT).stdout
    result: dict[str, object] = json.loads(output)
    return result


def best_of_rounds(pythons: dict[str, Path], corpus: str, options: argparse.Namespace) -> dict[str, dict[str, object]]:
    """Each contender's best process over ``--rounds`` rounds that alternate the contenders.

    A shared machine's load comes and goes; alternating lets it hit every contender alike,
    and the best round is the one least disturbed.
    """
    best: dict[str, dict[str, object]] = {}
    for _ in range(options.rounds):
        for name, python in pythons.items():
            result = run(python, name, corpus, options.seconds, options.corpus_size)
            if name not in best or float(str(result["us"])) < float(str(best[name]["us"])):
                best[name] = result
    return best


def instructions(python: Path, name: str, corpus: str, size: int) -> int:
    """Instructions per request under valgrind's callgrind: deterministic, whatever the machine's load.

    The difference between a run with two passes over the corpus and one with one pass, so
    start-up and corpus building cancel out.
    """
    counts = []
    for passes in (1, 2):
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", str(python), "-P"]
        command += [str(HERE / "_handler_worker.py"), name, corpus, "0"]
        env = {"PYTHONPATH": str(HERE), "BENCH_CORPUS_SIZE": str(size), "BENCH_PASSES": str(passes)}
        done = subprocess.run(command, capture_output=True, text=True, check=True, env=env, cwd=ROOT)
        counts.append(int(re.search(r"Collected : (\d+)", done.stderr).group(1)))  # type: ignore[union-attr]
    return (counts[1] - counts[0]) // size


def print_instructions(pythons: dict[str, Path], size: int) -> None:
    print(f"\n{'corpus':<10} {'contender':<20} {'instructions/request':>21} {'x floor':>8}   (callgrind)")
    for corpus in CORPORA:
        floor = instructions(pythons["floor"], "floor", corpus, size)
        for name in ("floor", "statefun_faas", "reference-upb"):
            count = floor if name == "floor" else instructions(pythons[name], name, corpus, size)
            print(f"{corpus:<10} {name:<20} {count:>21,} {count / floor:>7.2f}x")


IMPORT_PROBE = "import time; t = time.perf_counter(); {}; print(time.perf_counter() - t)"
GENERATED = (
    "import sys; sys.path.insert(0, 'statefun_faas/_proto'); "
    "import request_reply_pb2, types_pb2, kafka_egress_pb2, kinesis_egress_pb2"
)


def import_ms(statement: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        probe = IMPORT_PROBE.format(f"exec({statement!r})")
        out = subprocess.run([sys.executable, "-P", "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
        times.append(float(out.stdout) * 1000.0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum timing per contender and corpus")
    parser.add_argument("--import-runs", type=int, default=21)
    parser.add_argument("--corpus-size", type=int, default=1000, help="distinct requests per corpus")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; each contender's best counts")
    parser.add_argument(
        "--instructions",
        type=int,
        metavar="N",
        default=0,
        help="also count instructions per request with valgrind over N requests per corpus (slow)",
    )
    options = parser.parse_args()
    pythons = interpreters()
    print(f"{'corpus':<10} {'contender':<20} {'us/request':>11} {'x floor':>8}  same bytes as floor")
    for corpus in CORPORA:
        results = best_of_rounds(pythons, corpus, options)
        floor = results["floor"]
        for name, result in results.items():
            ratio = float(str(result["us"])) / float(str(floor["us"]))
            same = "yes" if result["digest"] == floor["digest"] else "NO"
            print(f"{corpus:<10} {name:<20} {float(str(result['us'])):>11.1f} {ratio:>7.2f}x  {same}")
    if options.instructions:
        print_instructions(pythons, options.instructions)
    baseline = import_ms(GENERATED, options.import_runs)
    ours = import_ms("import statefun_faas", options.import_runs)
    print()
    print(f"{'import':<42} {'ms (median)':>11} {'ratio':>7}")
    print(f"{'protobuf + generated modules alone':<42} {baseline:>11.1f} {1.0:>6.2f}x")
    print(f"{'statefun_faas':<42} {ours:>11.1f} {ours / baseline:>6.2f}x")


if __name__ == "__main__":
    main()
