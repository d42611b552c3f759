"""The commands that look into a state folder: addresses, inbox, delayed and trace, on a folder the real router
wrote (tests/runtime/store/shop.py) and beside a runtime that holds it (run with --history); each mistake one
line. The commands run in this process (statefun_faas.cli.main), and once in a child without the extras."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from statefun_faas.cli import main, parsers
from statefun_faas.cli.runtime import _options
from statefun_faas.runtime.records import Address
from statefun_faas.runtime.store import views
from statefun_faas.runtime.store.database import Store
from tests.cli.test_extras import HEAVY, without
from tests.runtime.servers import running
from tests.runtime.store.shop import POISON, Shop, order, shop
from tests.runtime.stores import close_opened_stores, opened  # noqa: F401 (an autouse fixture)

#: the shop's egress topic on a playground egress
SHOP_IO = """
kind: io.statefun.playground.v1/egress
spec:
  port: 0
  topics: [orders]
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def folder(tmp_path: Path) -> str:
    """A state folder: bob's orders (one poison), ann's, one message waiting for zed, one nobody serves."""
    shop = Shop(tmp_path)
    shop.deliver([order("bob", "book"), order("bob", POISON), order("bob", "pen")], [order("ann", "ink")])
    shop.deliver([order("x", "1", "test/nowhere")])
    shop.store.enqueue([order("zed", "later " * 40)])
    shop.store.close()
    return str(tmp_path)


def test_addresses_lists_filters_and_pages(capsys: pytest.CaptureFixture[str], folder: str) -> None:
    code, out, err = run(capsys, "addresses", "--state", folder)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "address\tstates\twaiting\tdelayed",
        "test/audit/ann\t1\t0\t0",
        "test/audit/bob\t1\t0\t0",
        "test/orders/ann\t2\t0\t1",
        "test/orders/bob\t2\t0\t2",
        "test/orders/zed\t0\t1\t0",
        "5 address(es)",
    ]
    code, out, _ = run(capsys, "addresses", "--type", "test/orders", "--limit", "2", "--state", folder)
    assert out.splitlines()[1:] == [
        "test/orders/ann\t2\t0\t1",
        "test/orders/bob\t2\t0\t2",
        "2 address(es); the next page: --after test/orders/bob",
    ]
    code, out, _ = run(capsys, "addresses", "--type", "test/*", "--after", "test/orders/bob", "--state", folder)
    assert out.splitlines()[1:] == ["test/orders/zed\t0\t1\t0", "1 address(es)"]
    code, out, _ = run(capsys, "addresses", "--id-prefix", "a", "--state", folder)
    assert [line.split("\t")[0] for line in out.splitlines()[1:-1]] == ["test/audit/ann", "test/orders/ann"]


def test_inbox_shows_the_waiting_messages_decoded(capsys: pytest.CaptureFixture[str], folder: str) -> None:
    code, out, err = run(capsys, "inbox", "test/orders/zed", "--state", folder)
    assert (code, err) == (0, "")
    header, message, total = out.splitlines()
    assert header == "seq\tfrom\ttypename\tbytes\tvalue"
    seq, caller, typename, size, value = message.split("\t")
    assert (caller, typename, size) == ("ingress", "test/text", "240")
    assert value == ("later " * 20)[:117] + "..."  # a long value is cut
    assert total == "1 shown of 1 message(s) waiting for test/orders/zed"
    code, out, _ = run(capsys, "inbox", "test/orders/zed", "--after", seq, "--state", folder)
    assert out.splitlines()[-1] == "0 shown of 1 message(s) waiting for test/orders/zed"
    code, out, _ = run(capsys, "inbox", "test/orders/bob", "--state", folder)
    assert out.splitlines()[-1] == "0 shown of 0 message(s) waiting for test/orders/bob"


