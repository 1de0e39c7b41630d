"""Broadcast markers: the desk's "On air now" button and `everypenny marker add` record when an appeal went on
air; the public API lists them, the desk's chart shows them, and the desk compares the texts and money of the
10 minutes after each with the 10 before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from everypenny.service_layer import broadcast
from tests.e2e.desk_helpers import session_csrf

SLUG = "sun-ukraine-fund"
ON_AIR = datetime(2026, 11, 26, 19, 30, tzinfo=UTC)


def test_a_marker_added_on_the_command_line_is_listed_by_the_public_api(cli, client, seed_appeal):
    added = cli("marker", "add", "--appeal", SLUG, "  BBC One   appeal film ")

    assert added.exit_code == 0, added.output
    assert "marked 'BBC One appeal film'" in added.output
    listed = client.get(f"/api/v1/appeals/{SLUG}/markers")
    assert listed.status_code == 200
    assert [marker["label"] for marker in listed.json()] == ["BBC One appeal film"]
    assert set(listed.json()[0]) == {"label", "at"}  # what was broadcast and when: nothing about anyone
    assert cli("marker", "list", "--appeal", SLUG).output.count("BBC One appeal film") == 1


def test_a_marker_needs_a_label_of_one_line_and_a_known_appeal(cli, client, seed_appeal):
    assert cli("marker", "add", "--appeal", SLUG, "   ").exit_code == 2
    too_long = cli("marker", "add", "--appeal", SLUG, "x" * 121)
    assert too_long.exit_code == 2 and "at most 120 characters" in too_long.output
    assert cli("marker", "add", "--appeal", "no-such-appeal", "Film").exit_code == 2
    assert client.get("/api/v1/appeals/no-such-appeal/markers").status_code == 404
    assert client.get(f"/api/v1/appeals/{SLUG}/markers").json() == []


def test_each_marker_compares_the_ten_minutes_after_with_the_ten_before(platform, donations):
    donations.text(500, at=ON_AIR - timedelta(minutes=11))  # too early to count
    donations.text(500, at=ON_AIR - timedelta(minutes=3))
    donations.text(1000, at=ON_AIR + timedelta(minutes=1))
    donations.text(500, at=ON_AIR + timedelta(minutes=9))
    donations.online(2500, at=ON_AIR + timedelta(minutes=2))  # money, not a text
    donations.text(500, at=ON_AIR + timedelta(minutes=10))  # the next window's
    broadcast.add_marker(platform.uow(), SLUG, "BBC One appeal film", ON_AIR)

    [effect] = broadcast.marker_effects(platform.uow(), SLUG)

    assert (effect.before.texts, effect.before.pence) == (1, 500)
    assert (effect.after.texts, effect.after.pence) == (2, 4000)


def test_the_desk_button_marks_the_moment_and_the_dashboard_shows_its_effect(as_role, donations, platform):
    admin = as_role("admin")
    donations.text(500, at=datetime.now(UTC) - timedelta(minutes=1))

    pressed = admin.post(f"/admin/appeals/{SLUG}/markers", data={"label": "Presenter's ask",
                                                                 "csrf_token": session_csrf(admin)},
                         follow_redirects=False)

    assert pressed.status_code == 303
    donations.text(500, at=datetime.now(UTC))  # the chart runs to the latest donation
    dashboard = admin.get(f"/admin/appeals/{SLUG}")
    assert "On air now" in dashboard.text
    assert "Presenter&#39;s ask" in dashboard.text or "Presenter's ask" in dashboard.text
    chart = admin.get(f"/admin/appeals/{SLUG}/activity.svg")
    assert "on air" in chart.text and "Presenter" in chart.text


def test_a_viewer_cannot_mark_the_appeal_on_air(as_role):
    viewer = as_role("viewer")

    pressed = viewer.post(f"/admin/appeals/{SLUG}/markers", data={"csrf_token": session_csrf(viewer)},
                          follow_redirects=False)

    assert pressed.status_code == 403
    assert viewer.get(f"/api/v1/appeals/{SLUG}/markers").json() == []


def test_the_last_marker_is_in_the_metrics_for_the_on_air_alert(client, platform, seed_appeal):
    broadcast.add_marker(platform.uow(), SLUG, "Film", ON_AIR)

    body = client.get("/metrics").text

    [value] = [line.split()[1] for line in body.splitlines()
               if line.startswith("everypenny_broadcast_marker_last_timestamp_seconds ")]
    assert float(value) == ON_AIR.timestamp()
