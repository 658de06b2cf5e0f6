"""Other engines as strategies, re-created after a crash by replaying what they were told.

An Optuna sampler or a Nevergrad optimizer keeps its state in objects byohpo
cannot write as JSON. Its decisions are, however, a function of its seed and
of the asks and results it saw, in order. :class:`ReplayedStrategy` records
that history (the configurations each ``ask`` returned and each result told)
as its snapshot; :meth:`ReplayedStrategy.restore` starts a fresh engine with
the same seed and replays the history, checking that every replayed ``ask``
proposes what the original did. An engine that is not deterministic (a
sampler object built without a seed) cannot be re-created: restoring says so
instead of continuing with different decisions.
"""

from __future__ import annotations

import random
import warnings
from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from byohpo.errors import StrategyError
from byohpo.space import Config
from byohpo.strategies._base import PriorTrial, Strategy
from byohpo.strategies._snapshots import check_header, check_json, check_same, header


class ReplayedStrategy(Strategy):
    """A strategy whose engine is rebuilt from the seed and the told history.

    Subclasses provide :meth:`_start` (a fresh engine), :meth:`_propose` (one
    configuration and the engine's handle for it) and :meth:`_report` (a
    result for a handle). Every configuration may be asked at any time
    (asynchronous), as both engines allow.
    """

    supports_async = True
    supports_multi_objective = True
    engine: str = ""
    """What the engine is, for messages (e.g. ``"Optuna's TPESampler"``)."""

    def _setup(self) -> None:
        self._engine_seed = (
            self.seed if self.seed is not None else random.SystemRandom().getrandbits(31)
        )
        self._history: list[list[Any]] = []
        self._pending: list[tuple[str, Any, Config]] = []
        self._started = False

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        """The engine's own warnings (experimental features, fallbacks) stay inside it."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield

    @abstractmethod
    def _start(self, first_n: int) -> None:
        """A fresh engine seeded with ``self._engine_seed`` (``first_n``: the first ask's n)."""

    @abstractmethod
    def _propose(self) -> tuple[Config, Any]:
        """One new configuration and the engine's handle for it."""

    @abstractmethod
    def _report(self, handle: Any, metrics: Mapping[str, float] | None) -> None:
        """Give the engine the result of the configuration of ``handle`` (None: failed)."""

    def _add_prior(self, config: Config, values: Mapping[str, float]) -> None:
        """Give the engine a result it did not propose (a warm start); engines override it."""
        raise NotImplementedError

    def warm_start(self, trials: Sequence[PriorTrial]) -> int:
        """Hand the engine earlier trials' results when it starts (Optuna's ``add_trial``,
        Nevergrad's ``tell`` of a point it did not ask); recorded in the history."""
        self._require_setup()
        if self._history:
            raise StrategyError(
                "warm_start() comes before the first ask()",
                f"a warm start after {len(self._history)} asks and results",
                "Warm start a freshly set-up strategy.",
            )
        if type(self)._add_prior is ReplayedStrategy._add_prior:
            return 0
        prior = []
        for trial in trials:
            if self._scores(trial.metrics) is None:
                continue
            values = {o.metric: float(trial.metrics[o.metric]) for o in self.objectives}
            prior.append([dict(trial.config), values])
        if prior:
            self._history.append(["warm", prior])
        return len(prior)

    def _ensure_started(self, n: int) -> None:
        if not self._started:
            with self._quiet():
                self._start(n)
                for event in self._history:
                    if event[0] == "warm":
                        for config, values in event[1]:
                            self._add_prior(config, values)
            self._started = True

    def ask(self, n: int) -> list[Config]:
        """``n`` configurations from the engine (it sees the ones still running as running)."""
        n = self._check_n(n)
        self._require_setup()
        self._ensure_started(n)
        configs = []
        with self._quiet():
            for _ in range(n):
                config, handle = self._propose()
                self.space.validate(config)
                key = self._config_key(config)
                self._pending.append((key, handle, config))
                configs.append(config)
        self._history.append(["ask", n, [key for key, _, _ in self._pending[-n:]]])
        return configs

    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None:
        """Give the engine an asked configuration's result (``None``: its job failed)."""
        key = self._config_key(config)
        scores = self._scores(metrics)
        for index, (pending_key, handle, _) in enumerate(self._pending):
            if pending_key == key:
                del self._pending[index]
                values = None
                if scores is not None:
                    values = {
                        o.metric: float(dict(metrics or {})[o.metric]) for o in self.objectives
                    }
                with self._quiet():
                    self._report(handle, values)
                self._history.append(["tell", key, values])
                return
        raise StrategyError(
            "tell() takes a configuration that ask() returned and that was not told yet",
            repr(dict(config)),
            "Tell each asked configuration exactly once, with the dict ask() returned.",
        )

    def snapshot(self) -> dict[str, Any]:
        """The seed and every ask and result, in order (the engine is rebuilt from them)."""
        self._require_setup()
        state = header(self.name)
        state.update(
            options=self.options,
            space=self.space.to_json(),
            objectives=[[o.metric, o.direction.value] for o in self.objectives],
            seed=self._engine_seed,
            history=[list(event) for event in self._history],
        )
        check_json(state, f"the {self.name!r} strategy's snapshot")
        return state

    def restore(self, state: Mapping[str, Any]) -> None:
        """Rebuild the engine from the seed and replay the history (call after :meth:`setup`)."""
        self._require_setup()
        state = check_header(state, self.name)
        try:
            check_same(
                "search space",
                state["space"],
                self.space.to_json(),
                "Resume with the study's space.",
            )
            check_same(
                "objectives",
                state["objectives"],
                [[o.metric, o.direction.value] for o in self.objectives],
                "Resume with the study's objectives.",
            )
            check_same(
                "engine",
                state["options"],
                self.options,
                "Resume with the same sampler or optimizer.",
            )
            history = [list(event) for event in state["history"]]
            seed = int(state["seed"])
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, StrategyError):
                raise
            raise StrategyError(
                f"a snapshot of the {self.name!r} strategy must hold everything snapshot() wrote",
                f"{type(exc).__name__}: {exc}",
                "Pass the snapshot unchanged.",
            ) from exc
        self._setup()
        self._engine_seed = seed
        for event in history:
            if event[0] == "warm":
                self._history.append(event)
            elif event[0] == "ask":
                _, n, keys = event
                self.ask(int(n))
                replayed = [key for key, _, _ in self._pending[-int(n) :]]
                if replayed != list(keys):
                    raise StrategyError(
                        f"{self.engine} must propose the same configurations again when replayed "
                        "from its seed, to resume a study",
                        f"other configurations at ask number {len(self._history)}",
                        "Give the sampler or optimizer a seed (or use it by name, which seeds "
                        "it from the study's seed), or start a new study.",
                    )
            else:
                _, key, values = event
                config = next((c for k, _, c in self._pending if k == key), None)
                if config is None:
                    raise StrategyError(
                        f"a snapshot of the {self.name!r} strategy tells only asked configurations",
                        key,
                        "Pass the snapshot unchanged.",
                    )
                self.tell(config, values)
