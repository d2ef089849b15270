"""What an analyst's acknowledgement or snooze means for the next alert about the story (issue 17). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

VERDICTS = ("useful", "noise")
NOISE_REASONS = ("wrong_actor", "background", "denial", "duplicate", "other")


@dataclass(frozen=True)
class Triage:
    state: str  # acked, snoozed
    severity: int  # the highest severity alerted when the analyst acted
    until: datetime | None = None


def hold_reason(triage: Triage | None, severity: int, now: datetime) -> str | None:
    """Why an alert of `severity` about a triaged story is recorded but not sent, or None to send it.

    An update at or below the severity the analyst has seen is held: while a snooze runs, or for good once
    acknowledged. One above it is sent (and reopens the story): a rise is news the analyst has not seen."""
    if triage is None or severity > triage.severity:
        return None
    if triage.state == "acked":
        return "acked"
    if triage.state == "snoozed" and triage.until is not None and now < triage.until:
        return "snoozed"
    return None
