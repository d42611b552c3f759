"""The read-only views of a state folder (statefun_faas/runtime/store/views.py): addresses with their counts,
filtered and paged; inboxes, delayed messages and dead letters paged; read beside the owner and from an old
folder. Real SQLite files; the router and the functions of tests/runtime/store/shop.py where messages flow."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

import pytest

from statefun_faas import IntType, StringType
from statefun_faas.runtime.records import Address, DelayedEnvelope, Envelope, Mutation, Spec, Value, Writes
from statefun_faas.runtime.store import views
from statefun_faas.runtime.store.database import DB_NAME, Store
from tests.runtime.store.shop import REMINDER, Shop, order
from tests.runtime.stores import close_opened_stores, opened  # noqa: F401 (an autouse fixture)

NOW = 1_000_000.0


def holding(store: Store, address: Address, states: int = 0, waiting: int = 0, delayed: int = 0) -> None:
    """Give ``address`` state values, waiting messages and delayed messages, written as the router would."""
    mutations = [Mutation(f"s{i}", b"v", "t/v") for i in range(states)]
    later = [
        DelayedEnvelope(NOW + 60 + i, address, f"t{i}", Envelope(address, Value("t/x", b"x"))) for i in range(delayed)
    ]
    store.apply(Writes(address, [], mutations, [], later, [], [], []))
    store.enqueue([Envelope(address, Value("t/x", b"%d" % i)) for i in range(waiting)])


def every_page(store: Store, **filters: str) -> list[views.AddressSummary]:
    found: list[views.AddressSummary] = []
    after = None
    while True:
        page = views.addresses(store, after=after, limit=3, now=NOW, **filters)
        found.extend(page.items)
        if page.next is None:
            return found
        assert page.next == page.items[-1].address
        after = page.next


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return opened(Store(tmp_path / "state.db"))


def test_addresses_are_those_with_state_waiting_or_delayed_messages_with_their_counts(store: Store) -> None:
    holding(store, Address("a/x", "1"), states=2)
    holding(store, Address("a/x", "2"), waiting=3)
    holding(store, Address("a/y", "1"), delayed=2)
    holding(store, Address("a/y", "2"), states=1, waiting=1, delayed=1)
    store.apply(Writes(Address("a/z", "gone"), [], [Mutation("s", None, "t/v")], [], [], [], [], []))  # deleted
    expired = Mutation("s", b"v", "t/v", expires_at=NOW - 1)
    store.apply(Writes(Address("a/z", "expired"), [], [expired], [], [], [], [], []))
    page = views.addresses(store, now=NOW)
    assert [(str(s.address), s.states, s.waiting, s.delayed) for s in page.items] == [
        ("a/x/1", 2, 0, 0),
        ("a/x/2", 0, 3, 0),
        ("a/y/1", 0, 0, 2),
        ("a/y/2", 1, 1, 1),
    ]
    assert page.next is None


def test_addresses_filter_by_type_exactly_or_by_prefix_and_by_id_prefix(store: Store) -> None:
    for typename in ("shop/cart", "shop/carts", "shop/order", "shopping/list", "shoq/x"):
        for id_ in ("u1", "u10", "u2", "v1", "u\U0010ffff", "u\ud7ff"):
            holding(store, Address(typename, id_), states=1)

    def shown(**filters: str) -> list[str]:
        return [str(summary.address) for summary in every_page(store, **filters)]

    assert shown(typename="shop/cart") == [
        f"shop/cart/{i}" for i in ("u1", "u10", "u2", "u\ud7ff", "u\U0010ffff", "v1")
    ]
    assert {a.rsplit("/", 1)[0] for a in shown(typename="shop/*")} == {"shop/cart", "shop/carts", "shop/order"}
    assert {a.rsplit("/", 1)[0] for a in shown(typename="shop*")} == {
        "shop/cart",
        "shop/carts",
        "shop/order",
        "shopping/list",
    }
    assert shown(typename="shop/order", id_prefix="u1") == ["shop/order/u1", "shop/order/u10"]
    assert shown(typename="shop/order", id_prefix="u\U0010ffff") == ["shop/order/u\U0010ffff"]
    assert shown(typename="shop/order", id_prefix="u\ud7ff") == ["shop/order/u\ud7ff"]
    assert len(shown(id_prefix="v")) == 5
    assert shown(typename="nothing/*") == []


def test_every_address_is_on_exactly_one_page(store: Store) -> None:
    expected = []
    for i in range(20):
        address = Address(f"t/{i % 3}", f"id{i:02d}")
        holding(store, address, states=i % 2, waiting=(i + 1) % 2, delayed=int(i % 5 == 0))
        expected.append(address)
    assert [summary.address for summary in every_page(store)] == sorted(expected)
    assert views.addresses(store, limit=20).next is None
    assert views.addresses(store, limit=19).next == sorted(expected)[18]
    with pytest.raises(ValueError, match="limit must be 1 or more"):
        views.addresses(store, limit=0)


def test_one_inbox_and_the_delayed_messages_are_paged_in_order(store: Store) -> None:
    bob, ann = Address("a/x", "bob"), Address("a/x", "ann")
    holding(store, bob, waiting=5, delayed=4)
    holding(store, ann, waiting=1, delayed=2)
    first = views.inbox(store, bob, limit=3)
    rest = views.inbox(store, bob, after=first[-1].seq)
    assert [w.argument.data for w in first + rest] == [b"0", b"1", b"2", b"3", b"4"]
    assert (first[0].caller, first[0].size) == (None, 1)
    assert [p.token for p in views.delayed(store, bob)] == ["t0", "t1", "t2", "t3"]
    page = views.delayed(store, limit=3)
    assert [(p.fire_at, str(p.target)) for p in page] == [
        (NOW + 60, "a/x/bob"),  # the same fire time: in the order they were sent
        (NOW + 60, "a/x/ann"),
        (NOW + 61, "a/x/bob"),
    ]
    following = views.delayed(store, after=page[-1].key, limit=-1)
    assert [(p.fire_at, str(p.target)) for p in following] == [
        (NOW + 61, "a/x/ann"),
        (NOW + 62, "a/x/bob"),
        (NOW + 63, "a/x/bob"),
    ]
    assert (following[0].sender, following[0].argument) == (ann, Value("t/x", b"x"))


def test_views_read_a_running_owners_folder_from_a_read_only_store(tmp_path: Path) -> None:
    shop = Shop(tmp_path)
    shop.deliver([order("bob", "book"), order("ann", "pen")])
    beside = opened(Store.read_only(tmp_path))
    page = views.addresses(beside)
    assert [(str(s.address), s.states, s.waiting, s.delayed) for s in page.items] == [
        ("test/audit/ann", 1, 0, 0),
        ("test/audit/bob", 1, 0, 0),
        ("test/orders/ann", 2, 0, 1),
        ("test/orders/bob", 2, 0, 1),
    ]
    bob = Address("test/orders", "bob")
    [reminder] = views.delayed(beside, bob)
    assert (reminder.target, reminder.sender, reminder.token) == (bob, bob, "remind-1")
    assert reminder.argument.typename == StringType.typename
    assert StringType.serializer().deserialize(reminder.argument.data or b"") == "remind"
    assert reminder.fire_at == pytest.approx(time.time() + REMINDER.total_seconds(), abs=60)
    [count, last] = views.states(beside, bob)
    assert (count.spec, last.spec) == (Spec("count", IntType.typename), Spec("last", StringType.typename))
    assert count.value is not None
    assert IntType.serializer().deserialize(count.value.data or b"") == 1
    assert last.value is not None
    assert StringType.serializer().deserialize(last.value.data or b"") == "book"
    assert views.totals(beside) == views.Totals(waiting=0, delayed=2, dead_letters=0, invocations=4)


def test_dead_letters_are_paged_and_filtered_by_address(store: Store) -> None:
    bob, ann = Address("a/x", "bob"), Address("a/x", "ann")
    for address in (bob, ann, bob):
        holding(store, address, waiting=2)
        store.dead_letter(address, store.inbox(address, 0), f"refused {address.id}")
    first = views.dead_letters(store, limit=4)
    assert [letter.seq for letter in first] == [1, 2, 3, 4]
    assert [letter.seq for letter in views.dead_letters(store, after=4)] == [5, 6]
    assert [letter.seq for letter in views.dead_letters(store, bob)] == [1, 2, 5, 6]
    assert {letter.reason for letter in views.dead_letters(store, ann)} == {"refused ann"}


def test_a_folder_from_before_the_history_reads_as_an_empty_history(tmp_path: Path) -> None:
    """A state folder an older version wrote has no invocations table (nor the delayed target index): read
    beside it, the history is empty; opened by the runtime, both are made and the rest is kept."""
    store = Store.in_directory(tmp_path)
    holding(store, Address("a/x", "bob"), states=1, delayed=1)
    store.db.executescript("DROP TABLE invocations; DROP INDEX delayed_target;")
    store.close()
    beside = opened(Store.read_only(tmp_path))
    assert views.history(beside, Address("a/x", "bob")) == []
    assert views.story(beside, 1).invocations == ()
    assert views.totals(beside).invocations == 0
    assert [s.delayed for s in views.addresses(beside).items] == [1]
    Shop(tmp_path).deliver([order("bob", "book")])
    with contextlib.closing(sqlite3.connect(tmp_path / DB_NAME)) as db:
        indexes = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"delayed_target", "invocations_address"} <= indexes
    assert len(views.history(beside, Address("test/orders", "bob"))) == 1
    assert views.states(beside, Address("a/x", "bob")) == []  # no specs registered for a/x: values unseen
