"""What a live appeal must have that a draft may still lack: the law's and the regulators' minimum.

A draft loads with gaps so a charity can build it up; `everypenny appeal check FILE` lists every gap, and an
appeal cannot be loaded as live, or go live on the desk, while any remains. docs/appeal-rules.md cites each rule.
Caps over what the Payment Services Regulations 2017 allow on a phone bill are refused for every appeal, draft
or live (domain/appeal.py), so `appeal check` lists them among the file's errors.
"""

from __future__ import annotations

import re

from everypenny.domain.appeal import Appeal, AppealRuleBroken

# A UK number as donors dial it: 0 and 9-10 more digits, or +44 and 9-10 (Ofcom's National Telephone Numbering Plan).
UK_PHONE = re.compile(r"(0|\+44)[1-9][0-9]{8,9}")


class NotReadyToGoLive(ValueError):
    """The appeal would take money without something the law or the regulators require."""

    def __init__(self, source: str, problems: list[AppealRuleBroken]) -> None:
        super().__init__("\n".join(f"{source}: {problem.key}: {problem.message}" for problem in problems))
        self.problems = problems


def live_appeal_problems(appeal: Appeal) -> list[AppealRuleBroken]:
    """Every requirement of a live appeal this definition lacks or breaks, so all are fixed at once."""
    found: list[AppealRuleBroken] = []
    if not appeal.privacy_url:
        found.append(AppealRuleBroken(
            "privacy_url", "a live appeal needs the charity's privacy notice, linked where donors give their "
                           "details (UK GDPR art. 13; Code of Fundraising Practice 10.1)"))
    if not appeal.terms_url.startswith("https://"):
        found.append(AppealRuleBroken("terms_url", "a live appeal's terms must be at an https:// address"))
    if not UK_PHONE.fullmatch(re.sub(r"[\s()-]", "", appeal.helpline)):
        found.append(AppealRuleBroken(
            "helpline", f"{appeal.helpline!r} is not a UK phone number; donors must be able to call it (Ofcom's "
                        "premium-rate rules: customer care)"))
    if appeal.consent is None:
        found.append(AppealRuleBroken(
            "consent", 'state the marketing consent model: [consent] model = "soft-opt-in" or "opt-in" '
                       "(PECR reg. 22 as amended by the Data (Use and Access) Act 2025 s.114)"))
    return found



def check_ready(appeal: Appeal, source: str) -> None:
    """NotReadyToGoLive naming every gap, when the appeal is live and has any."""
    if appeal.takes_money and (problems := live_appeal_problems(appeal)):
        raise NotReadyToGoLive(source, problems)
