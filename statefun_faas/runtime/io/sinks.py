"""Extra egress sinks chosen on the command line: ``--egress ID=stdout`` or ``--egress ID=jsonl:PATH``.

They see each record after its response is committed; the durable egress table keeps it too.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Sequence
from typing import IO

from statefun_faas.runtime.engine.egress import stored_value
from statefun_faas.runtime.engine.router import Sink
from statefun_faas.runtime.records import EgressRecord

USAGE = "--egress ID=stdout or --egress ID=jsonl:PATH, e.g. --egress io.statefun.playground/egress=stdout"


def record_json(record: EgressRecord) -> str:
    """One JSON line: the payload (a Kafka or Kinesis record's value) as text when it is UTF-8, else as base64."""
    line: dict[str, str] = {"egress": record.egress_id, "topic": record.topic, "typename": record.typename}
    payload = stored_value(record)
    try:
        line["payload"] = payload.decode("utf-8")
    except UnicodeDecodeError:
        line["payload_base64"] = base64.b64encode(payload).decode("ascii")
    return json.dumps(line, ensure_ascii=False)


class StreamSink:
    def __init__(self, egress_id: str, stream: IO[str], owned: bool) -> None:
        self.egress_id, self.stream, self.owned = egress_id, stream, owned

    def __call__(self, record: EgressRecord) -> None:
        if record.egress_id == self.egress_id:
            self.stream.write(record_json(record) + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.owned:
            self.stream.close()


def parse_overrides(overrides: Sequence[str]) -> list[Sink]:
    found: list[Sink] = []
    for text in overrides:
        egress_id, equals, target = text.partition("=")
        if not equals or "/" not in egress_id:
            raise ValueError(f"invalid egress override {text!r}: use {USAGE}")
        if target == "stdout":
            found.append(StreamSink(egress_id, sys.stdout, owned=False))
        elif target.startswith("jsonl:") and len(target) > len("jsonl:"):
            found.append(StreamSink(egress_id, open(target[len("jsonl:") :], "a", encoding="utf-8"), owned=True))  # noqa: SIM115
        else:
            raise ValueError(f"invalid egress sink {target!r} in {text!r}: use {USAGE}")
    return found


def close(sinks: Sequence[Sink]) -> None:
    for sink in sinks:
        if isinstance(sink, StreamSink):
            sink.close()
