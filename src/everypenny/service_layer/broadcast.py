"""Broadcast markers: record the moment an appeal goes on air, list them, and read each one's effect."""

from __future__ import annotations

from datetime import datetime

from everypenny.domain.broadcast import EFFECT_WINDOW, BroadcastMarker, MarkerEffect, marker_label
from everypenny.service_layer.appeals import stored_appeal
from everypenny.service_layer.unit_of_work import UnitOfWork


def add_marker(uow: UnitOfWork, slug: str, label: str, at: datetime) -> BroadcastMarker:
    """UnknownAppeal for no such appeal, BadMarker for an empty or overlong label."""
    marker = BroadcastMarker(marker_label(label), at)
    with uow:
        stored_appeal(uow, slug)
        uow.markers.add(slug, marker)
        uow.commit()
    return marker


def markers(uow: UnitOfWork, slug: str) -> list[BroadcastMarker]:
    """Oldest first; UnknownAppeal for no such appeal."""
    with uow:
        stored_appeal(uow, slug)
        return uow.markers.of(slug)


def marker_effects(uow: UnitOfWork, slug: str) -> list[MarkerEffect]:
    """Per marker, the texts and money of the 10 minutes after it against the 10 before, newest first."""
    with uow:
        stored_appeal(uow, slug)
        return [MarkerEffect(marker, uow.markers.window(slug, marker.at - EFFECT_WINDOW, marker.at),
                             uow.markers.window(slug, marker.at, marker.at + EFFECT_WINDOW))
                for marker in reversed(uow.markers.of(slug))]

