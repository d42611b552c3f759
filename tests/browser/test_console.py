"""The console end to end in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

``statefun-faas dev`` runs the console tests' app (tests/runtime/console/app.py) as a user starts it;
``statefun-faas send`` sends it messages. Then, in the browser: find the address, read its decoded state,
follow a message that failed to its story, replay its dead letter once the function is healed, and see the
effect on the state. Screenshots of each page go to build/screenshots/console/ (docs/images/ holds copies).

Left out of the default run (``--ignore=tests/browser`` in pyproject.toml): ``.ci/run`` installs Chromium and
runs them as a step of their own. Without Chromium they fail, saying how to install it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.console.app import HEALED_ENV
from tests.runtime.processes import RuntimeProcess

try:
    from playwright.sync_api import BrowserContext, Page, expect, sync_playwright
except ImportError as error:  # a clear failure, never a skip
    raise ImportError(f"{error}: the browser tests need Playwright: pip install -e '.[dev]'") from None

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "runtime" / "console" / "app.py"
SCREENSHOTS = ROOT / "build" / "screenshots" / "console"
CHROMIUM = os.environ.get("STATEFUN_FAAS_CHROMIUM", "/usr/bin/chromium")
#: flags that let Chromium run headless in a container, as root, offline, without calling home
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CONSOLE = re.compile(r"console: (http://\S+)")


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set STATEFUN_FAAS_CHROMIUM)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": 1280, "height": 900}
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[RuntimeProcess, str]]:
    """``statefun-faas dev`` of the app on free ports: the process and its console's URL."""
    os.environ[HEALED_ENV] = str(tmp_path / "healed")
    try:
        runtime = RuntimeProcess.start(
            tmp_path / "runtime.log",
            "dev", str(APP), "--state", str(tmp_path / "state"),
            "--ingress-port", "0", "--egress-port", "0", "--console-port", "0",
        )  # fmt: skip
    finally:
        os.environ.pop(HEALED_ENV, None)
    try:
        found = CONSOLE.search(runtime.log.read_text())
        assert found, runtime.log.read_text()
        yield runtime, found.group(1)
    finally:
        runtime.stop()


def send(runtime: RuntimeProcess, address: str, value: str) -> None:
    """Through the ingress, with the command a user types."""
    ingress = f"http://127.0.0.1:{runtime.ports['ingress']}"
    command = [sys.executable, "-m", "statefun_faas.cli", "send", address, value, "--ingress", ingress]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def state_value(page: Page, name: str) -> str:
    """The value cell of state ``name`` on an address's page."""
    row = page.locator("h2:text('State') + table tr", has=page.locator(f"code:text-is('{name}')"))
    return row.locator("td").nth(2).inner_text()


def test_find_an_address_read_its_state_follow_a_failed_message_and_replay_it(
    browser: BrowserContext, app: tuple[RuntimeProcess, str], tmp_path: Path
) -> None:
    runtime, url = app
    for value in ("hello", "later", "poison"):
        send(runtime, "console/counter/alice", value)
    send(runtime, "console/counter/bob", "hi")
    page = browser.new_page()

    page.goto(url)
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator(".counters div", has_text="dead letters").locator("b")).to_have_text("1")
    shot(page, "overview")

    page.click("text=Addresses")
    page.fill("input[name=typename]", "console/counter")
    page.fill("input[name=id]", "al")
    page.click("button:text('Search')")
    expect(page.locator("table tbody tr")).to_have_count(1)
    shot(page, "addresses")
    page.click("a:text('console/counter/alice')")
    expect(page.locator("h1")).to_have_text("console/counter/alice")
    assert state_value(page, "count").startswith("2")  # hello and later; the poison failed
    assert '"last": "later"' in state_value(page, "profile")
    assert state_value(page, "seen").startswith('"2023-11-14T22:13:22Z"')  # a protobuf Timestamp, as JSON
    assert "<b>not bold</b>" in state_value(page, "profile")  # user data shown as text, never as markup
    expect(page.locator("b", has_text="not bold")).to_have_count(0)
    delayed = page.locator("h2:text('Delayed messages') + table")
    expect(delayed).to_contain_text("reminder")
    shot(page, "address")

    failed = page.locator("tr", has=page.locator("span.bad:text('dead-lettered')")).first
    expect(failed).to_contain_text("cannot digest poison")
    failed.locator("td").nth(4).locator("a").click()
    expect(page.locator("h1")).to_have_text(re.compile(r"Message \d+"))
    expect(page.locator("p", has_text="Outcome")).to_have_text("Outcome: dead-lettered")
    shot(page, "message")

    page.click("text=It is dead letter >> a")
    expect(page.locator("h1")).to_have_text("Dead letters")
    letter = page.locator("tbody tr").first
    expect(letter).to_contain_text("console/counter/alice")
    expect(letter).to_contain_text("cannot digest poison")
    shot(page, "dead-letters")
    (tmp_path / "healed").touch()  # the function is fixed: now the poison goes through
    letter.locator("input[type=checkbox]").check()
    page.click("button:text('Replay the ticked')")
    expect(page.locator("p.ok")).to_have_text("Replayed 1 dead letter(s): back in their inboxes.")
    expect(page.locator("tbody tr")).to_have_count(0)

    page.goto(f"{url}address/console/counter/alice")
    newest = page.locator("h2:text('Last invocations') + table tbody tr").first

    def replayed() -> bool:  # the state at once; the history once written (twice a second)
        return state_value(page, "count").startswith("3") and "applied" in newest.inner_text()

    deadline = time.monotonic() + 20
    while not replayed() and time.monotonic() < deadline:
        time.sleep(0.1)
        page.reload()
    assert state_value(page, "count").startswith("3")
    assert '"last": "poison"' in state_value(page, "profile")
    expect(newest).to_contain_text("applied")
    shot(page, "address-after-replay")
    page.close()


def test_a_console_with_a_token_signs_the_browser_in_once(tmp_path: Path, browser: BrowserContext) -> None:
    token = "5ec7e7" * 8
    env = {**os.environ, "STATEFUN_FAAS_TOKENS": token}
    log = tmp_path / "runtime.log"
    command = [
        sys.executable,
        "-m",
        "statefun_faas.cli",
        "dev",
        str(APP),
        "--state",
        str(tmp_path / "state"),
        "--ingress-port",
        "0",
        "--egress-port",
        "0",
        "--console-port",
        "0",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while not CONSOLE.search(log.read_text()) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        found = CONSOLE.search(log.read_text())
        assert found, log.read_text()
        url = found.group(1)
        page = browser.new_page()
        answer = page.goto(url + "functions")
        assert answer is not None
        assert answer.status == 401
        page.goto(f"{url}functions?token={token}")
        assert page.url == url + "functions"  # the token left the address bar
        expect(page.locator("h1")).to_have_text("Functions")
        page.click("text=Dead letters")  # links work: the cookie goes along
        expect(page.locator("h1")).to_have_text("Dead letters")
        cookies = browser.cookies(url)
        assert [(c["httpOnly"], c["sameSite"]) for c in cookies if c["name"].startswith("statefun_faas_console")] == [
            (True, "Strict")
        ]
        page.close()
    finally:
        process.terminate()
        process.wait(20)
