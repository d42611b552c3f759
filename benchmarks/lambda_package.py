"""Cold import of the packaged Lambda handler, with and without the precompiled .pyc step.

Run: ``python benchmarks/lambda_package.py [--runs 21] [--python X.Y]``

Builds two zips with ``statefun-faas package aws`` for this machine (its Python version unless
``--python`` says otherwise, x86_64 so that they import here): one as shipped (unchecked-hash
``.pyc``), one with ``--no-compile``. Each is unpacked the way Lambda does it and
``import statefun_handler`` is timed in fresh interpreters that can not write bytecode
(``-B``: Lambda's code folder is read-only, so nothing compiled on one cold start helps
the next). The two variants are interleaved; median and minimum of ``--runs`` each.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

FUNCTIONS = """\
from statefun_faas import Context, IntType, Message, StatefulFunctions, ValueSpec

functions = StatefulFunctions()


@functions.bind("example/greeter", specs=[ValueSpec("seen", IntType)])
def greeter(context: Context, message: Message) -> None:
    context.storage.seen = (context.storage.seen or 0) + 1
"""
PROBE = (
    "import sys, time; sys.path.insert(0, sys.argv[1]); started = time.perf_counter(); "
    "import statefun_handler; print((time.perf_counter() - started) * 1000)"
)
VARIANTS = {"with .pyc (unchecked-hash)": [], "sources only (--no-compile)": ["--no-compile"]}


def build(work: Path, python: str, extra: list[str], name: str) -> Path:
    """Package the benchmark's functions module and unpack the zip into its own task folder."""
    (work / "greeter.py").write_text(FUNCTIONS, encoding="utf-8")
    output = work / f"{name}.zip"
    command = [sys.executable, "-m", "statefun_faas.cli", "package", "aws", "greeter.py", "-o", str(output)]
    command += ["--python", python, "--arch", "x86_64", *extra]
    subprocess.run(command, cwd=work, check=True, stdout=subprocess.DEVNULL)
    task = work / name
    with zipfile.ZipFile(output) as archive:
        archive.extractall(task)
    return task


def interpreter(python: str) -> str:
    from statefun_faas.deploy.lambda_platform import interpreter as find

    return find(python)


def cold_import_ms(executable: str, task: Path) -> float:
    done = subprocess.run([executable, "-I", "-B", "-c", PROBE, str(task)], capture_output=True, text=True, check=True)
    return float(done.stdout)


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--runs", type=int, default=21)
    cli.add_argument("--python", default=f"{sys.version_info[0]}.{sys.version_info[1]}")
    args = cli.parse_args()
    executable = interpreter(args.python)
    with tempfile.TemporaryDirectory(prefix="lambda-package-bench-") as folder:
        work = Path(folder)
        tasks = {label: build(work, args.python, extra, f"v{i}") for i, (label, extra) in enumerate(VARIANTS.items())}
        for task in tasks.values():
            cold_import_ms(executable, task)  # warm the page cache
        times: dict[str, list[float]] = {label: [] for label in tasks}
        for _ in range(args.runs):
            for label, task in tasks.items():
                times[label].append(cold_import_ms(executable, task))
    report(times, args.python, args.runs)


def report(times: dict[str, list[float]], python: str, runs: int) -> None:
    print(f"cold `import statefun_handler` from the unpacked Lambda zip, Python {python}, {runs} runs each")
    print(f"{'package':<30} {'median ms':>10} {'min ms':>8}")
    for label, values in times.items():
        print(f"{label:<30} {statistics.median(values):>10.1f} {min(values):>8.1f}")
    with_pyc, without = (statistics.median(values) for values in times.values())
    print(f"ratio sources-only / with .pyc: {without / with_pyc:.2f}x")


if __name__ == "__main__":
    main()
