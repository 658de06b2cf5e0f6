"""Which earlier results a strategy keeps when a warm start gives it more than it holds."""

from __future__ import annotations

from collections.abc import Sequence


def best_first(scores: Sequence[Sequence[float]]) -> list[int]:
    """Indices of ``scores`` (bigger is better), the best first.

    One objective: by its score. Several: those dominated by fewer others
    first (the Pareto front leads), ties by the first objective.
    """

    def dominated_by(mine: Sequence[float]) -> int:
        return sum(
            1
            for other in scores
            if list(other) != list(mine) and all(o >= s for o, s in zip(other, mine, strict=True))
        )

    if all(len(s) == 1 for s in scores):
        return sorted(range(len(scores)), key=lambda i: -scores[i][0])
    return sorted(range(len(scores)), key=lambda i: (dominated_by(scores[i]), -scores[i][0]))
