"""The greeter example through a local runtime's playground ports: its module.yaml on free ports, a greeting."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

GREETER = Path(__file__).resolve().parents[2] / "examples" / "greeter"


def module_yaml(function: int, ingress: int, egress: int) -> str:
    """The example's module.yaml with the function server, the ingress and the egress on the given ports."""
    text = (GREETER / "module.yaml").read_text()
    for old, new in (("127.0.0.1:8000", f"127.0.0.1:{function}"), ("8090", str(ingress)), ("8091", str(egress))):
        assert old in text, old
        text = text.replace(old, new)
    return text


def greet(ingress: int, name: str) -> None:
    """A GreetRequest for ``name`` into the playground ingress."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{ingress}/example/person/{name}",
        data=f'{{"name": "{name}"}}'.encode(),
        headers={"Content-Type": "application/vnd.example/GreetRequest"},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status in {200, 202}


def greeting(egress: int, timeout: float = 20.0) -> str:
    """The first greeting on the playground egress's topic (waits until there is one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{egress}/greetings", timeout=5) as answer:
                body: bytes = answer.read()
                if body:
                    return body.decode()
        except urllib.error.HTTPError as error:
            if error.code != 404:  # 404: the topic is empty so far
                raise
        time.sleep(0.1)
    raise AssertionError("no greeting on the egress topic")
