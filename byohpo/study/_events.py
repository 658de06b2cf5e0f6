"""The study's events: typed, versioned, and turned into JSON and back by one codec.

Each line of a study's log is one event, a JSON object whose ``"event"`` key names
its kind. The tuner writes an event *before* it acts on it, then applies it to the
study's state (:func:`byohpo.study._state.apply`), the same function a replay uses.

========================  ===================================================================
``study``                 the study's definition (written once, first); ``format`` is the
                          log's format version and ``study_id`` the study's unique id
``strategy``              a checkpoint of the strategy's state (now and then, not every event)
``asked``                 trials the strategy proposed (``asked``: how many were asked for;
                          ``None`` for a retry byohpo made itself)
``adopted``               a trial whose job someone else created (a SageMaker tuning job's
                          training job, say): recorded with its job, never launched by byohpo
``submitted``             a trial's job was created (or adopted)
``status``                a status change seen by a poll
``result``                the job ended: status, metrics, failure reason, times, billing
``duplicate``             a trial answered from an earlier trial with the same hyperparameters
``checkpoint``            a parent's checkpoint was copied to where the trial's job starts
``launch_limit``          SageMaker had no capacity; how many jobs run at once for now
``told``                  trials whose results the strategy has seen, in the order it saw them
``finished``              the study ended, and why
``interrupted``           the run was interrupted, and what became of the jobs in flight
``curve``                 new points of a running job's learning curve
``early_stop``            a stopping rule stopped a trial's job: which rule, where and why
``early_stopping_blind``  the first jobs printed no intermediate value: none can be judged
``tuning_job``            a ``sagemaker:`` strategy's tuning job, recorded before it is created
``warm_start``            earlier trials told to the strategy before its first ask: per source,
                          how many were used and why others were left out, and the trials
========================  ===================================================================

Format 1 logs (byohpo before study ids and checkpoints) are read as they are: their
``asked`` and ``told`` events carry the strategy's snapshot, which is taken as a
checkpoint. A log of a newer format is refused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from byohpo.errors import DamagedLogError, NewerLogError
from byohpo.study._event_types import (
    KINDS,
    CheckpointCopied,
    CurveRead,
    DuplicateAnswered,
    EarlyStopped,
    EarlyStoppingBlind,
    Event,
    JobSubmitted,
    LaunchLimited,
    ResultRecorded,
    StatusSeen,
    StrategyCheckpoint,
    StudyDefined,
    StudyFinished,
    StudyInterrupted,
    TrialAdopted,
    TrialsAsked,
    TrialSpec,
    TrialsTold,
    TuningJobCreated,
    WarmStarted,
)

FORMAT_VERSION = 2
"""The format this byohpo writes; it reads this one and every older one."""


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


__all__ = [
    "FORMAT_VERSION",
    "KINDS",
    "CheckpointCopied",
    "CurveRead",
    "DuplicateAnswered",
    "EarlyStopped",
    "EarlyStoppingBlind",
    "Event",
    "JobSubmitted",
    "LaunchLimited",
    "ResultRecorded",
    "StatusSeen",
    "StrategyCheckpoint",
    "StudyDefined",
    "StudyFinished",
    "StudyInterrupted",
    "TrialAdopted",
    "TrialSpec",
    "TrialsAsked",
    "TrialsTold",
    "TuningJobCreated",
    "WarmStarted",
    "as_event",
    "decode",
    "dumps",
    "encode",
    "loads",
]

# -- encoding ----------------------------------------------------------------------------
_SPEC_DEFAULTS = {"generation": 0, "instance_count": 1}


def _spec_json(spec: TrialSpec) -> dict[str, Any]:
    """A trial spec's JSON: fields at their default (None, 0 generation, 1 instance) left out."""
    data: dict[str, Any] = {
        "trial_id": spec.trial_id,
        "config": dict(spec.config),
        "hyperparameters": dict(spec.hyperparameters),
    }
    for f in fields(spec)[3:]:
        value = getattr(spec, f.name)
        if value is not None and value != _SPEC_DEFAULTS.get(f.name) and value != {}:
            data[f.name] = dict(value) if isinstance(value, Mapping) else value
    return data


def encode(event: Event) -> dict[str, Any]:
    """The JSON object of an event (the inverse of :func:`decode`)."""
    if isinstance(event, StudyDefined):
        return {**dict(event.definition), "event": "study", "time": event.time}
    data: dict[str, Any] = {"event": event.KIND}
    for f in fields(event):
        value = getattr(event, f.name)
        if isinstance(event, TrialsAsked) and f.name == "trials":
            value = [_spec_json(s) for s in event.trials]
        elif isinstance(event, TrialAdopted) and f.name == "trial":
            value = _spec_json(event.trial)
        elif f.name == "snapshot" and value is None and not isinstance(event, StrategyCheckpoint):
            continue  # format 1 only
        elif isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        elif isinstance(value, Mapping):
            value = dict(value)
        data[f.name] = value
    return data


def dumps(event: Event) -> str:
    """One log line (without its newline). Keeps mappings' order (a search space's order)."""
    return json.dumps(encode(event), separators=(",", ":"), allow_nan=False)


