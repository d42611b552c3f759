"""The invocation history (statefun_faas/runtime/store/history.py) under the real router on a real state folder:
what a row says of an applied, retried, isolated and dead-lettered batch, one message's story, the window kept
bounded, the rows written by the router's own transactions, and the seqs that name one message each."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from statefun_faas.runtime.records import Address
from statefun_faas.runtime.store import views
from statefun_faas.runtime.store.database import DB_NAME, Store
from statefun_faas.runtime.store.history import Egressed, Sent
from tests.runtime.store.shop import POISON, REMINDER, Shop, order
from tests.runtime.stores import close_opened_stores, opened  # noqa: F401 (an autouse fixture)

BOB = Address("test/orders", "bob")
EGRESS = "io.statefun.playground/egress"
STRING = "io.statefun.types/string"


def test_an_applied_invocation_keeps_its_endpoint_requests_and_effects(tmp_path: Path) -> None:
    shop = Shop(tmp_path)
    shop.deliver([order("bob", "book"), order("bob", "pen")], [order("bob", "forget"), order("bob", "cancel")])
    second, first = views.history(shop.store, BOB)
    assert (first.seqs, first.outcome, first.endpoint, first.reason, first.dead_letters) == (
        (1, 2),
        "applied",
        "in-process",
        None,
        (),
    )
    # the first request finds the states unregistered: a second round carries them; neither failed
    assert [request.error for request in first.requests] == [None, None]
    assert first.failures == 0
    assert first.seconds >= sum(request.seconds for request in first.requests) > 0
    assert first.effects is not None
    assert (first.effects.modified, first.effects.deleted) == (("count", "last"), ())
    assert first.effects.messages == (Sent(Address("test/audit", "bob"), STRING, 2),)
    assert [(d.target, d.delay, d.token) for d in first.effects.delayed] == [
        (BOB, REMINDER.total_seconds(), "remind-1"),
        (BOB, REMINDER.total_seconds(), "remind-2"),
    ]
    assert first.effects.egress == (Egressed(EGRESS, "orders", "io.statefun.playground/EgressRecord", 2),)
    assert first.effects.sent_seqs == range(3, 5)
    audit = views.story(shop.store, 4, Address("test/audit", "bob"))
    assert (audit.outcome, audit.sent_by) == ("applied", first)
    assert views.story(shop.store, 1, BOB).sent_by is None  # from an ingress
    assert second.seqs == (5, 6)  # the audit messages got 3 and 4 as the first batch was applied
    assert second.effects is not None
    assert (second.effects.modified, second.effects.deleted) == (("count", "last"), ())  # "forget", then set again
    assert second.effects.cancelled == ("remind-3",)
    assert second.n > first.n


def test_a_poison_message_s_story_isolated_retried_dead_lettered_with_its_dead_letter(tmp_path: Path) -> None:
    shop = Shop(tmp_path)
    shop.deliver([order("bob", "a"), order("bob", POISON), order("bob", "b")])
    story = views.story(shop.store, 2, BOB)
    assert story.outcome == "dead-lettered"
    assert [(i.seqs, i.outcome) for i in story.invocations] == [
        ((1, 2, 3), "isolated"),
        ((2, 3), "isolated"),
        ((2,), "dead-lettered"),
    ]
    dead = story.invocations[-1]
    assert [request.error for request in dead.requests] == [
        "function 'test/orders' with id 'bob' raised RuntimeError: poison"
    ] * 3
    assert dead.failures == 3
    assert dead.reason is not None
    assert dead.reason.startswith("function 'test/orders' with id 'bob' raised RuntimeError: poison")
    [letter] = shop.store.dead_letters()
    assert story.dead_letter == letter
    assert dead.dead_letters == (letter.seq,)
    assert views.story(shop.store, 2).invocations == story.invocations  # the seq alone finds it too
    applied = views.story(shop.store, 3, BOB)
    assert [(i.seqs, i.outcome) for i in applied.invocations] == [
        ((1, 2, 3), "isolated"),
        ((2, 3), "isolated"),
        ((3,), "applied"),
    ]
    assert (applied.outcome, applied.dead_letter) == ("applied", None)


def test_a_replayed_dead_letter_is_no_longer_the_story_s_dead_letter(tmp_path: Path) -> None:
    shop = Shop(tmp_path)
    shop.deliver([order("bob", POISON)])
    assert views.story(shop.store, 1, BOB).dead_letter is not None
    shop.store.replay()
    shop.store.dead_letter(BOB, shop.store.inbox(BOB, 0), "another reason")  # the same id, given again
    story = views.story(shop.store, 1, BOB)
    assert (story.outcome, story.dead_letter) == ("dead-lettered", None)
    replayed = views.story(shop.store, 2, BOB)  # the replayed message got a seq of its own
    assert (replayed.outcome, replayed.invocations, replayed.waiting) == ("unknown", (), None)


def test_a_message_waiting_and_one_never_stored(tmp_path: Path) -> None:
    shop = Shop(tmp_path)
    shop.store.enqueue([order("bob", "later")])
    story = views.story(shop.store, 1, BOB)
    assert story.outcome == "waiting"
    assert story.waiting is not None
    assert (story.waiting.seq, story.waiting.argument.data, story.address) == (1, b"later", BOB)
    assert views.story(shop.store, 1, Address("test/orders", "ann")).outcome == "unknown"
    assert views.story(shop.store, 99).outcome == "unknown"


def test_a_type_no_endpoint_serves_is_an_invocation_without_requests(tmp_path: Path) -> None:
    shop = Shop(tmp_path)
    shop.deliver([order("x", "1", "test/nowhere")])
    [record] = views.history(shop.store, Address("test/nowhere", "x"))
    assert (record.endpoint, record.requests, record.outcome) == ("", (), "dead-lettered")
    assert record.reason == "no endpoint in module.yaml serves function type test/nowhere"
    assert record.dead_letters == (1,)


def test_the_history_keeps_the_newest_invocations_only(tmp_path: Path) -> None:
    shop = Shop(tmp_path, keep=5)
    shop.deliver(*([order("bob", f"m{i}")] for i in range(12)))
    kept = views.history(shop.store, BOB, limit=-1)
    assert views.totals(shop.store).invocations == 5  # the audit messages' invocations were pruned too
    assert [r.n for r in kept] == sorted((r.n for r in kept), reverse=True)
    everyone = [r.n for a in (BOB, Address("test/audit", "bob")) for r in views.history(shop.store, a, limit=-1)]
    assert sorted(everyone) == list(range(max(everyone) - 4, max(everyone) + 1))
    shop.store.close()
    smaller = Shop(tmp_path, keep=2)  # a smaller window at the next start is kept from then on
    assert views.totals(smaller.store).invocations == 2
    smaller.store.close()
    assert views.totals(Shop(tmp_path, keep=0).store).invocations == 0


def test_a_page_of_history_goes_back_from_before(tmp_path: Path) -> None:
    shop = Shop(tmp_path)
    shop.deliver(*([order("bob", f"m{i}")] for i in range(5)))
    newest = views.history(shop.store, BOB, limit=2)
    older = views.history(shop.store, BOB, before=newest[-1].n, limit=10)
    assert [r.seqs for r in newest + older] == [(s,) for s in (9, 7, 5, 3, 1)]


def transactions(folder: Path, keep: int | None) -> tuple[int, list[int]]:
    """Deliver 20 messages to two addresses: the store's transactions, and the history's rows as each began."""
    shop = Shop(folder, keep=keep)
    began: list[int] = []
    count = "SELECT count(*) FROM invocations"
    # SQLite's trace hook sees each statement; a read of the table beside it sees what is written
    beside = opened(Store.read_only(folder))
    shop.store.db.set_trace_callback(
        lambda sql: began.append(beside.db.execute(count).fetchone()[0]) if sql == "BEGIN IMMEDIATE" else None
    )
    shop.deliver(*([order("bob", f"m{i}"), order("ann", f"m{i}")] for i in range(10)))
    return len(began), began


def test_the_history_adds_no_transaction_per_batch(tmp_path: Path) -> None:
    """The router's transactions write no history; the history writes its rows later, a chunk at a time: here
    one transaction for the 40 invocations (bob's, ann's and their audit's, 10 times)."""
    without, _ = transactions(tmp_path / "off", None)
    with_history, rows = transactions(tmp_path / "on", 1000)
    assert with_history == without + 1
    assert set(rows) == {0}  # before the history's own transaction began, no row was written
    assert views.totals(opened(Store.read_only(tmp_path / "on"))).invocations == 40


def test_the_history_writes_in_chunks_only_the_invocations_it_keeps(tmp_path: Path) -> None:
    """Observed faster than written, the older invocations are dropped before they cost a row: a write turns
    the newest ``keep`` into rows, ``most`` per transaction."""
    shop = Shop(tmp_path, keep=5)
    history = shop.history
    assert history is not None
    router = shop.deliver(*([order("bob", f"m{i}")] for i in range(12)), write=False)
    assert router.counters.batches == 24
    beside = opened(Store.read_only(tmp_path))
    written = []
    while history.write(most=2):
        written.append(views.totals(beside).invocations)
    assert [*written, views.totals(beside).invocations] == [2, 4, 5]
    assert [r.seqs for r in views.history(beside, BOB, limit=-1)] == [(23,), (21,)]
    assert [r.seqs for r in views.history(beside, Address("test/audit", "bob"), limit=-1)] == [(24,), (22,), (20,)]
    assert [r.n for r in views.history(beside, BOB, limit=-1)] == [4, 2]  # n counts the rows written


def test_seqs_are_never_given_twice_even_once_the_inbox_is_empty(tmp_path: Path) -> None:
    """Regression: a seq was the inbox's largest plus one, so once an address's message was applied the next
    message got its seq again, and a seq named many messages of the history."""
    shop = Shop(tmp_path)
    shop.deliver([order("bob", "a")], [order("bob", "b")])
    assert [r.seqs for r in views.history(shop.store, BOB)] == [(3,), (1,)]
    shop.store.close()
    again = Shop(tmp_path)  # after a restart too: past the seqs the history names
    again.deliver([order("bob", "c")])
    assert views.history(again.store, BOB)[0].seqs == (5,)


def test_a_history_that_can_not_be_written_leaves_the_invocations_applied(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shop = Shop(tmp_path)
    shop.store.db.execute("DROP TABLE invocations")  # e.g. a folder another version changed under the runtime
    with caplog.at_level(logging.WARNING):
        shop.deliver([order("bob", "a")])
    assert "the invocation history could not be written: no such table: invocations" in caplog.text
    assert [r.payload for r in shop.store.egress_records()] != []
    assert shop.store.inbox_size() == 0


def test_a_read_only_store_sees_the_rows_the_owner_wrote(tmp_path: Path) -> None:
    shop = Shop(tmp_path)
    shop.deliver([order("bob", "a")])
    beside = opened(Store.read_only(tmp_path))
    assert [r.seqs for r in views.history(beside, BOB)] == [(1,)]
    with pytest.raises(ValueError, match="keeps 0 or more invocations"):
        Shop(tmp_path / "other", keep=-1)


def test_a_write_lock_held_elsewhere_puts_the_history_off_without_waiting(tmp_path: Path) -> None:
    """Regression: the history's write waited the busy timeout (the event loop with it) for a lock another
    connection held, then dropped its rows; it now keeps them for the next write, at once. The timeout is
    a minute here: waiting, the test would take that long and find no row kept."""
    shop = Shop(tmp_path)
    history = shop.history
    assert history is not None
    shop.deliver([order("bob", "a")], write=False)
    shop.store.db.execute("PRAGMA busy_timeout=60000")
    other = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        assert history.write() is False
        assert shop.store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 60000
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert views.totals(shop.store).invocations == 0
    assert history.write() is False  # all written: nothing more waits
    assert [r.seqs for r in views.history(shop.store, BOB)] == [(1,)]
