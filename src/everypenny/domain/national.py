"""A national appeal: several media partners raise for several member charities, which split the money by shares.

The Disasters Emergency Committee runs its appeals this way: one appeal broadcast by the BBC, ITV, Channel 4,
Channel 5, Sky and the papers, each with its own call to action, the money shared between its member charities
by an agreed formula (https://www.dec.org.uk/about-us/how-we-work). Shares are in basis points (10,000 = all)
and change only from a date forward: each version is kept, and a gift is split by the version in force on its
date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from everypenny.domain.branding import Branding

BASIS_POINTS = 10_000
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def slug_of(name: str) -> str:
    """"The Sun" → "the-sun": the slug an implicit partner or member takes from its name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@dataclass(frozen=True)
class Partner:
    """A media partner: its call to action names its own keywords, and its page can carry its own look."""

    slug: str
    name: str
    keywords: tuple[str, ...]
    branding: Branding | None = None


@dataclass(frozen=True)
class Member:
    """A member charity, and the restricted fund its share of the appeal is given to."""

    slug: str
    name: str
    charity_number: str
    fund: str


@dataclass(frozen=True)
class ShareVersion:
    """Each member's share in basis points, in force from `starts` until the next version starts."""

    starts: date
    basis_points: dict[str, int] = field(hash=False)

    def describe(self) -> str:
        return "since the appeal began" if self.starts == date.min else f"from {self.starts.isoformat()}"


def member_allocations(versions: tuple[ShareVersion, ...], raised_by_version: list[int]) -> dict[str, int]:
    """Each member's whole pence of the money raised under each version (net of refunds, by the gift's date).

    A member's exact share is the sum over versions of raised × basis points / 10,000. Each member gets the
    whole pence of its exact share, and the pence left over go one each to the largest remainders (Hamilton's
    largest remainder method), ties to the member listed first: so every member is within 1p of its exact
    share and the allocations add up to the total exactly, however many gifts and refunds made it.
    """
    numerators: dict[str, int] = {}
    for version, raised in zip(versions, raised_by_version, strict=True):
        for slug, points in version.basis_points.items():
            numerators[slug] = numerators.get(slug, 0) + raised * points
    whole = {slug: numerator // BASIS_POINTS for slug, numerator in numerators.items()}
    left_over = sum(raised_by_version) - sum(whole.values())
    for slug in sorted(numerators, key=lambda slug: -(numerators[slug] % BASIS_POINTS))[:left_over]:
        whole[slug] += 1
    return whole


class SharesChangeRefused(ValueError):
    """A new definition would rewrite shares already in force, or start new ones in the past."""


def partner_problems(partners: tuple[Partner, ...], shortcode_words: set[str]) -> list[tuple[str, str]]:
    """(key, message) for each rule broken: slugs unique, every keyword belongs to exactly one partner."""
    found: list[tuple[str, str]] = []
    owner: dict[str, str] = {}
    for p, partner in enumerate(partners):
        where = f"partners[{p}]"
        found.extend(_slug_problems(where, partner.slug, [other.slug for other in partners[:p]], "partner"))
        if not partner.keywords:
            found.append((f"{where}.keywords", "lists no keywords: every partner needs its own call to action"))
        for word in partner.keywords:
            if word in owner:
                found.append((f"{where}.keywords", f"{word} already belongs to partner {owner[word]}"))
            elif word not in shortcode_words:
                found.append((f"{where}.keywords", f"{word} is not a keyword on any of this appeal's shortcodes"))
            owner.setdefault(word, partner.slug)
        if partner.branding is not None:
            found.extend((f"{where}.branding.{key}", message) for key, message in partner.branding.problems())
    if partners:
        found.extend(("partners", f"keyword {word} belongs to no partner; list it under one partner's keywords")
                     for word in sorted(shortcode_words - owner.keys()))
    return found


def member_problems(members: tuple[Member, ...], versions: tuple[ShareVersion, ...]) -> list[tuple[str, str]]:
    """(key, message) for each rule broken: slugs unique, every version's shares known and adding to 10,000."""
    found: list[tuple[str, str]] = []
    for m, member in enumerate(members):
        found.extend(_slug_problems(f"members[{m}]", member.slug, [other.slug for other in members[:m]], "member"))
    if members and not versions:
        found.append(("shares", "is missing: an appeal with [[members]] needs a [[shares]] version"))
    if versions and not members:
        found.append(("shares", "gives shares, but the appeal lists no [[members]]"))
        return found
    slugs = {member.slug for member in members}
    for v, version in enumerate(versions):
        where = f"shares[{v}]"
        if v and version.starts <= versions[v - 1].starts:
            found.append((f"{where}.from", f"{version.starts} is not after the previous version's "
                                           f"{versions[v - 1].starts}: versions must be in date order"))
        for slug, points in version.basis_points.items():
            if slug not in slugs:
                found.append((f"{where}.basis_points.{slug}", f"no member has the slug {slug!r}"))
            if points < 0:
                found.append((f"{where}.basis_points.{slug}", f"{points} is negative"))
        if (total := sum(version.basis_points.values())) != BASIS_POINTS:
            found.append((f"{where}.basis_points", f"add up to {total:,}, not {BASIS_POINTS:,} (all of the money)"))
    return found


def _slug_problems(where: str, slug: str, earlier: list[str], what: str) -> list[tuple[str, str]]:
    if not SLUG.match(slug):
        return [(f"{where}.slug", f"{slug!r} must be lower-case words joined by hyphens")]
    if slug in earlier:
        return [(f"{where}.slug", f"another {what} already has the slug {slug!r}")]
    return []


def check_share_history(stored: tuple[ShareVersion, ...], new: tuple[ShareVersion, ...], today: date,
                        source: str) -> None:
    """Shares change from a date forward, never backwards: a version in force stays as it is, and a new
    version starts tomorrow at the earliest, so no gift already made is split differently."""
    problems = [f"the version {version.describe()} is in force (today is {today}) and cannot be changed or removed"
                for version in stored if version.starts <= today and version not in new]
    problems += [f"a new version cannot start on {version.starts}: the earliest is tomorrow, "
                 f"{date.fromordinal(today.toordinal() + 1)}"
                 for version in new if version not in stored and version.starts <= today
                 and version.starts not in {earlier.starts for earlier in stored}]  # a change: said above
    if problems:
        raise SharesChangeRefused(f"{source}: shares: " + "; ".join(problems))