def test_delayed_shows_the_pending_reminders(capsys: pytest.CaptureFixture[str], folder: str) -> None:
    code, out, err = run(capsys, "delayed", "--state", folder)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "fires at\tto\tfrom\ttoken\ttypename\tbytes\tvalue"
    rows = [line.split("\t")[1:] for line in lines[1:-1]]
    assert [row[:3] for row in rows] == [
        ["test/orders/bob", "test/orders/bob", "remind-1"],
        ["test/orders/bob", "test/orders/bob", "remind-2"],
        ["test/orders/ann", "test/orders/ann", "remind-1"],
    ]
    assert rows[0][3:] == ["io.statefun.types/string", "8", '"remind"']  # decoded as the state command does
    assert lines[-1] == "3 delayed message(s)"
    code, out, _ = run(capsys, "delayed", "test/orders/ann", "--state", folder)
    assert out.splitlines()[-1] == "1 delayed message(s) to test/orders/ann"
    code, out, _ = run(capsys, "delayed", "--limit", "1", "--state", folder)
    assert out.splitlines()[-1] == "1 delayed message(s); more follow (raise --limit)"


def test_trace_lists_the_last_invocations_and_follows_one_message(
    capsys: pytest.CaptureFixture[str], folder: str
) -> None:
    code, out, err = run(capsys, "trace", "test/orders/bob", "--limit", "2", "--state", folder)
    assert (code, err) == (0, "")
    assert "applied" in out.splitlines()[0]
    assert "  wrote 1 x io.statefun.playground/EgressRecord to egress io.statefun.playground/egress topic orders" in out
    assert out.splitlines()[-1] == "2 invocation(s) of test/orders/bob, newest first; follow one message with --seq N"

    code, out, err = run(capsys, "trace", "test/orders/bob", "--seq", "2", "--state", folder)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "message 2 to test/orders/bob: dead-lettered"
    outcomes = [line.split()[3] for line in lines if line.startswith("  #")]
    assert outcomes == ["isolated", "isolated", "dead-lettered"]
    assert "raised RuntimeError: poison" in out
    assert lines[-1] == "  now dead letter 1: replay it with statefun-faas dead-letters --replay 1"

    code, out, err = run(capsys, "trace", "test/audit/bob", "--seq", "4", "--state", folder)
    lines = out.splitlines()
    assert lines[0] == "message 4 to test/audit/bob: applied"
    assert lines[1].startswith("  sent by test/orders/bob in invocation #2 at ")  # book, isolated from the poison

    [waiting] = views.inbox(opened(Store.read_only(folder)), Address("test/orders", "zed"))
    code, out, _ = run(capsys, "trace", "test/orders/zed", "--seq", str(waiting.seq), "--state", folder)
    assert out.splitlines() == [
        f"message {waiting.seq} to test/orders/zed: waiting",
        "  in the inbox now (waiting, or being delivered): from ingress, test/text, 240 bytes: "
        + ("later " * 20)[:117]
        + "...",
    ]


def test_trace_of_a_type_nobody_serves(capsys: pytest.CaptureFixture[str], folder: str) -> None:
    code, out, _ = run(capsys, "trace", "test/nowhere/x", "--state", folder)
    assert "  endpoint: none serves test/nowhere" in out
    assert "  reason: no endpoint in module.yaml serves function type test/nowhere" in out
    code, out, _ = run(capsys, "trace", "test/nowhere/y", "--state", folder)
    assert (code, out.split(" (")[0]) == (0, "no invocation of test/nowhere/y in the history")


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (("trace", "bob"), 2, "statefun-faas trace: invalid address 'bob': expected NAMESPACE/TYPE/ID"),
        (("inbox", "a/b"), 2, "statefun-faas inbox: invalid address 'a/b'"),
        (("delayed", "nope"), 2, "statefun-faas delayed: invalid address 'nope'"),
        (("addresses", "--after", "x"), 2, "statefun-faas addresses: --after: invalid address 'x'"),
        (("trace", "test/orders/bob", "--seq", "999"), 1, "statefun-faas trace: no message 999 for test/orders/bob"),
    ],
)
def test_a_mistake_is_one_line(
    capsys: pytest.CaptureFixture[str], folder: str, args: tuple[str, ...], code: int, said: str
) -> None:
    got, out, err = run(capsys, *args, "--state", folder)
    assert (got, out, len(err.splitlines())) == (code, "", 1)
    assert err.startswith(said)


