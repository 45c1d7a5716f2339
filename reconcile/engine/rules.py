"""The knobs of a reconciliation run, frozen, so a result can always say how it was made."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from reconcile.config import Policy
from reconcile.errors import ConfigError

if TYPE_CHECKING:
    from reconcile.config import Config

#: The [policy] defaults (DESIGN §4), declared once, in the config.
_DEFAULT = Policy()


@dataclass(frozen=True)
class Rules:
    """Everything §6 lets a user choose, plus the period and the day the run is "as of"."""

    period_start: dt.date
    period_end: dt.date
    as_of: dt.date
    timezone: str = "UTC"
    multiple_audiences: Literal["max", "sum"] = _DEFAULT.multiple_audiences
    prorate: bool = _DEFAULT.prorate
    count_unlogged_completions: bool = _DEFAULT.count_unlogged_completions
    duplicate_window_days: int = _DEFAULT.duplicate_window_days
    completion_match_days: int = _DEFAULT.completion_match_days
    max_activity_minutes: int = _DEFAULT.max_activity_minutes

    def __post_init__(self) -> None:
        if self.period_end < self.period_start:
            raise ConfigError(
                f"period end {self.period_end} is before period start {self.period_start}; "
                "swap them"
            )
        if self.multiple_audiences not in ("max", "sum"):
            raise ConfigError(
                f'multiple_audiences is "{self.multiple_audiences}"; use "max" or "sum"'
            )
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f'timezone "{self.timezone}" is not known; use an IANA name like "Europe/London"'
            ) from None

    @property
    def period_days(self) -> int:
        """Days in the period, both ends included."""
        return (self.period_end - self.period_start).days + 1

    @classmethod
    def from_config(cls, config: Config, as_of: dt.date | None = None) -> Rules:
        """Rules from a loaded config; ``as_of`` beats ``[period] as_of`` beats today (local)."""
        tz = config.organisation.timezone
        chosen = as_of or config.period.as_of or dt.datetime.now(zoneinfo.ZoneInfo(tz)).date()
        policy = config.policy
        return cls(
            period_start=config.period.start,
            period_end=config.period.end,
            as_of=chosen,
            timezone=tz,
            multiple_audiences=policy.multiple_audiences,
            prorate=policy.prorate,
            count_unlogged_completions=policy.count_unlogged_completions,
            duplicate_window_days=policy.duplicate_window_days,
            completion_match_days=policy.completion_match_days,
            max_activity_minutes=policy.max_activity_minutes,
        )
