"""An appeal moves forward only: draft → live → closed (or draft → closed if it never launches).

A closed appeal stays closed: donors were told it ended, so reopening means a new appeal.
"""

from __future__ import annotations

from everypenny.domain.appeal import AppealStatus

ALLOWED_TRANSITIONS: dict[AppealStatus, frozenset[AppealStatus]] = {
    AppealStatus.DRAFT: frozenset({AppealStatus.LIVE, AppealStatus.CLOSED}),
    AppealStatus.LIVE: frozenset({AppealStatus.CLOSED}),
    AppealStatus.CLOSED: frozenset(),
}


class TransitionRefused(ValueError):
    def __init__(self, slug: str, current: AppealStatus, wanted: AppealStatus) -> None:
        allowed = sorted(status.value for status in ALLOWED_TRANSITIONS[current])
        if current is wanted:
            reason = f"appeal {slug} is already {current.value}"
        elif not allowed:
            reason = f"appeal {slug} is closed and cannot become {wanted.value}: a closed appeal stays closed"
        else:
            reason = (f"appeal {slug} cannot go from {current.value} to {wanted.value}; "
                      f"from {current.value} it can become {' or '.join(allowed)}")
        super().__init__(reason)
        self.current = current
        self.wanted = wanted


def check_transition(slug: str, current: AppealStatus, wanted: AppealStatus) -> None:
    if wanted not in ALLOWED_TRANSITIONS[current]:
        raise TransitionRefused(slug, current, wanted)
