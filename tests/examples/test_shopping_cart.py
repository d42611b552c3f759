"""examples/shopping_cart: its story over real HTTP, its production module.yaml on local topics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from statefun_faas.pytest_plugin import RunningRuntime
from tests.examples.shopping_cart_target import CART_IDLE
from tests.examples.support import EXAMPLES, example_module, running
from tests.runtime.processes import cli, put, take

main = example_module("shopping_cart", "main")
shop = example_module("shopping_cart", "functions")
TARGET = str(Path(__file__).with_name("shopping_cart_target.py"))


async def story(ingress: str, egress: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        receipts: list[dict[str, Any]] = await main.go_shopping(main.Shopper(session, ingress, egress), CART_IDLE)
        return receipts


@pytest.mark.slow  # two processes and a cart left idle past its expiry
def test_the_story_over_http(tmp_path: Path) -> None:
    with running("shopping_cart", TARGET, tmp_path) as app:
        receipts = asyncio.run(story(app.ingress, app.egress))
    assert receipts == main.EXPECTED
    state = cli("state", "shop/inventory/socks", "--state", str(tmp_path / "state"))
    assert state.stdout.splitlines() == ["stock (io.statefun.types/int): 7"], state.stderr
    assert cli("dead-letters", "--state", str(tmp_path / "state")).stdout.strip() == "0 dead letter(s)"


def test_production_module_on_local_kafka_topics(statefun_runtime: Callable[..., RunningRuntime]) -> None:
    module = EXAMPLES / "shopping_cart" / "module.prod.yaml"
    app = statefun_runtime(module, shop.production, local_io=True, local_io_port=0)
    topics = app.runtime.ports["local-io"]
    assert put(topics, "restock/hat", b'{"quantity": 2}')
    assert put(topics, "add-to-cart/dana", b'{"item": "hat", "quantity": 2}')
    assert put(topics, "checkout/dana", b"{}")
    (receipt,) = take(topics, "receipts", 1)
    assert json.loads(receipt) == {"order": 1, "user": "dana", "items": {"hat": 2}, "unavailable": {}}


def test_both_registries_hold_the_three_functions() -> None:
    for registry in (shop.functions, shop.production):
        assert registry.typenames == ["shop/user", "shop/cart", "shop/inventory"]
