"""The shop end to end on the local runtime: restock, fill carts, check out, let a cart expire.

Runs the functions of functions.py in-process (as ``statefun-faas dev`` does) with this folder's
module.yaml on free ports, talks to the playground ingress and egress over HTTP, prints each
receipt and exits 0 when all arrived as expected.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from functions import playground_receipt, shop  # noqa: E402 (the example's own module, next to this file)

from statefun_faas.runtime.app import Options, Runtime  # noqa: E402

CART_IDLE = timedelta(seconds=2)  # short, to watch a cart expire (the default is 30 minutes)
EXPECTED = [
    {"order": 1, "user": "alice", "items": {"socks": 2, "hat": 1}, "unavailable": {}},
    {"user": "bob", "items": {}, "unavailable": {"hat": 1}},
    {"user": "carol", "items": {}, "unavailable": {}},
]


class Shopper:
    """Sends to the playground ingress and reads the ``receipts`` topic of the playground egress."""

    def __init__(self, session: aiohttp.ClientSession, ingress: str, egress: str) -> None:
        self.session, self.ingress, self.egress = session, ingress, egress

    async def send(self, address: str, typename: str, value: dict[str, Any]) -> None:
        headers = {"Content-Type": f"application/vnd.{typename}"}
        async with self.session.put(f"{self.ingress}/{address}", data=json.dumps(value), headers=headers) as answer:
            answer.raise_for_status()

    async def receipt(self, timeout: float = 10.0) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            async with self.session.get(f"{self.egress}/receipts") as answer:
                if answer.status == 200:
                    receipt: dict[str, Any] = json.loads(await answer.read())
                    print(f"receipt: {json.dumps(receipt)}")
                    return receipt
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no receipt within {timeout:g}s")


async def go_shopping(shopper: Shopper, cart_idle: timedelta) -> list[dict[str, Any]]:
    """The story: alice buys, bob finds the last hat gone, carol's cart expires before she checks out."""
    print("restocking 10 socks and 1 hat")
    await shopper.send("shop/inventory/socks", "shop/RestockItem", {"quantity": 10})
    await shopper.send("shop/inventory/hat", "shop/RestockItem", {"quantity": 1})
    print("alice adds 2 socks and a hat, then checks out")
    await shopper.send("shop/user/alice", "shop/AddToCart", {"item": "socks", "quantity": 2})
    await shopper.send("shop/user/alice", "shop/AddToCart", {"item": "hat", "quantity": 1})
    await shopper.send("shop/user/alice", "shop/Checkout", {})
    receipts = [await shopper.receipt()]
    print("bob wants a hat too")
    await shopper.send("shop/user/bob", "shop/AddToCart", {"item": "hat", "quantity": 1})
    await shopper.send("shop/user/bob", "shop/Checkout", {})
    receipts.append(await shopper.receipt())
    idle = cart_idle.total_seconds() + 2  # counted from the cart's last call: the inventory's answer
    print(f"carol adds socks, then waits {idle:g}s (her cart expires after {cart_idle.total_seconds():g}s idle)")
    await shopper.send("shop/user/carol", "shop/AddToCart", {"item": "socks", "quantity": 1})
    await asyncio.sleep(idle)
    await shopper.send("shop/user/carol", "shop/Checkout", {})
    receipts.append(await shopper.receipt())
    return receipts


def on_free_ports(module: Path, folder: Path) -> Path:
    """A copy of module.yaml whose ingress and egress listen on ports the OS picks."""
    copy = folder / module.name
    copy.write_text(module.read_text().replace("port: 8090", "port: 0").replace("port: 8091", "port: 0"))
    return copy


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="shopping-cart-") as folder:
        module = on_free_ports(HERE / "module.yaml", Path(folder))
        runtime = Runtime([str(module)], shop(playground_receipt, CART_IDLE), Options(state_dir=Path(folder)))
        print("starting the local runtime ...")
        await runtime.start()
        try:
            ingress, egress = (f"http://127.0.0.1:{runtime.ports[role]}" for role in ("ingress", "egress"))
            async with aiohttp.ClientSession() as session:
                receipts = await go_shopping(Shopper(session, ingress, egress), CART_IDLE)
        finally:
            await runtime.stop()
    if receipts != EXPECTED:
        print(f"error: expected the receipts {EXPECTED}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
