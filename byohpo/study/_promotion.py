"""Pause and promote: the study side of ASHA's promotion form.

The study loop's collaborator for promotions (:class:`Promoter`). A job the rule pauses ends
``Stopped`` like any early stop; when the rule later finds its configuration
in the top of its rung, the study continues it as a new trial: recorded
(``asked`` with ``extra["promoted"]``, never asked of the strategy) before
the paused job's checkpoint is copied, and the copy recorded before the job
is created (the warm-start path population based training uses), so a crash
at any point resumes without paying a job twice. Promotions take free slots
before new configurations, and do not count against ``max_jobs`` (which
counts the configurations the strategy proposed). A promoted job that fails for
SageMaker's own reasons is retried as the same promotion: from a fresh copy of the
same paused checkpoint, in the same chain (``parent_id``, the rule's rung).

The strategy is told each configuration it proposed once, with the result
of the last job of its chain: the final result when the chain ran to the
end, or the partial one it reached when it stays paused (told when nothing
else is left to run, or when the study ends).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from byohpo.study._early_stopping import PROMOTED
from byohpo.study._events import TrialsAsked
from byohpo.study._state import TrialRecord

if TYPE_CHECKING:
    from byohpo._clock import Clock
    from byohpo.study._bookkeeping import Bookkeeping
    from byohpo.study._early_stopping import EarlyStopping
    from byohpo.study._launching import Launcher
    from byohpo.study._progress import Progress


class Promoter:
    """Continues paused jobs as new trials, and says when a configuration's chain ended."""

    def __init__(
        self,
        book: Bookkeeping,
        launcher: Launcher,
        early_stopping: EarlyStopping | None,
        *,
        clock: Clock,
        progress: Progress,
    ) -> None:
        self.book = book
        self.launcher = launcher
        self.early_stopping = early_stopping
        self.clock = clock
        self.progress = progress
        self.budget = launcher.spec.budget

    @property
    def promoting(self) -> bool:
        """Whether the study pauses and promotes jobs (ASHA's promotion form)."""
        return self.early_stopping is not None and self.early_stopping.plan.promote

    def chain_ends(self) -> dict[int, int]:
        """Each configuration's latest trial (itself, or the last promotion continuing it)."""
        latest: dict[int, int] = {}
        for tid in sorted(self.book.trials):
            detail = self.book.trials[tid].extra.get(PROMOTED)
            latest[int(detail["config"]) if isinstance(detail, dict) else tid] = tid
        return latest

    def launch(self, *, finishing: bool = False) -> int:
        """Record the promotions the rule asks for, as far as free slots go (before new
        configurations, as ASHA has it); the launcher then creates their jobs. ``finishing``:
        no new configuration will start, so each rung's best goes on. Returns how many."""
        early = self.early_stopping
        if early is None or not self.promoting or self.book.stop_reason is not None:
            return 0
        free = self.book.free_slots() - len(self.book.unlaunched)
        if free <= 0:
            return 0
        if finishing:
            early.finish()
        offers = early.promotions(self.chain_ends(), self.book.trials)
        launched = 0
        for paused_id, promotion, detail in offers[:free]:
            if self.book.trials[promotion.config_id].told:
                continue  # the strategy was told this configuration's end already
            paused = self.book.trials[paused_id]
            new = self.launcher.new_trial(
                len(self.book.trials), paused.config, paused.generation, parent_id=paused_id
            )
            new.extra[PROMOTED] = {**detail, "finishing": True} if finishing else dict(detail)
            self.book.write(TrialsAsked((new.spec(),), asked=None, time=self.clock.now()))
            early.promoted(new.trial_id, new.extra[PROMOTED])
            self.book.index(self.book.trials[new.trial_id])
            self.book.unlaunched.append(new.trial_id)
            self.progress.say(
                f"trial {paused_id}: promoted from rung {promotion.rung} "
                f"(value {promotion.value:.6g}); continues from its checkpoint at point "
                f"{detail['offset']} as trial {new.trial_id}"
            )
            launched += 1
        return launched

    def retried(self, retry: TrialRecord) -> None:
        """A failed promotion is retried as ``retry``: the rule knows it as the same chain."""
        detail = retry.extra.get(PROMOTED)
        if self.early_stopping is not None and isinstance(detail, dict):
            self.early_stopping.promoted(retry.trial_id, detail)

    # -- what the strategy is told ---------------------------------------------------------
    def to_tell_after(self, tid: int) -> list[int]:
        """The trials to tell the strategy now that ``tid`` ended: itself; or, for a chain,
        its first trial once the chain ended for good (not while it is paused)."""
        early = self.early_stopping
        if early is None or not self.promoting:
            return [tid]
        if early.paused(tid):
            return []  # held: a promotion may continue it
        config = early.config_of(tid)
        return [] if self.book.trials[config].told else [config]

    def release_paused(self, to_tell: list[int]) -> bool:
        """Nothing else is left to run: once ``max_jobs`` configurations started, promote each
        rung's best (so the best configurations run to the end); when none is left, tell the
        strategy the paused configurations' partial results. Returns whether anything
        remains to do."""
        early = self.early_stopping
        if early is None or not self.promoting:
            return False
        if self.book.jobs >= self.budget.max_jobs and self.launch(finishing=True):
            return True
        released = []
        for config, tid in sorted(self.chain_ends().items()):
            record = self.book.trials[tid]
            if record.has_result and early.paused(tid) and not self.book.trials[config].told:
                released.append(config)
        to_tell.extend(t for t in released if t not in to_tell)
        return bool(released)

    def untold(self, result_order: list[int], retried: dict[int, int]) -> list[int]:
        """On resume: the trials still to tell the strategy, in the order they are due."""
        if not self.promoting:
            return [t for t in result_order if not self.book.trials[t].told and t not in retried]
        due: list[int] = []
        for tid in result_order:
            if tid in retried:
                continue
            for told in self.to_tell_after(tid):
                if told not in due and not self.book.trials[told].told:
                    due.append(told)
        return due

    def chain_result(self, tid: int) -> TrialRecord:
        """The trial whose result stands for ``tid``: the last job of its chain that ended."""
        if not self.promoting:
            return self.book.trials[tid]
        latest = self.chain_ends().get(tid, tid)
        while latest != tid and not self.book.trials[latest].has_result:
            parent = self.book.trials[latest].parent_id
            latest = tid if parent is None else parent
        return self.book.trials[latest]
