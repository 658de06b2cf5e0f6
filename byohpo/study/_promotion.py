"""Pause and promote: the study side of ASHA's promotion form.

Part of :class:`~byohpo.study._loop.StudyLoop`. A job the rule pauses ends
``Stopped`` like any early stop; when the rule later finds its configuration
in the top of its rung, the study continues it as a new trial: recorded
(``asked`` with ``extra["promoted"]``, never asked of the strategy) before
the paused job's checkpoint is copied, and the copy recorded before the job
is created (the warm-start path population based training uses), so a crash
at any point resumes without paying a job twice. Promotions take free slots
before new configurations, and do not count against ``max_jobs`` (which
counts the configurations the strategy proposed).

The strategy is told each configuration it proposed once, with the result
of the last job of its chain: the final result when the chain ran to the
end, or the partial one it reached when it stays paused (told when nothing
else is left to run, or when the study ends).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from byohpo.study._early_stopping import PROMOTED
from byohpo.study._events import Event, TrialsAsked
from byohpo.study._progress import Progress
from byohpo.study._state import TrialRecord

if TYPE_CHECKING:
    from byohpo._clock import Clock
    from byohpo.space import Config
    from byohpo.study._accounting import Budget
    from byohpo.study._early_stopping import EarlyStopping


class Promoter:
    """The promotion half of the study loop (its state lives on the loop)."""

    clock: Clock
    progress: Progress
    trials: dict[int, TrialRecord]
    unlaunched: list[int]
    stop_reason: str | None
    early_stopping: EarlyStopping | None
    budget: Budget
    _jobs: int

    if TYPE_CHECKING:

        def _write(self, *events: Event) -> None: ...

        def _index(self, t: TrialRecord) -> None: ...

        def _free_slots(self) -> int: ...

        def _new_trial(
            self,
            tid: int,
            config: Config,
            generation: int,
            *,
            duplicate_of: int | None = None,
            retry_of: int | None = None,
            parent_id: int | None = None,
        ) -> TrialRecord: ...

    @property
    def _promoting(self) -> bool:
        return self.early_stopping is not None and self.early_stopping.plan.promote

    def _chain_ends(self) -> dict[int, int]:
        """Each configuration's latest trial (itself, or the last promotion continuing it)."""
        latest: dict[int, int] = {}
        for tid in sorted(self.trials):
            detail = self.trials[tid].extra.get(PROMOTED)
            latest[int(detail["config"]) if isinstance(detail, dict) else tid] = tid
        return latest

    def _launch_promotions(self, *, finishing: bool = False) -> int:
        """Record the promotions the rule asks for, as far as free slots go (before new
        configurations, as ASHA has it); ``_launch`` then creates their jobs. ``finishing``:
        no new configuration will start, so each rung's best goes on. Returns how many."""
        early = self.early_stopping
        if early is None or not self._promoting or self.stop_reason is not None:
            return 0
        free = self._free_slots() - len(self.unlaunched)
        if free <= 0:
            return 0
        if finishing:
            early.finish()
        offers = early.promotions(self._chain_ends(), self.trials)
        launched = 0
        for paused_id, promotion, detail in offers[:free]:
            if self.trials[promotion.config_id].told:
                continue  # the strategy was told this configuration's end already
            paused = self.trials[paused_id]
            new = self._new_trial(
                len(self.trials), paused.config, paused.generation, parent_id=paused_id
            )
            new.extra[PROMOTED] = {**detail, "finishing": True} if finishing else dict(detail)
            self._write(TrialsAsked((new.spec(),), asked=None, time=self.clock.now()))
            early.promoted(new.trial_id, new.extra[PROMOTED])
            self._index(self.trials[new.trial_id])
            self.unlaunched.append(new.trial_id)
            self.progress.say(
                f"trial {paused_id}: promoted from rung {promotion.rung} "
                f"(value {promotion.value:.6g}); continues from its checkpoint at point "
                f"{detail['offset']} as trial {new.trial_id}"
            )
            launched += 1
        return launched

    # -- what the strategy is told ---------------------------------------------------------
    def _to_tell_after(self, tid: int) -> list[int]:
        """The trials to tell the strategy now that ``tid`` ended: itself; or, for a chain,
        its first trial once the chain ended for good (not while it is paused)."""
        early = self.early_stopping
        if early is None or not self._promoting:
            return [tid]
        if early.paused(tid):
            return []  # held: a promotion may continue it
        config = early.config_of(tid)
        return [] if self.trials[config].told else [config]

    def _release_paused(self, to_tell: list[int]) -> bool:
        """Nothing else is left to run: once ``max_jobs`` configurations started, promote each
        rung's best (so the best configurations run to the end); when none is left, tell the
        strategy the paused configurations' partial results. Returns whether anything
        remains to do."""
        early = self.early_stopping
        if early is None or not self._promoting:
            return False
        if self._jobs >= self.budget.max_jobs and self._launch_promotions(finishing=True):
            return True
        released = []
        for config, tid in sorted(self._chain_ends().items()):
            record = self.trials[tid]
            if record.has_result and early.paused(tid) and not self.trials[config].told:
                released.append(config)
        to_tell.extend(t for t in released if t not in to_tell)
        return bool(released)

    def _untold(self, result_order: list[int], retried: dict[int, int]) -> list[int]:
        """On resume: the trials still to tell the strategy, in the order they are due."""
        if not self._promoting:
            return [t for t in result_order if not self.trials[t].told and t not in retried]
        due: list[int] = []
        for tid in result_order:
            if tid in retried:
                continue
            for told in self._to_tell_after(tid):
                if told not in due and not self.trials[told].told:
                    due.append(told)
        return due

    def _chain_result(self, tid: int) -> TrialRecord:
        """The trial whose result stands for ``tid``: the last job of its chain that ended."""
        if not self._promoting:
            return self.trials[tid]
        latest = self._chain_ends().get(tid, tid)
        while latest != tid and not self.trials[latest].has_result:
            parent = self.trials[latest].parent_id
            latest = tid if parent is None else parent
        return self.trials[latest]
