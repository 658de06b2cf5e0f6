"""What training jobs cost: a shipped table of on-demand prices, overridable.

Cost is billable seconds (what SageMaker bills: managed spot reports its real,
discounted time) times the instance-hour price times the instance count.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

DEFAULT_REGION = "us-east-1"


@lru_cache(maxsize=1)
def _table() -> dict[str, object]:
    text = resources.files("byohpo").joinpath("data/prices.json").read_text()
    table: dict[str, object] = json.loads(text)
    return table


def price_per_hour(
    instance_type: str,
    region: str | None = None,
    prices: Mapping[str, float] | None = None,
) -> float | None:
    """Dollars per instance-hour, or None when the instance type is not in the table.

    ``prices`` (instance type -> dollars per hour) takes precedence over the table.
    """
    if prices and instance_type in prices:
        return float(prices[instance_type])
    table = _table()
    region = region or DEFAULT_REGION
    regional = table.get(region)
    if isinstance(regional, dict) and instance_type in regional:
        return float(regional[instance_type])
    base = table[DEFAULT_REGION]
    assert isinstance(base, dict)
    if instance_type not in base:
        return None
    multipliers = table["region_multipliers"]
    assert isinstance(multipliers, dict)
    return float(base[instance_type]) * float(multipliers.get(region, 1.0))


def job_cost(
    billable_seconds: float | None,
    instance_type: str | None,
    instance_count: int = 1,
    region: str | None = None,
    prices: Mapping[str, float] | None = None,
) -> float | None:
    """Dollars billed for one job, or None when its price or billable time is unknown."""
    if billable_seconds is None or instance_type is None:
        return None
    price = price_per_hour(instance_type, region, prices)
    if price is None:
        return None
    return float(billable_seconds) / 3600.0 * price * max(instance_count, 1)
