"""Broadcast markers: the moments an appeal went on air, and what the ten minutes either side took.

A TV or radio appeal asks for texts when a film or a presenter's ask is on screen; marking those moments lets
the desk read each one's effect (texts and money in the 10 minutes after, against the 10 before), as
broadcasters' own post-campaign reports do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

LABEL_MAX = 120
EFFECT_WINDOW = timedelta(minutes=10)


class BadMarker(ValueError):
    pass


@dataclass(frozen=True)
class BroadcastMarker:
    label: str  # what went on air: "BBC One appeal film"
    at: datetime


def marker_label(label: str) -> str:
    """The label tidied, or BadMarker: one line of 1 to 120 characters."""
    tidy = " ".join(label.split())
    if not tidy:
        raise BadMarker("a marker needs a label saying what went on air, e.g. \"BBC One appeal film\"")
    if len(tidy) > LABEL_MAX:
        raise BadMarker(f"a marker's label is at most {LABEL_MAX} characters; this one has {len(tidy)}")
    return tidy


@dataclass(frozen=True)
class Window:
    texts: int  # donations by text (either text channel) received in the window
    pence: int  # pence those and every other donation in the window promised


@dataclass(frozen=True)
class MarkerEffect:
    marker: BroadcastMarker
    before: Window  # the 10 minutes before the marker
    after: Window  # the 10 minutes from it (so far, when they have not all passed)