# -- decoding ----------------------------------------------------------------------------
def _spec(data: Mapping[str, Any]) -> TrialSpec:
    return TrialSpec(
        trial_id=int(data["trial_id"]),
        config=dict(data["config"]),
        hyperparameters={str(k): str(v) for k, v in dict(data["hyperparameters"]).items()},
        generation=int(data.get("generation") or 0),
        job_name=_text(data.get("job_name")),
        parent_id=_optional_int(data.get("parent_id")),
        duplicate_of=_optional_int(data.get("duplicate_of")),
        retry_of=_optional_int(data.get("retry_of")),
        instance_type=_text(data.get("instance_type")),
        instance_count=int(data.get("instance_count") or 1),
        extra=dict(data.get("extra") or {}),
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _metrics(value: Any) -> dict[str, float]:
    metrics = {str(k): float(v) for k, v in dict(value or {}).items()}
    return {k: v for k, v in metrics.items() if math.isfinite(v)}


def _decode(kind: str, d: Mapping[str, Any]) -> Event | None:
    time = _number(d.get("time"))
    if kind == "study":
        definition = {k: v for k, v in d.items() if k not in ("event", "time")}
        version = int(definition.get("format", 1))
        if version > FORMAT_VERSION:
            raise NewerLogError(
                f"this study's log has format {version}, written by a newer byohpo; this "
                f"byohpo reads formats up to {FORMAT_VERSION}. Upgrade byohpo "
                "(pip install --upgrade byohpo) to read or resume it."
            )
        return StudyDefined(definition, time=time)
    if kind == "strategy":
        return StrategyCheckpoint(dict(d["snapshot"]), time=time)
    if kind == "asked":
        trials = tuple(_spec(s) for s in d["trials"])
        if "asked" in d:
            asked = _optional_int(d["asked"])
        else:  # format 1: a retry's trials were planned by byohpo, the others asked for
            asked = None if trials and all(t.retry_of is not None for t in trials) else len(trials)
        snapshot = d.get("snapshot")
        return TrialsAsked(
            trials, asked, dict(snapshot) if snapshot is not None else None, time=time
        )
    if kind == "adopted":
        return TrialAdopted(_spec(d["trial"]), str(d["created_by"]), time=time)
    if kind == "submitted":
        return JobSubmitted(int(d["trial_id"]), _text(d.get("job_name")), time=time)
    if kind == "status":
        return StatusSeen(
            int(d["trial_id"]),
            str(d["status"]),
            _text(d.get("secondary_status")),
            _text(d.get("start_time")),
            time=time,
        )
    if kind in ("result", "duplicate"):
        cls = ResultRecorded if kind == "result" else DuplicateAnswered
        return cls(
            int(d["trial_id"]),
            str(d["status"]),
            _metrics(d.get("metrics")),
            _text(d.get("failure_reason")),
            _text(d.get("start_time")),
            _text(d.get("end_time")),
            _number(d.get("billable_seconds")),
            time=time,
        )
    if kind == "checkpoint":
        return CheckpointCopied(
            int(d["trial_id"]),
            _optional_int(d.get("parent_id")),
            _text(d.get("source_job")),
            _text(d.get("source_uri")),
            _text(d.get("target_uri")),
            _optional_int(d.get("objects")),
            time=time,
        )
    if kind == "launch_limit":
        return LaunchLimited(int(d["limit"]), str(d.get("reason") or ""), time=time)
    if kind == "told":
        snapshot = d.get("snapshot")
        return TrialsTold(
            tuple(int(t) for t in d["trial_ids"]),
            dict(snapshot) if snapshot is not None else None,
            time=time,
        )
    if kind == "finished":
        return StudyFinished(str(d.get("reason") or ""), time=time)
    if kind == "interrupted":
        return StudyInterrupted(
            str(d.get("reason") or ""),
            str(d.get("jobs") or "kept"),
            int(d.get("in_flight") or 0),
            tuple(str(n) for n in d.get("job_names") or ()),
            time=time,
        )
    if kind == "curve":
        points = tuple((int(p), float(s), float(v)) for p, s, v in d["points"])
        return CurveRead(int(d["trial_id"]), str(d["metric"]), points, time=time)
    if kind == "early_stop":
        return EarlyStopped(
            int(d["trial_id"]),
            _text(d.get("job_name")),
            str(d["rule"]),
            str(d["metric"]),
            int(d["point"]),
            float(d["value"]),
            _number(d.get("seconds")),
            str(d.get("reason") or ""),
            time=time,
        )
    if kind == "tuning_job":
        return TuningJobCreated(str(d["name"]), str(d.get("strategy") or ""), time=time)
    if kind == "warm_start":
        return WarmStarted(
            tuple(dict(source) for source in d["sources"]),
            tuple((dict(config), _metrics(metrics)) for config, metrics in d.get("trials") or ()),
            int(d.get("used") or 0),
            time=time,
        )
    if kind == "early_stopping_blind":
        return EarlyStoppingBlind(str(d["message"]), time=time)
    return None  # a kind this byohpo does not know: skipped


def decode(data: Any, where: str = "the log") -> Event | None:
    """The event of a JSON object; None for a kind this byohpo does not know (skipped).

    A malformed event raises :class:`DamagedLogError` naming ``where``; a study written
    by a newer byohpo raises :class:`NewerLogError`.
    """
    if not isinstance(data, dict | Mapping) or not isinstance(data.get("event"), str):
        raise DamagedLogError(f"{where}: not an event (a JSON object with an 'event' key)")
    try:
        return _decode(data["event"], data)
    except NewerLogError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise DamagedLogError(
            f"{where}: a {data['event']!r} event that cannot be read ({detail})"
        ) from None


def loads(line: str, where: str = "the log") -> Event | None:
    """The event of one log line (see :func:`decode`)."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        raise DamagedLogError(f"{where}: not JSON") from None
    return decode(data, where)


def as_event(event: Event | Mapping[str, Any]) -> Event:
    """An event given as an :class:`Event` or as its JSON object (checked)."""
    if isinstance(event, Event):
        return event
    decoded = decode(event, "an event to record")
    if decoded is None:
        raise DamagedLogError(
            f"an event to record has an unknown kind {event.get('event')!r}; "
            f"known kinds: {', '.join(sorted(KINDS))}"
        )
    return decoded
