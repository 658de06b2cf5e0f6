"""The members of a population based training run: the checkpoint bookkeeping.

Each member of the population holds its step in flight (or decided) and its
latest told step; a step is one trial, and names the trial whose checkpoint it
starts from (its parent). :class:`Population` keeps the members, the order in
which told members wait for their next step (asynchronous form) and the
generation decided last (generational form), and writes and reads all of it
as JSON for a strategy snapshot. The decisions between steps (exploit and
explore) live in :mod:`byohpo.strategies._exploitation`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from byohpo.errors import StrategyError
from byohpo.space import Config
from byohpo.strategies._suggestion import Suggestion, trial_id_of


class MemberState(StrEnum):
    """Where a member is."""

    NEW = "new"
    """Not founded yet."""
    PLANNED = "planned"
    """Its next step is decided, not asked yet (generational form)."""
    PENDING = "pending"
    """Its step was asked and not told yet."""
    READY = "ready"
    """Its step was told; it waits for its next one."""
    DONE = "done"
    """Its lineage trained every generation."""


NEW, PLANNED, PENDING, READY, DONE = MemberState


@dataclass
class Step:
    """One step of a member: one trial."""

    config: Config
    generation: int
    parent: int | None
    trial_id: int | None = None
    score: float | None = None
    """Bigger is better; None until told, and for a failed step."""

    def to_json(self) -> dict[str, Any]:
        return {
            "config": dict(self.config),
            "generation": self.generation,
            "parent": self.parent,
            "trial_id": self.trial_id,
            "score": self.score,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Step | None:
        if data is None:
            return None
        return cls(
            dict(data["config"]),
            int(data["generation"]),
            None if data["parent"] is None else int(data["parent"]),
            None if data["trial_id"] is None else int(data["trial_id"]),
            None if data["score"] is None else float(data["score"]),
        )


@dataclass
class Member:
    """A member of the population: its step in flight (or decided) and its latest told step."""

    status: MemberState = NEW
    current: Step | None = None
    last: Step | None = None
    key: str = ""


@dataclass
class Population:
    """The members, the told members waiting for a step, and the generation decided last.

    ``key`` is the strategy's configuration key: a step in flight is found by
    it when its result is told.
    """

    key: Callable[[Config], str]
    members: list[Member] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    """Asynchronous form: told members, in the order told."""
    generation: int = -1
    """Generational form: the generation decided last."""

    def found(self, size: int) -> None:
        """Make ``size`` new members, unless the population exists already."""
        if not self.members:
            self.members = [Member() for _ in range(size)]

    def last(self, index: int) -> Step:
        """The latest told step of a member that was told at least once."""
        step = self.members[index].last
        assert step is not None
        return step

    def ranking(self) -> list[int]:
        """Members whose latest told step completed, best first (ties: lower index first)."""
        scored = [
            (m.last.score, i)
            for i, m in enumerate(self.members)
            if m.last is not None and m.last.score is not None
        ]
        return [i for _, i in sorted(scored, key=lambda pair: (-pair[0], pair[1]))]

    def in_flight(self) -> set[tuple[str, int | None]]:
        """The (configuration key, parent) of every step decided or asked and not told yet."""
        return {
            (self.key(m.current.config), m.current.parent)
            for m in self.members
            if m.status in (PLANNED, PENDING) and m.current is not None
        }

    def hand_out(self, index: int) -> Suggestion:
        """Mark a member's decided step as asked, and return it as a suggestion."""
        member = self.members[index]
        step = member.current
        assert step is not None
        member.status = PENDING
        member.key = self.key(step.config)
        return Suggestion(step.config, parent=step.parent, generation=step.generation)

    def record(self, key: str, config: Config, score: float | None) -> int:
        """Record the result of the step in flight ``config`` is; returns its member's index.

        ``key`` is ``config``'s configuration key; the trial id told with
        ``config`` makes the step a possible parent.
        """
        index = self._pending_member(key, config)
        member = self.members[index]
        step = member.current
        assert step is not None
        step.trial_id = trial_id_of(config)
        step.score = score
        member.last, member.current, member.key = step, None, ""
        member.status = READY
        return index

    def _pending_member(self, key: str, config: Config) -> int:
        """The member whose step in flight this is (same hyperparameters, and parent if told)."""
        for index, member in enumerate(self.members):
            step = member.current
            if (
                member.status == PENDING
                and member.key == key
                and step is not None
                and (not isinstance(config, Suggestion) or config.parent == step.parent)
            ):
                return index
        raise StrategyError(
            "tell() takes a configuration that ask() returned and that was not told yet",
            repr(dict(config)),
            "Tell each asked configuration exactly once, with the dict ask() returned.",
        )

    # -- persistence ---------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The generation, the told members waiting and every member, as JSON data."""
        return {
            "generation": self.generation,
            "ready": list(self.ready),
            "members": [
                {
                    "status": m.status.value,
                    "current": None if m.current is None else m.current.to_json(),
                    "last": None if m.last is None else m.last.to_json(),
                }
                for m in self.members
            ],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Return to what :meth:`to_json` wrote (raises KeyError, TypeError... on bad data)."""
        self.generation = int(state["generation"])
        self.ready = [int(i) for i in state["ready"]]
        self.members = []
        for data in state["members"]:
            member = Member(
                MemberState(data["status"]),
                Step.from_json(data["current"]),
                Step.from_json(data["last"]),
            )
            if member.status == PENDING and member.current is not None:
                member.key = self.key(member.current.config)
            self.members.append(member)