@pytest.mark.parametrize("command", [("addresses",), ("inbox", "a/b/c"), ("delayed",), ("trace", "a/b/c")])
def test_no_state_folder_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: tuple[str, ...]
) -> None:
    code, out, err = run(capsys, *command, "--state", str(tmp_path / "none"))
    assert (code, out) == (1, "")
    assert err == f"statefun-faas: no state in '{tmp_path / 'none'}' (pass --state DIR of a runtime that ran)\n"


@pytest.mark.parametrize("option", [("--limit", "0"), ("--limit", "x")])
def test_a_limit_below_one_is_refused(capsys: pytest.CaptureFixture[str], option: tuple[str, str]) -> None:
    with pytest.raises(SystemExit):
        main(["addresses", *option])
    assert "is no number of 1 or more" in capsys.readouterr().err


def test_history_flag_of_run_and_dev(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["run", "--module", "m.yaml"], ["dev", "functions.py"]):
        assert _options(parsers.parser().parse_args(command)).history == 1000
        assert _options(parsers.parser().parse_args([*command, "--history", "0"])).history == 0
        with pytest.raises(SystemExit):
            parsers.parser().parse_args([*command, "--history", "-1"])
        assert "'-1' is no count; give 0 or a whole number above it" in capsys.readouterr().err


def test_the_views_beside_a_runtime_that_holds_the_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The runtime owns the folder (its lock, its writes); the commands read it meanwhile, and the idle
    runtime's history reaches the file without another message."""

    async def go() -> list[tuple[int, str, str]]:
        async with running(tmp_path, SHOP_IO, shop, history=50) as runtime:
            await runtime.router.submit_grouped([order("bob", "book"), order("bob", POISON)])
            await runtime.router.quiescent()
            beside = opened(Store.read_only(tmp_path / "state"))
            deadline = time.monotonic() + 10
            while views.totals(beside).invocations < 4 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            state = str(tmp_path / "state")
            return [
                run(capsys, "addresses", "--state", state),
                run(capsys, "inbox", "test/orders/bob", "--state", state),
                run(capsys, "delayed", "test/orders/bob", "--state", state),
                run(capsys, "trace", "test/orders/bob", "--seq", "2", "--state", state),
            ]

    addresses, inbox, delayed, trace = asyncio.run(go())
    assert addresses[1].splitlines()[1:-1] == ["test/audit/bob\t1\t0\t0", "test/orders/bob\t2\t0\t1"]
    assert inbox[1].splitlines()[-1] == "0 shown of 0 message(s) waiting for test/orders/bob"
    assert delayed[1].splitlines()[-1] == "1 delayed message(s) to test/orders/bob"
    assert trace[1].splitlines()[0] == "message 2 to test/orders/bob: dead-lettered"
    assert [code for code, _, _ in (addresses, inbox, delayed, trace)] == [0, 0, 0, 0]


def test_a_runtime_without_history_keeps_none(tmp_path: Path) -> None:
    async def go() -> None:
        async with running(tmp_path, SHOP_IO, shop, history=0) as runtime:
            await runtime.router.submit_grouped([order("bob", "book")])
            await runtime.router.quiescent()

    asyncio.run(go())
    store = opened(Store.read_only(tmp_path / "state"))
    assert views.totals(store).invocations == 0
    assert views.history(store, Address("test/orders", "bob")) == []


def test_the_views_need_no_extra(folder: str) -> None:
    for command in (("addresses",), ("inbox", "test/orders/zed"), ("delayed",), ("trace", "test/orders/bob")):
        result = without(HEAVY, *command, "--state", folder)
        assert (result.returncode, result.stderr) == (0, ""), command
