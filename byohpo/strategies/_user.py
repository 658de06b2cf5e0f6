"""A user's own algorithm behind byohpo's strategy interface."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from byohpo.errors import SearchSpaceError, StrategyError
from byohpo.space import Config, Static
from byohpo.strategies._base import PriorTrial, Strategy
from byohpo.strategies._snapshots import check_header, check_json, header
from byohpo.strategies._suggestion import Suggestion, parent_of, trial_id_of


def is_user_strategy(obj: object) -> bool:
    """Whether ``obj`` offers what a strategy of the user's own needs: ``ask(n)`` and ``tell``."""
    return callable(getattr(obj, "ask", None)) and callable(getattr(obj, "tell", None))


class UserStrategy(Strategy):
    """Wraps any object with ``ask(n) -> list[dict]`` and ``tell(config, metrics)``.

    - ``ask`` forwards to the object and checks what comes back: a list of at
      most ``n`` configurations of the search space (static values may be
      left out; they are filled in). Anything else raises
      :class:`~byohpo.errors.StrategyError` naming the object's class.
    - ``tell`` forwards the result together with the very dict the object's
      ``ask`` returned; ``metrics`` is ``None`` when the job failed.
    - Capabilities come from the object's attributes of the same name:
      ``supports_async`` (default False: the tuner waits for a whole batch)
      ``supports_multi_objective`` (default True: the object receives
      every metric and judges them itself) and ``warm_starts`` (default False).
    - ``ask`` may return :class:`~byohpo.strategies.Suggestion` objects: their
      ``parent`` and ``generation`` are kept.
    - ``snapshot``/``restore`` use the object's own ``snapshot()`` (JSON
      data) and ``restore(state)`` when it has both. Otherwise the snapshot
      records that the state is not restorable, and ``restore`` raises.
    """

    name: ClassVar[str] = "user"
    supports_async: ClassVar[bool] = False
    supports_multi_objective: ClassVar[bool] = True

    def __init__(self, strategy: Any) -> None:
        if not is_user_strategy(strategy):
            raise StrategyError(
                "a strategy of your own needs the methods ask(n) and tell(config, metrics)",
                type(strategy).__name__,
                "Add both methods, or pass a strategy name such as 'ga'.",
            )
        super().__init__(seed=getattr(strategy, "seed", None))
        self.strategy = strategy
        self._label = type(strategy).__name__
        # Capabilities are class attributes elsewhere; here they belong to the wrapped object.
        setattr(self, "supports_async", bool(getattr(strategy, "supports_async", False)))  # noqa: B010
        setattr(  # noqa: B010
            self,
            "supports_multi_objective",
            bool(getattr(strategy, "supports_multi_objective", True)),
        )
        setattr(self, "warm_starts", bool(getattr(strategy, "warm_starts", False)))  # noqa: B010

    def __repr__(self) -> str:
        return f"UserStrategy({self.strategy!r})"

    def _setup(self) -> None:
        # (key, the dict the user's ask returned, the checked configuration), in ask order
        self._pending: list[tuple[str, Any, Config]] = []

    def ask(self, n: int) -> list[Config]:
        """Up to ``n`` configurations from the wrapped object, checked against the search space."""
        n = self._check_n(n)
        self._require_setup()
        returned = self.strategy.ask(n)
        if isinstance(returned, str | bytes | Mapping) or not isinstance(returned, Sequence):
            raise StrategyError(
                f"{self._label}.ask(n) must return a list of configuration dicts",
                f"{type(returned).__name__}",
                "Return a list, e.g. [{'learning_rate': 0.01, ...}] (or [] when it has nothing).",
            )
        if len(returned) > n:
            raise StrategyError(
                f"{self._label}.ask(n) must return at most n configurations",
                f"{len(returned)} for n={n}",
                "Return no more than the free slots; keep the rest for the next ask.",
            )
        configs = []
        for original in returned:
            config = self._checked(original)
            self._pending.append((self._config_key(config), original, config))
            configs.append(config)
        return configs

    def _checked(self, original: object) -> Config:
        if not isinstance(original, Mapping):
            raise StrategyError(
                f"{self._label}.ask(n) must return configuration dicts",
                f"an item of type {type(original).__name__}",
                "Return dicts of parameter name -> value.",
            )
        config: Config = {}
        for name in self.space:
            parameter = self.space[name]
            if name in original:
                config[name] = _plain(original[name])
            elif isinstance(parameter, Static):
                config[name] = parameter.value
        extra = [name for name in original if name not in config]
        for name in extra:
            config[name] = original[name]
        try:
            self.space.validate(config)
        except SearchSpaceError as exc:
            raise StrategyError(
                f"{self._label}.ask(n) must return configurations of the search space: {exc.must}",
                exc.got,
                "Return a value inside the range of every tuned parameter (int for Integer, "
                "one of the values for Categorical), and no other names.",
            ) from exc
        if isinstance(original, Suggestion):
            return Suggestion(config, parent=original.parent, generation=original.generation)
        return config

    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None:
        """Forward the result to the wrapped object, with the dict its ``ask`` returned."""
        key = self._config_key(config)
        self._scores(metrics)  # rejects metrics that are not a dict of numbers
        for index, (pending_key, original, asked) in enumerate(self._pending):
            told_parent = config.parent if isinstance(config, Suggestion) else parent_of(asked)
            if pending_key == key and parent_of(asked) == told_parent:
                del self._pending[index]
                if isinstance(original, Suggestion):  # the trial it ran as: a parent to name
                    original.trial_id = trial_id_of(config)
                self.strategy.tell(original, None if metrics is None else dict(metrics))
                return
        raise StrategyError(
            "tell() takes a configuration that ask() returned and that was not told yet",
            repr(dict(config)),
            "Tell each asked configuration exactly once, with the dict ask() returned.",
        )

    def warm_start(self, trials: Sequence[PriorTrial]) -> int:
        """The object's own ``warm_start(trials)`` (a list of ``(config, metrics)`` pairs;
        it returns how many it used) when it has one; else each trial is told to its
        ``tell``, as a strategy of one's own takes any configuration."""
        self._require_setup()
        pairs = [(dict(t.config), dict(t.metrics)) for t in trials]
        own = getattr(self.strategy, "warm_start", None)
        try:
            if callable(own):
                used = own(pairs)
                return len(pairs) if used is None else int(used)
            for config, metrics in pairs:
                self.strategy.tell(config, metrics)
        except Exception as exc:  # the user's code refused: say what to do, before any job
            raise StrategyError(
                f"{self._label} must take earlier studies' results to warm start (its "
                "warm_start(trials), or else tell(config, metrics) of configurations it "
                "did not ask)",
                f"{type(exc).__name__}: {exc}",
                f"Add warm_start(self, trials) to {self._label}, or drop warm_start.",
            ) from exc
        return len(pairs)

    @property
    def restorable(self) -> bool:
        """Whether the wrapped object has ``snapshot()`` and ``restore(state)``."""
        return callable(getattr(self.strategy, "snapshot", None)) and callable(
            getattr(self.strategy, "restore", None)
        )

    def snapshot(self) -> dict[str, Any]:
        """The wrapped object's own snapshot, or a record that its state cannot be restored."""
        self._require_setup()
        state = header(self.name)
        state.update(
            strategy_class=self._label,
            restorable=self.restorable,
            pending=[dict(config) for _, _, config in self._pending],
            pending_parents=[parent_of(config) for _, _, config in self._pending],
        )
        if self.restorable:
            state["state"] = self.strategy.snapshot()
        check_json(state, f"the snapshot of {self._label}")
        return state

    def restore(self, state: Mapping[str, Any]) -> None:
        """Hand the wrapped object its own snapshot back (raises if it had none)."""
        self._require_setup()
        state = check_header(state, self.name)
        if not state.get("restorable") or not self.restorable:
            raise StrategyError(
                f"restoring {self._label} needs its snapshot() and restore(state) methods",
                "a snapshot without the strategy's state"
                if not state.get("restorable")
                else f"{self._label} without snapshot()/restore()",
                "Add snapshot() returning JSON data and restore(state) to resume this study, "
                "or start a new study.",
            )
        self.strategy.restore(state["state"])
        self._pending = []
        parents = state.get("pending_parents") or [None] * len(state.get("pending", []))
        for config, parent in zip(state.get("pending", []), parents, strict=True):
            asked = dict(config) if parent is None else Suggestion(config, parent=parent)
            self._pending.append((self._config_key(config), asked, asked))


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it holds; anything else unchanged."""
    if type(value) not in (str, int, float, bool) and callable(getattr(value, "item", None)):
        return value.item()
    return value
