"""The edge's per-request log line: where it goes (``STATEFUN_FAAS_REQUEST_LOG``) and in which format, plain
JSON or the CloudWatch Embedded Metric Format (``STATEFUN_FAAS_REQUEST_LOG_FORMAT=emf``), whose CloudWatch Logs
makes metrics of it (docs/observability.md). The line is formatted by hand: only the two strings that come
from the request need JSON escaping, and that is several times cheaper than ``json.dumps`` of a dict, on
every request."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from json.encoder import encode_basestring_ascii as _json_string
from os import write as _write
from time import time_ns

request_logger = logging.getLogger("statefun_faas.requests")

REQUEST_LOG_ENV = "STATEFUN_FAAS_REQUEST_LOG"
REQUEST_LOG_FORMAT_ENV = "STATEFUN_FAAS_REQUEST_LOG_FORMAT"
EMF_NAMESPACE_ENV = "STATEFUN_FAAS_EMF_NAMESPACE"
EMF_NAMESPACE = "statefun-faas"
#: the FunctionType dimension of a request whose function type is not known (refused before it was read)
NO_FUNCTION_TYPE = "-"
#: the metrics of a request line in the Embedded Metric Format: (name, CloudWatch unit)
EMF_METRICS = (
    ("Duration", "Milliseconds"),
    ("BatchSize", "Count"),
    ("RequestBytes", "Bytes"),
    ("ResponseBytes", "Bytes"),
    ("ClientErrors", "Count"),  # 1 for a 4xx answer, else 0
    ("ServerErrors", "Count"),  # 1 for a 5xx answer, else 0
)

LineSink = Callable[[str], object]


class FdSink:
    """Writes each line straight to a file descriptor, in one unbuffered write: lines never interleave."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __call__(self, line: str) -> None:
        _write(self.fd, (line + "\n").encode("utf-8"))


def request_log_sink(setting: str | None) -> LineSink | None:
    """Where the per-request JSON lines go, from ``STATEFUN_FAAS_REQUEST_LOG``.

    ``stderr`` (default) and ``stdout`` write each line straight to the stream, which every
    FaaS platform collects as one log entry, without the cost of the logging machinery on the
    hot path; ``logging`` hands them to the logger ``statefun_faas.requests`` at INFO; ``off``.
    """
    mode = (setting or "stderr").strip().lower()
    if mode == "off":
        return None
    if mode in ("stderr", "stdout"):
        return FdSink(2 if mode == "stderr" else 1)
    if mode == "logging":
        return request_logger.info
    raise ValueError(f"{REQUEST_LOG_ENV}={setting!r}: use stderr, stdout, logging or off")


def emf_namespace(setting: str | None, namespace: str | None) -> str | None:
    """The CloudWatch namespace of the request lines when ``STATEFUN_FAAS_REQUEST_LOG_FORMAT`` is ``emf``
    (``STATEFUN_FAAS_EMF_NAMESPACE``, default ``statefun-faas``); None for plain JSON lines (``json``, unset)."""
    mode = (setting or "json").strip().lower()
    if mode == "json":
        return None
    if mode != "emf":
        raise ValueError(
            f"{REQUEST_LOG_FORMAT_ENV}={setting!r}: use json, or emf for the CloudWatch Embedded Metric Format"
        )
    chosen = (namespace or EMF_NAMESPACE).strip()
    if not chosen or len(chosen) > 255 or chosen.startswith("AWS/"):
        raise ValueError(
            f"{EMF_NAMESPACE_ENV}={namespace!r}: give a CloudWatch namespace of 1 to 255 characters, not starting AWS/"
        )
    return chosen


class RequestLine:
    """Formats the line of one answered request for ``platform``: JSON, or EMF in ``namespace`` when given."""

    __slots__ = ("directives", "head")

    def __init__(self, platform: str, namespace: str | None) -> None:
        self.head = f'{{"platform": {_json_string(platform)}, "status": '
        if namespace is None:
            self.directives = None
        else:  # the CloudWatchMetrics member of every line: one directive, by function type
            metrics = [{"Name": name, "Unit": unit} for name, unit in EMF_METRICS]
            self.directives = json.dumps(
                [{"Namespace": namespace, "Dimensions": [["FunctionType"]], "Metrics": metrics}]
            )

    def __call__(
        self,
        status: int,
        typename: str,
        id_: str,
        batch: int,
        nanos: int,
        cold: bool,
        request_bytes: int,
        response_bytes: int,
    ) -> str:
        """The line, ending in a newline."""
        line = (
            f"{self.head}{status}, "
            f'"typename": {_json_string(typename)}, "id": {_json_string(id_)}, '
            f'"batch": {batch}, "duration_ms": {nanos / 1e6:.3f}, '
            f'"cold_start": {"true" if cold else "false"}}}\n'
        )
        if self.directives is None:
            return line
        return (  # the same line, its metrics said for CloudWatch first
            f'{{"_aws": {{"Timestamp": {time_ns() // 1_000_000}, "CloudWatchMetrics": {self.directives}}}, '
            f'"FunctionType": {_json_string(typename or NO_FUNCTION_TYPE)}, "Duration": {nanos / 1e6:.3f}, '
            f'"BatchSize": {batch}, "RequestBytes": {request_bytes}, "ResponseBytes": {response_bytes}, '
            f'"ClientErrors": {int(400 <= status < 500)}, "ServerErrors": {int(status >= 500)}, {line[1:]}'
        )


def write(sink: LineSink, line: str) -> None:
    """``line`` (ending in a newline) to ``sink``: straight to its descriptor when it is an :class:`FdSink`."""
    if isinstance(sink, FdSink):
        _write(sink.fd, line.encode())
    else:
        sink(line[:-1])
