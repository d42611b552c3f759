"""``python -m tests.verifier --messages N --seconds S [--seed X] [--faults K,K] [--workdir DIR]``.

Runs the exactly-once verifier once and prints its figures; exit status 1 when a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from pathlib import Path

from tests.verifier.driver import Config, Driver, VerificationError, check
from tests.verifier.faults import KINDS, runnable_kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.verifier", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="roots sent through the ingress")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long sending and fault injection last")
    parser.add_argument("--seed", type=int, default=None, help="default: a random seed (printed)")
    parser.add_argument("--ids", type=int, default=64, help="counter instances")
    parser.add_argument("--depth", type=int, default=4, help="deepest command tree")
    parser.add_argument("--batch", type=int, default=100, help="maxNumBatchRequests of the endpoint")
    parser.add_argument(
        "--faults", default=None, help=f"comma-separated fault kinds (empty: none); default: {','.join(KINDS)}"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="state, module.yaml and logs (default: a temp dir)")
    options = parser.parse_args(argv)
    seed = options.seed if options.seed is not None else random.randrange(2**31)
    print(f"verifier seed {seed}", flush=True)
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="statefun-verifier-"))
    print(f"verifier workdir {workdir}", flush=True)
    if options.faults is None:
        faults = runnable_kinds()
        if len(faults) < len(KINDS):
            print(f"verifier leaves out {', '.join(sorted(set(KINDS) - set(faults)))}: needs root to mount a tmpfs")
    else:
        faults = [kind for kind in options.faults.split(",") if kind]
    config = Config(
        workdir, seed, options.messages, options.seconds, options.ids, options.depth, options.batch, faults=faults
    )
    try:
        report = asyncio.run(Driver(config).run())
        print("\n".join(report.lines()))
        check(report)
    except VerificationError as error:
        print(f"FAILED (seed {seed}): {error}", file=sys.stderr)
        return 1
    print("verifier: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
