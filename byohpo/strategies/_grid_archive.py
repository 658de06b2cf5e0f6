"""PAES's adaptive grid archive: a bounded set of non-dominated trials, spread out."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

_GRID_STATE = ("grid_population", "global_smallest", "global_largest")


class GridArchiver:
    """PAES's adaptive grid archive, with the grid kept on this object.

    This is ``inspyred.ec.archivers.adaptive_grid_archiver`` with two faults
    corrected:

    - inspyred keeps the grid as attributes of its module-level function,
      shared by every run in the process: a second PAES after an interrupted
      one (or one with another number of objectives) fails with
      ``IndexError``. Here each strategy owns its grid.
    - inspyred reuses the name of the newcomer in a loop, so a non-dominated
      newcomer that dominates no member is never added and the last member
      is added again instead. Here the newcomer is added.

    The archive returned is also written back to the computation: inspyred's
    ``paes_replacement`` keeps it in a local variable only, so members it
    evicted as dominated would otherwise stay in the archive.
    """

    def __init__(self) -> None:
        self.grid_population: list[int] | None = None
        self.global_smallest: list[float] | None = None
        self.global_largest: list[float] | None = None

    def __call__(
        self, random: random.Random, population: list[Any], archive: list[Any], args: dict[str, Any]
    ) -> list[Any]:
        max_size = args.setdefault("max_archive_size", len(population))
        divisions = args.setdefault("num_grid_divisions", 1)
        objectives = min(len(p.fitness) for p in population)
        if self.grid_population is None:
            self.grid_population = [0] * 2 ** (objectives * divisions)
        if self.global_smallest is None or self.global_largest is None:
            self.global_smallest = [0.0] * objectives
            self.global_largest = [0.0] * objectives
        grid = self.grid_population
        for newcomer in population:
            self._update_grid(newcomer, archive, divisions)
            if any(newcomer == a or a > newcomer for a in archive):
                continue
            joined = False
            evicted: list[Any] = []
            for i, member in enumerate(archive):
                if newcomer > member and not joined:
                    archive[i] = newcomer
                    joined = True
                elif newcomer > member and member not in evicted:
                    evicted.append(member)
            archive = [member for member in archive if member not in evicted]
            if joined:
                continue
            if len(archive) < max_size:
                archive.append(newcomer)
                continue
            newcomer.grid_location = self._location(newcomer.fitness, divisions)
            most = grid[newcomer.grid_location] if newcomer.grid_location >= 0 else -1
            replaced = None
            for i, member in enumerate(archive):
                if grid[member.grid_location] > most:
                    most = grid[member.grid_location]
                    replaced = i
            if replaced is not None:
                archive[replaced] = newcomer
        args["_ec"].archive = archive
        return archive

    def _location(self, fitness: Any, divisions: int) -> int:
        """The grid cell of a fitness, -1 outside the grid (inspyred's numbering)."""
        assert self.global_smallest is not None and self.global_largest is not None
        smallest, largest = self.global_smallest, self.global_largest
        k = len(fitness)
        local_smallest = smallest[:]
        for i, f in enumerate(fitness):
            if f < local_smallest[i] or f > local_smallest[i] + largest[i] - smallest[i]:
                return -1
        inc = [0] * k
        width = [0.0] * k
        n = 1
        for i in range(k):
            inc[i] = n
            n *= 2
            width[i] = largest[i] - smallest[i]
        location = 0
        for _ in range(divisions):
            for i, f in enumerate(fitness):
                if f < width[i] / 2.0 + local_smallest[i]:
                    location += inc[i]
                else:
                    local_smallest[i] += width[i] / 2.0
            for i in range(k):
                inc[i] *= k * 2
                width[i] /= 2.0
        return location

    def _update_grid(self, newcomer: Any, archive: list[Any], divisions: int) -> None:
        """Stretch the grid over the archive and the newcomer (20% margin), recount the cells."""
        assert self.global_smallest is not None and self.global_largest is not None
        assert self.grid_population is not None
        if archive:
            k = min(min(len(a.fitness) for a in archive), len(newcomer.fitness))
            smallest = [
                min(min(a.fitness[o] for a in archive), newcomer.fitness[o]) for o in range(k)
            ]
            largest = [
                max(max(a.fitness[o] for a in archive), newcomer.fitness[o]) for o in range(k)
            ]
        else:
            k = len(newcomer.fitness)
            smallest = [newcomer.fitness[o] for o in range(k)]
            largest = [newcomer.fitness[o] for o in range(k)]
        for i in range(k):
            self.global_smallest[i] = smallest[i] - abs(0.2 * smallest[i])
            self.global_largest[i] = largest[i] + abs(0.2 * largest[i])
        grid = self.grid_population
        grid[:] = [0] * len(grid)
        for member in archive:
            member.grid_location = self._location(member.fitness, divisions)
            grid[member.grid_location] += 1
        newcomer.grid_location = self._location(newcomer.fitness, divisions)
        grid[newcomer.grid_location] += 1

    def state(self) -> dict[str, Any]:
        """The grid as JSON data (copies: later archiving does not change it)."""
        return {
            name: None if getattr(self, name) is None else list(getattr(self, name))
            for name in _GRID_STATE
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Return to a grid written by :meth:`state`."""
        for name in _GRID_STATE:
            value = state[name]
            setattr(self, name, None if value is None else list(value))
