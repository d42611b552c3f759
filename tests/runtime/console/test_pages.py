"""The console's pages on a real runtime (the test app in-process), read over HTTP on loopback."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path

import pytest

from statefun_faas.runtime.records import Address
from tests.runtime.console.client import console_runtime, send, waiting

ALICE = "console/counter/alice"


def cells(page: str) -> list[list[str]]:
    """The body rows of a page's tables as text (tags dropped, entities decoded, one space between words)."""
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)]
    return [[words(cell) for cell in row] for row in rows if row]


def words(page: str) -> str:
    """The page's text, tags dropped, one space between words."""
    body = page.rpartition("</head>")[2]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def row_of(page: str, first: str) -> list[str]:
    found = [row for row in cells(page) if row and row[0] == first]
    assert found, f"no row starting {first!r} in {cells(page)}"
    return found[0]


def test_overview_counts_what_happened_and_functions_list_the_types(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with console_runtime(tmp_path) as (runtime, client):
            await send(runtime, ALICE, "one", "two", "later")
            overview = await client.get("/")
            assert overview.status == 200
            assert overview.headers["Content-Type"] == "text/html; charset=utf-8"
            assert "default-src 'none'" in overview.headers["Content-Security-Policy"]
            text = words(overview.text)
            assert re.search(r"\b6 messages delivered\b", text), text  # 3 to the counter, 3 to the audit
            assert re.search(r"\b1 delayed messages pending\b", text), text
            assert re.search(r"\b0 dead letters\b", text), text
            assert f"console {runtime.ports['console']}" in text
            functions = await client.get("/functions")
            counter = row_of(functions.text, "console/counter")
            assert "count: io.statefun.types/int" in counter[1]
            assert "seen: type.googleapis.com/google.protobuf.Timestamp" in counter[1]
            assert row_of(functions.text, "console/audit")[1] == "seen: io.statefun.types/int"

    asyncio.run(scenario())


def test_an_address_shows_its_state_decoded_its_inbox_and_its_delayed_messages(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with console_runtime(tmp_path) as (runtime, client):
            await send(runtime, ALICE, "one", "later")
            waiting(runtime, Address("console/counter", "alice"), "queued <i>up</i>")
            page = await client.get(f"/address/{ALICE}")
            assert page.status == 200
            assert row_of(page.text, "count")[2] == "2 primitive"
            profile = row_of(page.text, "profile")[2]
            assert '"note": "<b>not bold</b>"' in profile  # pretty JSON, shown as text
            assert "&lt;b&gt;not bold&lt;/b&gt;" in page.text
            assert "<b>not bold" not in page.text
            assert row_of(page.text, "seen")[2] == '"2023-11-14T22:13:22Z" protobuf: google.protobuf.Timestamp'
            assert row_of(page.text, "blob")[2].startswith("00ff02 bytes")
            assert "Inbox (1 waiting)" in page.text
            inbox = [row for row in cells(page.text) if row[1:2] == ["ingress"]]
            assert [row[1:] for row in inbox] == [["ingress", "console/Text", "queued <i>up</i> text"]]
            assert f'href="/messages/{inbox[0][0]}?address=console%2Fcounter%2Falice"' in page.text
            delayed = [row for row in cells(page.text) if "reminder" in row]
            assert delayed
            assert delayed[0][1:4] == [ALICE, "reminder", "io.statefun.types/string"]
            assert "&lt;i&gt;up&lt;/i&gt;" in page.text

    asyncio.run(scenario())


def test_the_history_of_an_address_and_the_story_of_one_message(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with console_runtime(tmp_path) as (runtime, client):
            await send(runtime, ALICE, "one", "poison")
            for _ in range(100):  # the history is written apart from the message path, twice a second
                page = await client.get(f"/address/{ALICE}")
                history = [row for row in cells(page.text) if len(row) == 8]
                if len(history) == 2:
                    break
                await asyncio.sleep(0.1)
            outcomes = [row[6].split(":")[0].strip() for row in history]
            assert outcomes == ["dead-lettered", "applied"], history  # newest first
            applied = history[1]
            assert applied[3] == "in-process"
            assert "set blob, count, profile, seen" in applied[7]
            assert "sent io.statefun.types/string to console/audit/alice x1" in applied[7]
            dead = history[0]
            assert dead[5].startswith("3 (3 failed)")
            assert dead[5].count("cannot digest poison") == 1  # the same failure in a row, said once
            assert " 3 x function 'console/counter' with id 'alice' raised RuntimeError" in dead[5]
            assert "cannot digest poison" in dead[6]
            seq = dead[4]
            story = await client.get(f"/messages/{seq}?address={ALICE}")
            assert story.status == 200
            assert "Outcome: <b>dead-lettered</b>" in story.text
            assert "It is dead letter" in story.text
            assert "value poison text" in words(story.text)  # the letter's value (console/Text)
            assert '<input type="hidden" name="seq" value="1">' in story.text  # replay or discard it from here
            audit = applied[7].partition("to ")[2].split()[0]  # the message the applied invocation sent
            sent = await client.get(f"/address/{audit}")
            audit_seq = next(row for row in cells(sent.text) if len(row) == 8)[4]
            told = await client.get(f"/messages/{audit_seq}?address={audit}")
            assert "Sent by" in told.text
            assert "Outcome: <b>applied</b>" in told.text
            assert next(row[4] for row in cells(told.text) if len(row) == 8) == applied[4]  # sent by the first message

    asyncio.run(scenario())


def test_dead_letters_are_replayed_and_discarded_from_their_page(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with console_runtime(tmp_path) as (runtime, client):
            await send(runtime, ALICE, "one", "poison", "poison")
            listed = cells((await client.get("/dead-letters")).text)
            assert [row[1] for row in listed] == ["1", "2"]
            assert all("cannot digest poison" in row[7] for row in listed)
            assert listed[0][3] == ALICE
            refused = await client.post("/dead-letters", [("action", "replay"), ("seq", "1")], origin="http://x.test")
            assert refused.status == 403
            refused = await client.post("/dead-letters", [("action", "replay"), ("seq", "1")], origin=None)
            assert refused.status == 403
            (tmp_path / "healed").touch()
            replayed = await client.post("/dead-letters", [("action", "replay"), ("seq", "1")], follow=False)
            assert (replayed.status, replayed.headers["Location"]) == (303, "/dead-letters?replayed=1")
            await runtime.router.quiescent()
            after = await client.get("/dead-letters?replayed=1")
            assert "Replayed 1 dead letter(s)" in after.text
            assert [row[1] for row in cells(after.text)] == ["2"]
            state = await client.get(f"/address/{ALICE}")
            assert row_of(state.text, "count")[2] == "2 primitive"  # the replayed poison was applied
            discarded = await client.post("/dead-letters", [("action", "discard"), ("seq", "2"), ("seq", "77")])
            assert "Discarded 1 dead letter(s)" in discarded.text
            assert "no dead letters" in discarded.text
            assert row_of((await client.get(f"/address/{ALICE}")).text, "count")[2] == "2 primitive"

    asyncio.run(scenario())


def test_addresses_are_searched_by_type_and_id_prefix_and_paged(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with console_runtime(tmp_path) as (runtime, client):
            for n in range(120):
                waiting(runtime, Address("console/counter", f"user-{n:03d}"), "hi")
            waiting(runtime, Address("console/audit", "user-000"), "hi")
            seen: list[str] = []
            path: str | None = "/addresses?typename=console/counter&id=user-&limit=50"
            while path is not None:
                page = await client.get(path)
                seen += [row[0] for row in cells(page.text)]
                more = re.search(r'href="([^"]+)">Next page', page.text)
                path = html.unescape(more.group(1)) if more else None
            assert seen == [f"console/counter/user-{n:03d}" for n in range(120)]
            one = cells((await client.get("/addresses?typename=console/*&id=user-00")).text)
            assert [row[0] for row in one][:2] == ["console/audit/user-000", "console/counter/user-000"]
            assert len(one) == 11
            assert one[0][1:] == ["0", "1", "0"]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/addresses?limit=0", 400, "limit='0': give a whole number from 1 to 200"),
        ("/addresses?limit=100000", 400, "limit='100000'"),
        ("/addresses?typename=nonamespace", 400, "invalid typename 'nonamespace'"),
        ("/addresses?after=x", 400, "after: invalid address 'x'"),
        ("/addresses?id=" + "x" * 600, 400, "id is 600 characters long"),
        ("/address/console/counter", 400, "invalid address 'console/counter'"),
        ("/messages/12x", 400, "'12x' is no message number"),
        ("/dead-letters?after=-1", 400, "after='-1'"),
        ("/address/a/b/c?refresh=0", 400, "refresh='0'"),
        ("/nowhere", 404, "no page at /nowhere"),
    ],
)
def test_bad_parameters_get_a_page_saying_what_was_wrong(tmp_path: Path, path: str, status: int, says: str) -> None:
    async def scenario() -> None:
        async with console_runtime(tmp_path) as (_, client):
            answer = await client.get(path)
            assert answer.status == status
            assert says in html.unescape(answer.text)
            assert (await client.get("/")).status == 200  # the console keeps serving

    asyncio.run(scenario())


def test_actions_take_only_what_they_know(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with console_runtime(tmp_path) as (_, client):
            unknown = await client.post("/dead-letters", [("action", "explode"), ("seq", "1")])
            assert unknown.status == 400
            assert "action='explode': give one of replay, discard" in words(unknown.text)
            bad = await client.post("/dead-letters", [("action", "replay"), ("seq", "1 OR 1=1")])
            assert bad.status == 400
            many = await client.post("/dead-letters", [("action", "discard"), *[("seq", str(n)) for n in range(201)]])
            assert many.status == 400
            assert (await client.post("/", [("x", "1")])).status == 404

    asyncio.run(scenario())


def test_user_data_is_escaped_everywhere(tmp_path: Path) -> None:
    evil = '<img src=x onerror="alert(1)">'

    async def scenario() -> None:
        async with console_runtime(tmp_path) as (runtime, client):
            address = Address("console/counter", evil)
            waiting(runtime, address, evil)
            runtime.router.wake([address])
            await runtime.router.quiescent()
            for path in ("/addresses", "/address/console/counter/" + evil.replace('"', "%22").replace(" ", "%20")):
                page = await client.get(path.replace("<", "%3C").replace(">", "%3E"))
                assert page.status == 200, page.text
                assert "<img" not in page.text
                assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page.text

    asyncio.run(scenario())


def test_metrics_are_served_from_the_runtimes_exposition(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with console_runtime(tmp_path) as (runtime, client):
            await send(runtime, ALICE, "one")
            metrics = await client.get("/metrics")
            assert metrics.status == 200
            body, content_type = runtime.metrics.exposition(None)
            assert metrics.headers["Content-Type"] == content_type
            assert metrics.text.splitlines()[0] == body.decode().splitlines()[0]

    asyncio.run(scenario())
