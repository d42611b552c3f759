"""The store's views (statefun_faas/runtime/store/views.py) on a big state folder: how long one page takes.

Run: ``python benchmarks/store_views.py [--addresses N] [--runs R]``

A state folder with N addresses over 4 function types, each with a state value; a third of them with 5
waiting messages, a seventh with a delayed message; the invocation history full (1,000 rows). Each query
is read from a read-only store beside it (as the CLI and the console do), timed R times: the median.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from statefun_faas.runtime.records import Address
from statefun_faas.runtime.store import views
from statefun_faas.runtime.store.database import Store


def fill(folder: Path, count: int) -> None:
    store = Store.in_directory(folder)
    key = [(f"bench/t{i % 4}", f"user-{i:07d}") for i in range(count)]
    with store.transaction() as db:
        db.executemany("INSERT INTO state VALUES (?, ?, 'count', 'io.statefun.types/int', x'0801', NULL)", key)
        waiting = [k for k in key[::3] for _ in range(5)]
        db.executemany("INSERT INTO inbox (typename, id, arg_typename, arg) VALUES (?, ?, 't/x', x'00')", waiting)
        db.executemany(
            "INSERT INTO delayed (fire_at, sender_typename, sender_id, token, typename, id, arg_typename, arg) "
            "VALUES (?, 'bench/s', 's', '', ?, ?, 't/x', x'00')",
            [(time.time() + 3600 + i, *k) for i, k in enumerate(key[::7])],
        )
        db.executemany(
            "INSERT INTO invocations (typename, id, endpoint, seqs, last_seq, started, seconds, requests, outcome) "
            "VALUES (?, ?, 'in-process', ?, ?, 0, 0.001, '[[0,0.001,null]]', 'applied')",
            [(*key[i % count], f"[{i}]", i) for i in range(1000)],
        )
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=100_000, help="addresses in the folder")
    parser.add_argument("--runs", type=int, default=21, help="times each query runs (the median is shown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        fill(Path(folder), args.addresses)
        print(f"{args.addresses:,} addresses written in {time.perf_counter() - started:.1f} s")
        store = Store.read_only(folder)
        middle = Address("bench/t2", f"user-{args.addresses // 2:07d}")
        queries: dict[str, Callable[[], object]] = {
            "addresses, first page of 50": lambda: views.addresses(store),
            "addresses, a page from the middle": lambda: views.addresses(store, after=middle),
            "addresses, one type": lambda: views.addresses(store, typename="bench/t3"),
            "addresses, types by prefix": lambda: views.addresses(store, typename="bench/*"),
            "addresses, id prefix (every type)": lambda: views.addresses(store, id_prefix="user-005"),
            "addresses, id prefix nothing has": lambda: views.addresses(store, id_prefix="nobody"),
            "inbox of one address": lambda: views.inbox(store, Address("bench/t0", "user-0000000")),
            "delayed, first 100": lambda: views.delayed(store),
            "history of one address": lambda: views.history(store, Address("bench/t0", "user-0000000")),
            "story of one message (whole history)": lambda: views.story(store, 500),
            "totals": lambda: views.totals(store),
        }
        print("| query | median ms |\n|---|---|")
        for name, query in queries.items():
            times = []
            for _ in range(args.runs):
                began = time.perf_counter()
                query()
                times.append(time.perf_counter() - began)
            print(f"| {name} | {statistics.median(times) * 1000:.2f} |")
        store.close()


if __name__ == "__main__":
    main()
