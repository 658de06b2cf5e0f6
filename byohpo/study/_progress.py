"""Progress a person can follow, in a terminal or a notebook: one line per change."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class ProgressLine:
    generation: int
    running: int
    finished: int
    failed: int
    best: float | None
    metric: str
    elapsed: float
    cost: float | None

    def render(self, study: str) -> str:
        best = "-" if self.best is None else f"{self.best:.6g}"
        minutes, seconds = divmod(int(self.elapsed), 60)
        hours, minutes = divmod(minutes, 60)
        elapsed = f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"
        cost = "" if self.cost is None else f" | ${self.cost:.2f}"
        return (
            f"[{study}] generation {self.generation} | running {self.running} | "
            f"finished {self.finished} (failed {self.failed}) | best {self.metric} {best} | "
            f"{elapsed}{cost}"
        )


class Progress:
    """Prints a progress line whenever the counts or the best value change.

    Silent when ``stream`` is None. Lines, not a redrawn bar: they read the
    same in a terminal, a notebook cell and a pipeline step's log.
    """

    def __init__(self, study: str, stream: TextIO | None = sys.stdout) -> None:
        self.study = study
        self.stream = stream
        self._last: tuple[object, ...] | None = None

    def update(self, line: ProgressLine) -> None:
        key = (line.generation, line.running, line.finished, line.failed, line.best)
        if self.stream is None or key == self._last:
            return
        self._last = key
        print(line.render(self.study), file=self.stream, flush=True)

    def say(self, message: str) -> None:
        if self.stream is not None:
            print(f"[{self.study}] {message}", file=self.stream, flush=True)
