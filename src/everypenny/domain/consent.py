"""How a donor agrees to hear from the charity by text, and the words that tell them.

PECR reg. 22 needs consent for marketing texts; the charity soft opt-in (Data (Use and Access) Act 2025, s.114,
amending reg. 22) lets a charity text its supporters without a prior yes only if a simple way to refuse was
offered when their number was collected and in every later message. An appeal states which model it uses:
`soft-opt-in` (texting the keyword opts in, adding NOINFO refuses) or `opt-in` (only a reply YES opts in).
Every promotion and the first reply carry the model's words, and each consent record keeps the version of the
words shown (docs/appeal-rules.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class ConsentModel(StrEnum):
    SOFT_OPT_IN = "soft-opt-in"
    OPT_IN = "opt-in"


# What a donor replies to opt in under the opt-in model (START also works, under either model).
OPT_IN_REPLY = "YES"


@dataclass(frozen=True)
class ConsentWording:
    """The exact words shown to a donor about marketing, identified by a version derived from them: a
    consent record names the version, and the words are stored once (not copied into every record)."""

    model: ConsentModel
    text: str

    @property
    def version(self) -> str:
        return hashlib.sha256(f"{self.model.value}\n{self.text}".encode()).hexdigest()[:16]


def default_wording(model: ConsentModel, charity: str) -> str:
    if model is ConsentModel.SOFT_OPT_IN:
        return (f"{charity} may text you about its work: add NOINFO to your text if you'd rather it didn't. "
                "Text STOP at any time to opt out.")
    return f"Reply {OPT_IN_REPLY} if {charity} may text you about its work. Text STOP at any time to opt out."


def email_opt_in(charity: str) -> ConsentWording:
    """The donation page's box a donor ticks to hear from the charity by email (PECR reg. 22: opt-in)."""
    return ConsentWording(ConsentModel.OPT_IN,
                          f"Yes, {charity} may email me about its work and appeals. You can unsubscribe at any time.")


def wording_problems(model: ConsentModel, text: str) -> list[str]:
    """The words must offer the model's way to say yes or no, and STOP (DUAA 2025 s.114; PECR reg. 22)."""
    needs = ["NOINFO", "STOP"] if model is ConsentModel.SOFT_OPT_IN else [OPT_IN_REPLY, "STOP"]
    return [f"must tell the donor how to use {word} under the {model.value} model"
            for word in needs if word not in text]
