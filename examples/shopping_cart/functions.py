"""A shop: users fill carts with items the inventory holds; checking out writes a receipt.

``shop/user`` (id: the user) takes the shopper's commands and numbers their orders,
``shop/cart`` (id: the user) keeps the basket, forgotten after ``cart_idle`` without a call,
``shop/inventory`` (id: the item) keeps the stock and answers each request for items.
They exchange JSON messages (``make_json_type``). Receipts leave through an egress: the
playground egress locally (``functions``, for module.yaml) or Kafka (``production``, for
module.prod.yaml).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from statefun_faas import (
    Context,
    EgressMessage,
    IntType,
    Message,
    StatefulFunctions,
    ValueSpec,
    egress_message_builder,
    kafka_egress_message,
    make_json_type,
    message_builder,
)

AddToCartType = make_json_type("shop/AddToCart")  # {"item": "socks", "quantity": 2}
CheckoutType = make_json_type("shop/Checkout")  # {}
RestockItemType = make_json_type("shop/RestockItem")  # {"quantity": 10}
RequestItemType = make_json_type("shop/RequestItem")  # {"quantity": 2}
ItemAvailabilityType = make_json_type("shop/ItemAvailability")  # {"item": "socks", "quantity": 2, "in_stock": true}
BasketType = make_json_type("shop/Basket")  # {"items": {...}, "unavailable": {...}, "pending": 0, "checkout": false}
ReceiptType = make_json_type("shop/Receipt")  # {"user": "alice", "order": 1, "items": {...}, "unavailable": {...}}
EgressRecordType = make_json_type("io.statefun.playground/EgressRecord")

ReceiptEgress = Callable[[dict[str, Any]], EgressMessage]


def user(context: Context, message: Message, *, receipt_egress: ReceiptEgress) -> None:
    """Forward the shopper's commands to their cart; number and publish the cart's receipts."""
    cart = ("shop/cart", context.address.id)
    if message.is_type(AddToCartType):
        context.send(message_builder(*cart, value=message.as_type(AddToCartType), value_type=AddToCartType))
    elif message.is_type(CheckoutType):
        context.send(message_builder(*cart, value={}, value_type=CheckoutType))
    elif message.is_type(ReceiptType):
        receipt: dict[str, Any] = message.as_type(ReceiptType) or {}
        if receipt["items"]:
            context.storage.orders = (context.storage.orders or 0) + 1
            receipt = {"order": context.storage.orders, **receipt}
        context.send_egress(receipt_egress(receipt))


def empty_basket() -> dict[str, Any]:
    return {"items": {}, "unavailable": {}, "pending": 0, "checkout": False}


def cart(context: Context, message: Message) -> None:
    """Reserve items at the inventory; check out once every answer is in."""
    basket: dict[str, Any] = context.storage.basket or empty_basket()
    if message.is_type(AddToCartType):
        add: dict[str, Any] = message.as_type(AddToCartType) or {}
        request = {"quantity": add["quantity"]}
        context.send(message_builder("shop/inventory", add["item"], value=request, value_type=RequestItemType))
        basket["pending"] += 1
    elif message.is_type(ItemAvailabilityType):
        answer: dict[str, Any] = message.as_type(ItemAvailabilityType) or {}
        kept = basket["items"] if answer["in_stock"] else basket["unavailable"]
        kept[answer["item"]] = kept.get(answer["item"], 0) + answer["quantity"]
        basket["pending"] -= 1
    elif message.is_type(CheckoutType):
        basket["checkout"] = True
    if basket["checkout"] and basket["pending"] == 0:
        receipt = {"user": context.address.id, "items": basket["items"], "unavailable": basket["unavailable"]}
        context.send(message_builder("shop/user", context.address.id, value=receipt, value_type=ReceiptType))
        del context.storage.basket
    else:
        context.storage.basket = basket


def inventory(context: Context, message: Message) -> None:
    """Keep the stock of one item; answer requests for it to the asking cart."""
    stock = context.storage.stock or 0
    if message.is_type(RestockItemType):
        context.storage.stock = stock + (message.as_type(RestockItemType) or {})["quantity"]
    elif message.is_type(RequestItemType) and context.caller is not None:
        quantity = (message.as_type(RequestItemType) or {})["quantity"]
        in_stock = stock >= quantity
        if in_stock:
            context.storage.stock = stock - quantity
        answer = {"item": context.address.id, "quantity": quantity, "in_stock": in_stock}
        caller = context.caller
        context.send(message_builder(caller.typename, caller.id, value=answer, value_type=ItemAvailabilityType))


def playground_receipt(receipt: dict[str, Any]) -> EgressMessage:
    """A receipt for the playground egress of module.yaml: topic ``receipts``, read with GET /receipts."""
    record = {"topic": "receipts", "payload": ReceiptType.serializer().serialize(receipt).decode()}
    return egress_message_builder("io.statefun.playground/egress", record, EgressRecordType)


def kafka_receipt(receipt: dict[str, Any]) -> EgressMessage:
    """A receipt for the Kafka egress ``shop/receipts`` of module.prod.yaml: topic ``receipts``, keyed by user."""
    return kafka_egress_message("shop/receipts", "receipts", receipt, ReceiptType, key=receipt["user"])


def shop(receipt_egress: ReceiptEgress, cart_idle: timedelta = timedelta(minutes=30)) -> StatefulFunctions:
    """The shop's functions, writing receipts with ``receipt_egress``; a cart expires after ``cart_idle``."""
    functions = StatefulFunctions()
    functions.register("shop/user", partial(user, receipt_egress=receipt_egress), [ValueSpec("orders", IntType)])
    functions.register("shop/cart", cart, [ValueSpec("basket", BasketType, expire_after_call=cart_idle)])
    functions.register("shop/inventory", inventory, [ValueSpec("stock", IntType)])
    return functions


functions = shop(playground_receipt)  # with module.yaml (playground ingress and egress)
production = shop(kafka_receipt)  # with module.prod.yaml (Kafka ingress and egress)
