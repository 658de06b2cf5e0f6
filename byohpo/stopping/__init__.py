"""Stopping rules: stop hopeless training jobs early, whatever strategy proposed them.

``Tuner(..., early_stopping="median" | "asha" | "hyperband" | rule)``, or in a
study file ``early_stopping = "asha"`` in ``[study]`` with the rule's options
in an ``[early_stopping]`` table. A rule sees one :class:`CurvePoint` of a
running trial at a time and answers continue or stop (see
:mod:`byohpo.stopping._base` for a rule of your own).
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from typing import Any

from byohpo.errors import UserError
from byohpo.stopping._asha import ASHARule, HyperbandRule
from byohpo.stopping._base import CurvePoint, Decision, StoppingRule, as_decision
from byohpo.stopping._median import MedianRule
from byohpo.stopping._promotion import Promotion

__all__ = [
    "RULES",
    "ASHARule",
    "CurvePoint",
    "Decision",
    "HyperbandRule",
    "MedianRule",
    "Promotion",
    "StoppingRule",
    "as_decision",
    "make_stopping_rule",
    "rule_name",
]

RULES: dict[str, type[MedianRule] | type[ASHARule] | type[HyperbandRule]] = {
    "median": MedianRule,
    "asha": ASHARule,
    "hyperband": HyperbandRule,
}
"""The built-in rules by the name a study uses for them."""

STUDY_OPTIONS = ("metric",)
"""Options of the ``[early_stopping]`` table the study takes itself, not the rule."""


def make_stopping_rule(spec: object, options: Mapping[str, Any] | None = None) -> StoppingRule:
    """The rule for what a user passes as ``early_stopping=``: a name with its options, or an
    object with ``decide(point)``. Raises :class:`~byohpo.errors.UserError` for an unknown
    name (suggesting the nearest), an option the rule does not take, or a bad value."""
    options = dict(options or {})
    if isinstance(spec, str):
        cls = RULES.get(spec.strip().lower())
        if cls is None:
            near = difflib.get_close_matches(spec.lower(), RULES, n=1)
            hint = f"Did you mean {near[0]!r}? " if near else ""
            raise UserError(
                f"early_stopping is one of {', '.join(repr(n) for n in RULES)} or an object "
                "with decide(point)",
                repr(spec),
                f"{hint}Or leave early_stopping unset to run every job to the end.",
            )
        accepted = [
            p for p in inspect.signature(cls).parameters if p not in ("self", "args", "kwargs")
        ]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise UserError(
                f"the {spec!r} rule takes the options {accepted} (and the study's 'metric')",
                f"{unknown}",
                "Remove or rename them in [early_stopping] (or early_stopping_options).",
            )
        return cls(**options)
    if options:
        raise UserError(
            "early-stopping options apply to a rule given by name",
            f"options {sorted(options)} with a {type(spec).__name__} object",
            "Configure the object itself, or pass the rule's name with the options.",
        )
    if callable(getattr(spec, "decide", None)):
        return spec  # type: ignore[return-value]  # checked: it has decide()
    raise UserError(
        "early_stopping is a rule's name or an object with a decide(point) method",
        f"{spec!r} of type {type(spec).__name__}",
        f"Use one of {', '.join(repr(n) for n in RULES)}, or give your object decide().",
    )


def rule_name(rule: object) -> str:
    """The name a study records for a rule: a built-in's name, or the user's class name."""
    name = getattr(rule, "name", None)
    return name if isinstance(name, str) and name in RULES else type(rule).__name__
