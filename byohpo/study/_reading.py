"""Reading a log's lines: every readable event, and each damaged line named, not fatal.

A crash mid-write leaves a *torn tail*: a last line without its newline. It is not
damage (the event was never durable, so nothing acted on it) and the next append
cuts it away. Anything else that cannot be read (a line that is not JSON, an event
missing a field) is *damage*: the line is skipped, named in :class:`Damage`, and
``byohpo status``/``results`` say so; ``resume`` refuses until ``byohpo repair``
sets the damaged lines aside.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from byohpo.errors import DamagedLogError, NewerLogError
from byohpo.study._events import Event, decode

SHOWN = 120
"""Characters of a damaged line quoted in messages."""

_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Damage:
    """One line of a log that cannot be read."""

    where: str
    line: int
    reason: str
    text: str

    def describe(self) -> str:
        shown = self.text if len(self.text) <= SHOWN else self.text[:SHOWN] + "..."
        return f"{self.where} line {self.line}: {self.reason}: {shown!r}"


@dataclass
class Reading:
    """What a read found: the events in order, and the damage.

    Events are typed; an event of a kind this byohpo does not know is kept as its JSON
    object. Nothing else of a line is kept (a 10,000-job study has some 50,000 lines).
    """

    events: list[Mapping[str, Any] | Event] = field(default_factory=list)
    damage: list[Damage] = field(default_factory=list)
    torn_tail: bool = False


def parse_lines(text: str, where: str, reading: Reading, first_line: int = 1) -> int:
    """Add the events of ``text`` (JSON lines) to ``reading``; damaged lines to its damage.

    Returns the number of whole lines read (a torn tail is not one).
    """
    lines = text.split("\n")
    last = len(lines) - 1  # the text after the last newline: empty, or a torn tail
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        number = first_line + index
        if index == last:
            reading.torn_tail = True  # never durable: ignored (the next append cuts it)
            continue
        try:
            data, end = _scan(line, 0)  # json.loads without its per-call checks
            if end != len(line):
                raise ValueError(line)
        except (StopIteration, ValueError):
            try:  # surrounding whitespace is fine; anything else is named as json.loads names it
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                reading.damage.append(Damage(where, number, f"not JSON ({exc.msg})", line))
                continue
        try:
            event = decode(data, f"{where} line {number}")
        except NewerLogError:
            raise
        except DamagedLogError as exc:
            reading.damage.append(Damage(where, number, str(exc).split(": ", 1)[-1], line))
            continue
        reading.events.append(data if event is None else event)  # an unknown kind: kept as is
    return last
