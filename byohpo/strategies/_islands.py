"""The island model (as in Propulate and DEAP): populations evolving side by side.

An evolutionary strategy built with ``islands=k`` (k >= 2) runs ``k``
independent copies of itself, each with its own population of
``population_size`` and its own random stream. Slots are handed to the
islands in turn, so each island gets an equal share of the jobs. Every
``migration_interval`` results an island was told, it sends copies of its
``migrants`` best members to its neighbours in ``migration_topology``:

- ``"ring"``: island ``i`` sends to island ``i + 1`` (the last to the first),
  as DEAP's ``migRing``;
- ``"fully_connected"``: to every other island;
- ``"random"``: to one other island drawn at each migration.

A newcomer takes the place of the receiving island's worst member when it is
better (an island between two generations, or in the asynchronous form,
takes it at once; otherwise at the end of its generation). Islands keep
diversity (each explores its own region) while migration spreads what works.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from byohpo.errors import StrategyError
from byohpo.space import Config
from byohpo.strategies import _options as options
from byohpo.strategies._snapshots import random_state, set_random_state

TOPOLOGIES = ("ring", "fully_connected", "random")
"""The migration topologies an island model takes."""


@dataclass(frozen=True)
class IslandSettings:
    """How many islands, and how often, how many and to whom members migrate."""

    islands: int = 1
    migration_interval: int | None = None
    """Results an island is told between two of its migrations (default: its population size)."""
    migrants: int = 1
    migration_topology: str = "ring"

    @classmethod
    def check(
        cls,
        owner: str,
        islands: object,
        migration_interval: object,
        migrants: object,
        migration_topology: object,
    ) -> IslandSettings:
        """Validated settings; migration options need ``islands >= 2``."""
        count = options.whole(owner, "islands", islands, 1)
        if count == 1:
            given = [
                name
                for name, value in (
                    ("migration_interval", migration_interval),
                    ("migrants", migrants),
                    ("migration_topology", migration_topology),
                )
                if value is not None
            ]
            if given:
                raise StrategyError(
                    f"{owner}: {', '.join(given)} apply to an island model (islands >= 2)",
                    f"{', '.join(given)} with islands={count}",
                    "Set islands to 2 or more, or drop the migration options.",
                )
            return cls()
        return cls(
            islands=count,
            migration_interval=options.optional_whole(
                owner, "migration_interval", migration_interval, 1
            ),
            migrants=1 if migrants is None else options.whole(owner, "migrants", migrants, 1),
            migration_topology=options.choice(
                owner,
                "migration_topology",
                "ring" if migration_topology is None else migration_topology,
                TOPOLOGIES,
            ),
        )

    def as_options(self) -> dict[str, Any]:
        """The settings as strategy options (none for a single population)."""
        if self.islands == 1:
            return {}
        return {
            "islands": self.islands,
            "migration_interval": self.migration_interval,
            "migrants": self.migrants,
            "migration_topology": self.migration_topology,
        }


class Island(Protocol):
    """What an island model needs of each island (an evolutionary strategy, set up)."""

    @property
    def generation(self) -> int: ...

    def ask(self, n: int) -> list[Config]: ...

    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None: ...

    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, state: Mapping[str, Any]) -> None: ...

    def emigrants(self, count: int) -> list[dict[str, Any]]: ...

    def immigrate(self, newcomers: list[dict[str, Any]]) -> None: ...


IslandFactory = Callable[[int, int | None], Island]
"""Builds a set-up island: ``factory(population_size, seed)``."""


class Archipelago:
    """The islands of one strategy: who answers an ask, who is told, when members migrate."""

    def __init__(
        self,
        settings: IslandSettings,
        factory: IslandFactory,
        island_size: Callable[[int], int],
        key_of: Callable[[Config], str],
        seed: int | None,
    ) -> None:
        self.settings = settings
        self._factory = factory
        self._island_size = island_size
        self._key_of = key_of
        self._rng = random.Random(seed)
        self.islands: list[Island] = []
        self.size: int | None = None
        self._in_flight: list[tuple[str, int]] = []
        self._cursor = 0
        self._since_migration = [0] * settings.islands
        self.migrations = 0

    @property
    def generation(self) -> int:
        """The furthest generation of any island."""
        return max((island.generation for island in self.islands), default=0)

    @property
    def interval(self) -> int:
        assert self.size is not None
        return self.settings.migration_interval or self.size

    def ask(self, n: int) -> list[Config]:
        """Up to ``n`` configurations, one island after the other (an idle island is skipped)."""
        if not self.islands:
            self.size = self._island_size(n)
            seeds = [self._rng.getrandbits(32) for _ in range(self.settings.islands)]
            self.islands = [self._factory(self.size, seed) for seed in seeds]
        asked: list[Config] = []
        idle = 0
        while len(asked) < n and idle < len(self.islands):
            index = self._cursor
            self._cursor = (self._cursor + 1) % len(self.islands)
            fresh = self.islands[index].ask(1)
            if not fresh:
                idle += 1
                continue
            idle = 0
            asked += fresh
            self._in_flight.append((self._key_of(fresh[0]), index))
        return asked

    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None:
        """Tell the island that proposed ``config``; it may send migrants afterwards."""
        key = self._key_of(config)
        position = next((i for i, (k, _) in enumerate(self._in_flight) if k == key), None)
        if position is None:
            raise StrategyError(
                "tell() takes a configuration that ask() returned and that was not told yet",
                repr(dict(config)),
                "Tell each asked configuration exactly once, with the dict ask() returned.",
            )
        index = self._in_flight[position][1]
        self.islands[index].tell(config, metrics)
        del self._in_flight[position]
        self._since_migration[index] += 1
        if self._since_migration[index] >= self.interval:
            self._since_migration[index] = 0
            self._migrate(index)

    def _migrate(self, source: int) -> None:
        emigrants = self.islands[source].emigrants(self.settings.migrants)
        if not emigrants:
            return
        for target in self._neighbours(source):
            self.islands[target].immigrate([dict(e) for e in emigrants])
        self.migrations += 1

    def _neighbours(self, source: int) -> list[int]:
        count = len(self.islands)
        others = [i for i in range(count) if i != source]
        if self.settings.migration_topology == "ring":
            return [(source + 1) % count]
        if self.settings.migration_topology == "fully_connected":
            return others
        return [self._rng.choice(others)]

    # -- persistence ---------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The islands' snapshots and the model's own state, as JSON data."""
        return {
            "size": self.size,
            "islands": [island.snapshot() for island in self.islands],
            "in_flight": [[key, index] for key, index in self._in_flight],
            "cursor": self._cursor,
            "since_migration": list(self._since_migration),
            "migrations": self.migrations,
            "random_state": random_state(self._rng),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Return to a state written by :meth:`state`."""
        self.size = None if state["size"] is None else int(state["size"])
        self.islands = []
        for island_state in state["islands"]:
            assert self.size is not None
            island = self._factory(self.size, None)
            island.restore(island_state)
            self.islands.append(island)
        self._in_flight = [(str(key), int(index)) for key, index in state["in_flight"]]
        self._cursor = int(state["cursor"])
        self._since_migration = [int(c) for c in state["since_migration"]]
        if len(self._since_migration) != self.settings.islands:
            raise StrategyError(
                "a snapshot of islands has one migration counter per island",
                f"{len(self._since_migration)} counters for {self.settings.islands} islands",
                "Restore the snapshot into a strategy with the same islands option.",
            )
        self.migrations = int(state["migrations"])
        set_random_state(self._rng, state["random_state"])


def island_size(islands: int, population_size: int | None, minimum: int) -> Callable[[int], int]:
    """Each island's population: ``population_size``, or else the first ask's slots shared out."""

    def size(n: int) -> int:
        if population_size is not None:
            return population_size
        return max(math.ceil(n / islands), minimum)

    return size
