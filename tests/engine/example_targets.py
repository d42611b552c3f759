"""Registries of the examples that the engine tests serve with ``statefun-faas serve FILE:NAME``.

``shop``: the shopping cart's production registry (receipts to its Kafka egress) with carts that
expire after two idle seconds instead of thirty minutes, so that an expiry can be watched.
``reminders``: the reminders' functions writing to a Kafka egress ``reminders/out`` (topic
``reminders``, keyed by user) instead of the Kinesis one: the Kafka twin of module.prod.yaml.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.append(ROOT)  # served as a file: make the tests package importable (after the installed package)

from statefun_faas import EgressMessage, kafka_egress_message  # noqa: E402
from tests.examples.support import example_module  # noqa: E402

CART_IDLE = timedelta(seconds=2)
REMINDERS_EGRESS = "reminders/out"
REMINDERS_TOPIC = "reminders"

_shop = example_module("shopping_cart", "functions")
_reminders = example_module("reminders", "functions")


def kafka_reminder(reminder: dict[str, Any]) -> EgressMessage:
    """A reminder for the Kafka twin's egress: topic ``reminders``, keyed by the user."""
    return kafka_egress_message(
        REMINDERS_EGRESS, REMINDERS_TOPIC, reminder, _reminders.ReminderType, key=reminder["user"]
    )


shop = _shop.shop(_shop.kafka_receipt, CART_IDLE)
reminders = _reminders.reminders(kafka_reminder)
