"""Durations written the way Flink's ``TimeUtils.parseDuration`` reads them: ``1 min``, ``10s``, ``500``.

A number of digits, then an optional unit (case-insensitive, a space allowed in between); a bare
number is milliseconds. As in Flink, no sign and no decimal point.
"""

from __future__ import annotations

import math

_NS_PER_UNIT: dict[str, int] = {}
for _ns, _singular, _plural in (
    (86_400 * 10**9, ("d",), ("day",)),
    (3_600 * 10**9, ("h",), ("hour",)),
    (60 * 10**9, ("min", "m"), ("minute",)),
    (10**9, ("s",), ("sec", "second")),
    (10**6, ("ms",), ("milli", "millisecond")),
    (10**3, ("µs",), ("micro", "microsecond")),
    (1, ("ns",), ("nano", "nanosecond")),
):
    _NS_PER_UNIT.update({label: _ns for label in _singular})
    _NS_PER_UNIT.update({form: _ns for label in _plural for form in (label, label + "s")})

_LONG_MAX = 2**63 - 1
UNITS_HINT = "write a whole number and a unit, e.g. 500ms, 10s, 1 min, 2h (a bare number is milliseconds)"


def duration_seconds(value: str | int | float) -> float:
    """Seconds in ``value``; raises ValueError with the problem when it is not a duration."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{value!r} is not a duration (negative or not finite)")
        return value / 1000
    return _parse_text(value)


def _parse_text(value: str) -> float:
    text = value.strip()
    if not text:
        raise ValueError("an empty duration")
    digits = len(text) - len(text.lstrip("0123456789"))
    if digits == 0:
        raise ValueError(f"{value!r} does not start with a number")
    count = int(text[:digits])
    if count > _LONG_MAX:
        raise ValueError(f"{value!r} is too large")
    label = text[digits:].strip().lower()
    unit = _NS_PER_UNIT.get(label) if label else 10**6
    if unit is None:
        raise ValueError(f"{value!r} has an unknown unit {label!r}")
    return count * unit / 10**9


def format_duration(seconds: float) -> str:
    """The shortest text that :func:`duration_seconds` reads back as ``seconds`` (to the nanosecond)."""
    nanos = round(seconds * 10**9)
    label = next(label for label in _FORMAT_UNITS if nanos % _NS_PER_UNIT[label] == 0)
    return f"{nanos // _NS_PER_UNIT[label]}{label}"


_FORMAT_UNITS = ("d", "h", "min", "s", "ms", "µs", "ns")
