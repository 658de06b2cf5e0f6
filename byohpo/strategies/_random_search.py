"""Random search: every configuration drawn independently."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

from byohpo.errors import StrategyError
from byohpo.space import Config
from byohpo.strategies._base import Strategy
from byohpo.strategies._snapshots import (
    check_header,
    check_same,
    header,
    random_state,
    set_random_state,
)


class RandomSearch(Strategy):
    """Configurations drawn uniformly on each parameter's scale (log scales in orders of magnitude).

    ``ask(n)`` returns ``n`` new configurations at any time, so slots can be
    refilled as soon as a job ends (asynchronous mode). Results do not steer
    the search, so any number of objectives is accepted. The same seed gives
    the same configurations.
    """

    name: ClassVar[str] = "random"
    supports_async: ClassVar[bool] = True
    supports_multi_objective: ClassVar[bool] = True

    def __init__(self, *, seed: int | None = None) -> None:
        super().__init__(seed=seed)

    def _setup(self) -> None:
        self._rng = random.Random(self.seed)
        self._pending: list[str] = []

    def ask(self, n: int) -> list[Config]:
        """``n`` fresh configurations."""
        n = self._check_n(n)
        configs = [self.space.sample(self._rng) for _ in range(n)]
        self._pending.extend(self._config_key(config) for config in configs)
        return configs

    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None:
        """Record that an asked configuration finished (the result does not steer the search)."""
        key = self._config_key(config)
        self._scores(metrics)  # rejects metrics that are not a dict of numbers
        try:
            self._pending.remove(key)
        except ValueError:
            raise StrategyError(
                "tell() takes a configuration that ask() returned and that was not told yet",
                repr(dict(config)),
                "Tell each asked configuration exactly once, with the dict ask() returned.",
            ) from None

    def snapshot(self) -> dict[str, Any]:
        """The random state and the configurations asked but not told yet, as JSON data."""
        self._require_setup()
        state = header(self.name)
        state.update(
            space=self.space.to_json(),
            random_state=random_state(self._rng),
            pending=list(self._pending),
        )
        return state

    def restore(self, state: Mapping[str, Any]) -> None:
        """Return to a state written by :meth:`snapshot` (call after :meth:`setup`)."""
        self._require_setup()
        state = check_header(state, self.name)
        try:
            check_same(
                "search space",
                state["space"],
                self.space.to_json(),
                "Resume with the study's search space.",
            )
            set_random_state(self._rng, state["random_state"])
            self._pending = [str(key) for key in state["pending"]]
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, StrategyError):
                raise
            raise StrategyError(
                "a snapshot of the 'random' strategy must hold everything snapshot() wrote",
                f"{type(exc).__name__}: {exc}",
                "Pass the snapshot unchanged.",
            ) from exc
