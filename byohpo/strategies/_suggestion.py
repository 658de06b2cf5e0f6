"""A configuration that names the trial whose checkpoint its job starts from.

The one extension of the ask/tell contract that warm starts need (population
based training). Everything else about a configuration stays as it was:

- ``ask(n)`` may return :class:`Suggestion` objects alongside plain dicts. A
  suggestion *is* the configuration dict; it also carries ``parent`` (the id
  of a trial that completed: the new job starts from a copy of that trial's
  last checkpoint) and ``generation`` (the trial's generation in the results
  table; by default the one after its parent's, or, without a parent, the
  tuner's own numbering).
- ``tell(config, metrics)`` receives the configuration as a :class:`Suggestion`
  too, with ``trial_id`` set to the trial that produced the result, so a
  strategy learns the ids it may later name as parents. A strategy that does
  not care treats it as the dict it is.

A plain dict (or a copy made with ``dict(...)``) has no parent: its job starts
without a checkpoint, as every job did before.
"""

from __future__ import annotations

from collections.abc import Mapping

from byohpo.errors import StrategyError
from byohpo.space import Value

__all__ = ["Suggestion", "generation_of", "parent_of", "trial_id_of"]


def _optional_id(what: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StrategyError(
            f"a suggestion's {what} is a trial id (a whole number >= 0) or None",
            repr(value),
            f"Pass the id of a trial as {what}=.",
        )
    return value


class Suggestion(dict[str, Value]):
    """A configuration (a dict of parameter name -> value) with its trial's lineage.

    ``Suggestion({"learning_rate": 0.01, "num_epoch": 4}, parent=7)`` asks for a
    job that continues from the last checkpoint of trial 7 with these
    hyperparameters. Equality is the dict's: the lineage does not take part.
    """

    __slots__ = ("generation", "parent", "trial_id")

    def __init__(
        self,
        config: Mapping[str, Value],
        *,
        parent: int | None = None,
        generation: int | None = None,
        trial_id: int | None = None,
    ) -> None:
        super().__init__(config)
        self.parent: int | None = _optional_id("parent", parent)
        """The trial whose last checkpoint the job starts from (None: from scratch)."""
        self.generation: int | None = _optional_id("generation", generation)
        """The trial's generation (None: the one after the parent's, or the tuner's numbering)."""
        self.trial_id: int | None = _optional_id("trial_id", trial_id)
        """The trial this configuration ran as; set by the tuner when it tells a result."""

    def __repr__(self) -> str:
        lineage = "".join(
            f", {name}={getattr(self, name)!r}"
            for name in ("parent", "generation", "trial_id")
            if getattr(self, name) is not None
        )
        return f"Suggestion({dict(self)!r}{lineage})"

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild,
            (dict(self), self.parent, self.generation, self.trial_id),
        )


def _rebuild(
    config: dict[str, Value], parent: int | None, generation: int | None, trial_id: int | None
) -> Suggestion:
    return Suggestion(config, parent=parent, generation=generation, trial_id=trial_id)


def parent_of(config: Mapping[str, Value]) -> int | None:
    """The parent trial a configuration names (None for a plain dict)."""
    return config.parent if isinstance(config, Suggestion) else None


def generation_of(config: Mapping[str, Value]) -> int | None:
    """The generation a configuration names (None for a plain dict)."""
    return config.generation if isinstance(config, Suggestion) else None


def trial_id_of(config: Mapping[str, Value]) -> int | None:
    """The trial a told configuration ran as (None when the caller did not say)."""
    return config.trial_id if isinstance(config, Suggestion) else None
