"""Broadcast markers in the database, and the donations either side of them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, case, func, insert, select

from everypenny.adapters.db.schema import appeals, broadcast_markers, donations
from everypenny.domain.appeal import Channel
from everypenny.domain.broadcast import BroadcastMarker, Window

TEXT_CHANNELS = (Channel.CARRIER_SMS.value, Channel.TEXT_TO_LINK.value)


class SqlBroadcastMarkers:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, appeal_slug: str, marker: BroadcastMarker) -> None:
        appeal_id = select(appeals.c.id).where(appeals.c.slug == appeal_slug).scalar_subquery()
        self.connection.execute(insert(broadcast_markers).values(appeal_id=appeal_id, label=marker.label,
                                                                 at=marker.at))

    def of(self, appeal_slug: str) -> list[BroadcastMarker]:
        rows = self.connection.execute(
            select(broadcast_markers.c.label, broadcast_markers.c.at)
            .join(appeals, appeals.c.id == broadcast_markers.c.appeal_id).where(appeals.c.slug == appeal_slug)
            .order_by(broadcast_markers.c.at, broadcast_markers.c.id))
        return [BroadcastMarker(row.label, row.at) for row in rows]

    def window(self, appeal_slug: str, start: datetime, end: datetime) -> Window:
        texts = func.coalesce(func.sum(case((donations.c.channel.in_(TEXT_CHANNELS), 1), else_=0)), 0)
        row = self.connection.execute(
            select(texts, func.coalesce(func.sum(donations.c.amount_pence), 0))
            .join(appeals, appeals.c.id == donations.c.appeal_id)
            .where(appeals.c.slug == appeal_slug, donations.c.created_at >= start, donations.c.created_at < end)
        ).one()
        return Window(int(row[0]), int(row[1]))
