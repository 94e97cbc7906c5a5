"""Hypothesis strategies for any protobuf request, built from its message descriptor:
random field values (extremes included), enum numbers including unknown ones, random bytes,
huge strings (within the message size limit), oneofs with at most one member set, maps,
repeated fields, nested messages (bounded depth), Timestamps/Durations out of range.

`hints` steer a field by name toward values that get past validation now and then (known key
names, existing task ids, small PNGs), so the fuzzer reaches the code behind the checks too.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import strategies as st

F = FieldDescriptor
Hints = Mapping[str, st.SearchStrategy[Any]]

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)

_INT_RANGES = {
    F.TYPE_INT32: INT32, F.TYPE_SINT32: INT32, F.TYPE_SFIXED32: INT32,
    F.TYPE_INT64: INT64, F.TYPE_SINT64: INT64, F.TYPE_SFIXED64: INT64,
    F.TYPE_UINT32: UINT32, F.TYPE_FIXED32: UINT32,
    F.TYPE_UINT64: UINT64, F.TYPE_FIXED64: UINT64,
}

NASTY_STRINGS = [
    "", " ", "\x00", "../../../../etc/passwd", "/etc/shadow", "..", ".", "~", "%s%n%x",
    "'; DROP TABLE tasks; --", "\u202e\u0000\ufeff", "😀" * 50, "a\nb\r\nc", "${jndi:x}",
    "00000000-0000-0000-0000-000000000000", "-1", "NaN", "1e309",
]


def ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    edges = [v for v in (lo, hi, 0, -1, 1, 2**31 - 1, -(2**31), 2**31, 2**32 - 1) if lo <= v <= hi]
    return st.one_of(
        st.integers(max(lo, -5), min(hi, 120)), st.sampled_from(edges), st.integers(lo, hi)
    )


def strings(huge_max: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=24),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200),
        st.sampled_from(NASTY_STRINGS),
        st.integers(1_000, huge_max).map(lambda n: "h" * n),  # huge, within the size limit
    )


def binaries(huge_max: int) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=256),
        st.integers(1_000, huge_max).map(lambda n: bytes(range(256)) * (n // 256)),
    )


def _time_like() -> st.SearchStrategy[tuple[int, int]]:
    """(seconds, nanos) of Timestamp/Duration: mostly sane, often out of any valid range."""
    return st.tuples(
        st.one_of(st.integers(-3, 120), st.integers(-(2**40), 2**40), st.sampled_from(
            [INT64[0], INT64[1], 253402300800, -62135596801])),
        st.one_of(st.just(0), st.integers(0, 999_999_999), st.integers(INT32[0], INT32[1])),
    )


class RequestStrategies:
    def __init__(self, *, huge_max: int = 200_000, max_depth: int = 3, hints: Hints | None = None,
                 list_max: int = 5) -> None:
        self.huge_max = huge_max
        self.max_depth = max_depth
        self.hints = dict(hints or {})
        self.list_max = list_max

    def scalar(self, field: FieldDescriptor) -> st.SearchStrategy[Any]:
        hint = self.hints.get(field.name)
        base = self._scalar(field)
        # hinted values 3:1, so requests get past validation often enough to go deeper
        return st.one_of(hint, hint, hint, base) if hint is not None else base

    def _scalar(self, field: FieldDescriptor) -> st.SearchStrategy[Any]:
        t = field.type
        if t in _INT_RANGES:
            return ints(*_INT_RANGES[t])
        if t == F.TYPE_BOOL:
            return st.booleans()
        if t == F.TYPE_FLOAT:
            return st.one_of(st.floats(width=32), st.sampled_from([0.0, 0.5, 1.0, -1.0, math.nan]))
        if t == F.TYPE_DOUBLE:
            return st.one_of(st.floats(), st.sampled_from([0.0, 0.5, 1.0, -1.0, math.inf]))
        if t == F.TYPE_STRING:
            return strings(self.huge_max)
        if t == F.TYPE_BYTES:
            return binaries(self.huge_max)
        if t == F.TYPE_ENUM:
            numbers = [v.number for v in field.enum_type.values]
            return st.one_of(
                st.sampled_from(numbers), st.integers(-3, max(numbers) + 5), ints(*INT32)
            )
        raise AssertionError(f"unhandled field type {t} of {field.full_name}")

    def message(self, descriptor: Descriptor, cls: Callable[[], Any] | None = None,
                depth: int = 0) -> st.SearchStrategy[Any]:
        @st.composite
        def build(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Any:
            from google.protobuf import message_factory

            factory = cls or message_factory.GetMessageClass(descriptor)
            msg = factory()
            full = descriptor.full_name
            if full in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
                if draw(st.booleans()):
                    msg.seconds, msg.nanos = draw(_time_like())
                return msg
            chosen: set[str] = set()
            for oneof in descriptor.oneofs:
                if len(oneof.fields) == 1 and oneof.name.startswith("_"):
                    continue  # proto3 `optional`: an ordinary field below
                member = draw(st.one_of(st.none(), st.sampled_from(list(oneof.fields))))
                for f in oneof.fields:
                    if f is not member:
                        chosen.add(f.name)  # skip the others
            for field in descriptor.fields:
                if field.name in chosen:
                    continue
                in_oneof = field.containing_oneof is not None and not (
                    len(field.containing_oneof.fields) == 1
                    and field.containing_oneof.name.startswith("_")
                )
                if not in_oneof and not draw(st.booleans()):
                    continue
                self._set(draw, msg, field, depth)
            return msg

        return build()

    def _value(self, field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
        if field.type == F.TYPE_MESSAGE:
            hint = self.hints.get(field.message_type.full_name)
            base = self.message(field.message_type, depth=depth + 1)
            return st.one_of(hint, hint, hint, base) if hint is not None else base
        return self.scalar(field)

    def _set(self, draw: Any, msg: Any, field: FieldDescriptor, depth: int) -> None:
        name = field.name
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_f = field.message_type.fields_by_name["key"]
            val_f = field.message_type.fields_by_name["value"]
            if depth >= self.max_depth and val_f.type == F.TYPE_MESSAGE:
                return
            entries = draw(st.dictionaries(self.scalar(key_f), self._value(val_f, depth),
                                           max_size=draw(st.sampled_from([3, 40]))))
            target = getattr(msg, name)
            for k, v in entries.items():
                if val_f.type == F.TYPE_MESSAGE:
                    target[k].CopyFrom(v)
                else:
                    target[k] = v
            return
        if field.type == F.TYPE_MESSAGE and depth >= self.max_depth:
            return
        if field.is_repeated:
            values = draw(st.lists(self._value(field, depth), max_size=self.list_max))
            target = getattr(msg, name)
            if field.type == F.TYPE_MESSAGE:
                for v in values:
                    target.add().CopyFrom(v)
            else:
                target.extend(values)
            return
        value = draw(self._value(field, depth))
        if field.type == F.TYPE_MESSAGE:
            getattr(msg, name).CopyFrom(value)
        else:
            setattr(msg, name, value)


def small_png(width: int = 64, height: int = 24, text: str = "OK") -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).text((4, 4), text, fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
