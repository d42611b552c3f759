"""An example registry the engine tests serve with ``statefun-faas serve FILE:shop``.

``shop``: the shopping cart's production registry (receipts to its Kafka egress) with carts that
expire after two idle seconds instead of thirty minutes, so that an expiry can be watched.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.append(ROOT)  # served as a file: make the tests package importable (after the installed package)

from tests.examples.support import example_module  # noqa: E402

CART_IDLE = timedelta(seconds=2)

_shop = example_module("shopping_cart", "functions")


shop = _shop.shop(_shop.kafka_receipt, CART_IDLE)
