"""How the simulated aggregator misbehaves on request: the faults a real one shows (issue 21), each as a share
of charges in percent, decided once per charge by the simulator's seeded random generator.

Written apart from our adapter, like the simulator itself: it fails the way the public clients' callers see a
Fonix fail (lindar-open/fonix-client's FonixBadRequestException for a 400 answer, JakubOboza/fonix
client/errors.go's `{"failure": {"parameter", "failcode"}}`), never the way our adapter expects.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields

# A charge report held back this long beyond normal: well past a worker's retry of the charge.
LATE_BY_S = 20.0


class AnswerLost(Exception):
    """The charge was made, but the connection closed before the answer was sent."""


@dataclass(frozen=True)
class Faults:
    """Each a share of charges, in percent (0-100)."""

    lost_answers: int = 0  # charged, then the connection closes before the answer
    refuse_repeats: int = 0  # a REQUESTID asked again answers 400 IS_DUPLICATE (the charge stands)
    early_reports: int = 0  # the charge report reaches the app before the HTTP answer
    late_reports: int = 0  # the charge report comes LATE_BY_S later than normal
    ttl_expiry: int = 0  # the network never takes the charge and no report ever comes (its time to live passes)

    def __post_init__(self) -> None:
        for one in fields(self):
            if not 0 <= getattr(self, one.name) <= 100:
                raise ValueError(f"{fault_name(one.name)} must be a share from 0 to 100 (percent)")

    def roll(self, draw: random.Random) -> ChargeFaults:
        """Which faults strike one charge (ttl-expiry and a report's timing exclude each other)."""
        expired = draw.random() * 100 < self.ttl_expiry
        early = not expired and draw.random() * 100 < self.early_reports
        late = not expired and not early and draw.random() * 100 < self.late_reports
        return ChargeFaults(lost_answer=draw.random() * 100 < self.lost_answers, expired=expired, early=early,
                            late=late)

    def refuse_repeat(self, draw: random.Random) -> bool:
        return draw.random() * 100 < self.refuse_repeats

    def __str__(self) -> str:
        return ",".join(f"{fault_name(one.name)}={getattr(self, one.name)}" for one in fields(self)
                        if getattr(self, one.name)) or "none"


@dataclass(frozen=True)
class ChargeFaults:
    lost_answer: bool = False
    expired: bool = False
    early: bool = False
    late: bool = False

    def names(self) -> list[str]:
        return [name for name, struck in (("lost-answers", self.lost_answer), ("ttl-expiry", self.expired),
                                          ("early-reports", self.early), ("late-reports", self.late)) if struck]


def fault_name(field_name: str) -> str:
    return field_name.replace("_", "-")


FAULT_NAMES = tuple(fault_name(one.name) for one in fields(Faults))


def parse_faults(text: str) -> Faults:
    """`lost-answers=5,refuse-repeats=100,...`: each fault with its share in percent; a name alone is 100.
    Raises ValueError saying what is wrong."""
    shares: dict[str, int] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, share = (piece.strip() for piece in item.partition("="))
        if name not in FAULT_NAMES:
            raise ValueError(f"unknown fault {name!r}: choose from {', '.join(FAULT_NAMES)}")
        if share and not share.isdigit():
            raise ValueError(f"{name}={share}: give the share as a whole percent, e.g. {name}=5")
        if name in shares:
            raise ValueError(f"{name} is given twice")
        shares[name] = int(share) if share else 100
    return Faults(**{name.replace("-", "_"): share for name, share in shares.items()})
