"""Who may reach which desk route: every route under /admin is walked for every kind of caller."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from everypenny.entrypoints.web.app import create_app
from everypenny.service_layer.desk_ports import EXPORT_COLUMNS
from tests.builders import DonationBuilder
from tests.e2e.desk_helpers import PASSWORD, log_in, make_user, quick_passwords, session_csrf

pytestmark = [pytest.mark.usefixtures(quick_passwords.__name__)]

# The specification: every desk route and what it needs. A route missing here fails the walk.
PUBLIC = None
EXPECTED = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): "view",
    ("GET", "/"): "view",
    ("GET", "/appeals/{slug}"): "view",
    ("GET", "/appeals/{slug}/live"): "view",
    ("GET", "/appeals/{slug}/activity.svg"): "view",
    ("GET", "/appeals/{slug}/promotion"): "view",
    ("POST", "/appeals/{slug}/status"): "manage_appeals",
    ("POST", "/appeals/{slug}/markers"): "manage_appeals",
    ("GET", "/donations"): "view",
    ("GET", "/donations/{reference}"): "view",
    ("GET", "/appeals/{slug}/exports/{kind}.csv"): "export",
    ("GET", "/appeals/{slug}/reconciliation"): "export",
    ("POST", "/donations/{reference}/refund"): "manage_money",
    ("POST", "/donations/{reference}/phone-refund"): "manage_money",
    ("POST", "/donations/{reference}/gift-aid-cancel"): "manage_money",
    ("GET", "/appeals/{slug}/settlements/new"): "manage_money",
    ("POST", "/appeals/{slug}/settlements"): "manage_money",
    ("GET", "/appeals/{slug}/gift-aid"): "manage_money",
    ("GET", "/appeals/{slug}/gift-aid/schedule.csv"): "manage_money",
    ("GET", "/appeals/{slug}/gift-aid/schedule-{number}.ods"): "manage_money",
    ("POST", "/appeals/{slug}/gift-aid/claim"): "manage_money",
    ("GET", "/protect"): "manage_money",
    ("POST", "/appeals/{slug}/contradictions/{request_id}"): "manage_money",
    ("POST", "/protect"): "manage_money",
    ("GET", "/users"): "manage_users",
    ("POST", "/users"): "manage_users",
    ("POST", "/users/remove"): "manage_users",
    ("GET", "/tasks"): "manage_appeals",
    ("POST", "/tasks/{task_id}/retry"): "manage_appeals",
    ("POST", "/tasks/{task_id}/dismiss"): "manage_appeals",
}
ROLE_PERMISSIONS = {"admin": {"view", "export", "manage_money", "manage_appeals", "manage_users"},
                    "finance": {"view", "export", "manage_money"}, "viewer": {"view"}}


def desk_routes(app):
    mount = next(route for route in app.routes if isinstance(route, Mount) and route.path == "/admin")
    for route in mount.routes:
        for method in sorted(route.methods - {"HEAD"}):
            yield method, route.path


def concrete(path: str, reference: str) -> list[str]:
    """The route's URLs for the seed appeal: one per export for the export route."""
    kinds = EXPORT_COLUMNS if "{kind}" in path else [None]
    return [("/admin" + path).format(slug="sun-ukraine-fund", reference=reference, kind=kind, task_id=1, number=1,
                                        request_id="no-such-charge")
            for kind in kinds]


@pytest.fixture
def reference(platform, seed_appeal):
    return DonationBuilder(platform).text(500).reference


def test_every_desk_route_is_in_the_access_specification(client):
    assert set(desk_routes(client.app)) == set(EXPECTED)


def test_anonymous_callers_are_sent_to_log_in_or_refused(client, reference):
    for method, path in desk_routes(client.app):
        if EXPECTED[(method, path)] is PUBLIC:
            continue
        for url in concrete(path, reference):
            page = client.request(method, url, follow_redirects=False)
            htmx = client.request(method, url, headers={"HX-Request": "true"}, follow_redirects=False)
            if method == "GET":
                assert page.status_code == 303, url
                assert page.headers["location"].startswith("/admin/login?next=%2Fadmin"), url
            else:
                assert page.status_code == 401, url
            assert htmx.status_code == 401, url
            assert htmx.headers["HX-Redirect"].startswith("/admin/login"), url


@pytest.mark.parametrize("role", ["admin", "finance", "viewer"])
def test_each_role_reaches_exactly_what_its_permissions_allow(platform, reference, role):
    with TestClient(create_app(platform)) as client:
        assert log_in(client, make_user(platform, role)).status_code == 303
        csrf = session_csrf(client)
        for method, path in desk_routes(client.app):
            needed = EXPECTED[(method, path)]
            if needed is PUBLIC or path == "/logout":
                continue
            for url in concrete(path, reference):
                response = client.request(method, url, headers={"X-CSRF-Token": csrf},
                                          data={"status": "nonsense"} if method == "POST" else None,
                                          follow_redirects=False)
                if needed in ROLE_PERMISSIONS[role]:
                    assert response.status_code not in (401, 403), (role, method, url, response.text[:200])
                    assert response.status_code != 404 or "{kind}" not in path, (role, url)  # every export exists
                else:
                    assert response.status_code == 403, (role, method, url)
                    assert "does not allow" in response.text


def test_a_state_change_without_the_sessions_csrf_token_is_refused_and_changes_nothing(platform, seed_appeal):
    with TestClient(create_app(platform)) as client:
        log_in(client, make_user(platform, "admin"))
        response = client.post("/admin/appeals/sun-ukraine-fund/status", data={"status": "closed"})
        forged = client.post("/admin/appeals/sun-ukraine-fund/status", data={"status": "closed", "csrf_token": "x"})

    assert (response.status_code, forged.status_code) == (403, 403)
    assert "CSRF" in response.text
    with platform.uow() as uow:
        assert uow.appeals.get("sun-ukraine-fund").appeal.status.value == "live"


def test_login_needs_the_forms_own_token(platform, seed_appeal, client):
    email = make_user(platform, "viewer")
    response = client.post("/admin/login", data={"email": email, "password": PASSWORD, "csrf_token": "guess"})

    assert response.status_code == 403
    assert "expired" in response.text
    assert "everypenny_desk" not in response.cookies


def test_a_wrong_password_or_unknown_email_gets_the_same_answer(platform, seed_appeal, client):
    email = make_user(platform, "viewer")
    wrong_password = log_in(client, email, "not the password at all")
    unknown = log_in(client, "nobody@desk.example.org")

    assert wrong_password.status_code == unknown.status_code == 401
    assert "do not match a desk user" in wrong_password.text and "do not match a desk user" in unknown.text


def test_the_session_cookie_is_http_only_and_scoped_to_the_desk(platform, seed_appeal, client):
    response = log_in(client, make_user(platform, "viewer"))

    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/admin" in cookie and "SameSite=lax" in cookie
    assert response.headers["location"] == "/admin/"


def test_the_session_cookie_is_secure_when_the_desk_is_served_over_https(platform, seed_appeal):
    with TestClient(create_app(platform), base_url="https://testserver") as client:
        response = log_in(client, make_user(platform, "viewer"))

    assert "Secure" in response.headers["set-cookie"]


def test_logging_out_ends_the_session_in_the_store(platform, seed_appeal, client):
    log_in(client, make_user(platform, "viewer"))
    cookie = client.cookies.get("everypenny_desk")
    client.post("/admin/logout", data={"csrf_token": session_csrf(client)})

    client.cookies.set("everypenny_desk", cookie, path="/admin")
    assert client.get("/admin/", follow_redirects=False).status_code == 303


def test_login_returns_to_the_page_first_asked_for(platform, seed_appeal, client):
    email = make_user(platform, "viewer")
    redirect = client.get("/admin/appeals/sun-ukraine-fund", follow_redirects=False).headers["location"]
    form = client.get(redirect)
    assert 'value="/admin/appeals/sun-ukraine-fund"' in form.text

    token = client.cookies.get("everypenny_desk_login")
    response = client.post("/admin/login", data={"email": email, "password": PASSWORD, "csrf_token": token,
                                                 "next": "/admin/appeals/sun-ukraine-fund"}, follow_redirects=False)
    assert response.headers["location"] == "/admin/appeals/sun-ukraine-fund"


def test_login_never_redirects_off_the_desk(platform, seed_appeal, client):
    email = make_user(platform, "viewer")
    client.get("/admin/login")
    token = client.cookies.get("everypenny_desk_login")
    response = client.post("/admin/login", data={"email": email, "password": PASSWORD, "csrf_token": token,
                                                 "next": "https://evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/admin/"


def test_desk_pages_refuse_to_be_framed_and_are_not_cached(client, seed_appeal):
    response = client.get("/admin/login")

    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_after_five_wrong_passwords_the_login_form_says_when_to_try_again(platform, seed_appeal, client):
    email = make_user(platform, "viewer")
    for _ in range(5):
        assert log_in(client, email, "a wrong passphrase").status_code == 401

    locked = log_in(client, email)

    assert locked.status_code == 429
    assert "Too many failed attempts for this account: try again after" in locked.text


def test_a_client_past_its_login_allowance_is_told_to_wait_whichever_emails_it_tries(platform, seed_appeal, client):
    platform.settings.login_attempts_per_client = 3
    for n in range(3):
        assert log_in(client, f"guess{n}@desk.example.org", "a wrong passphrase").status_code == 401

    refused = log_in(client, make_user(platform, "viewer"))

    assert refused.status_code == 429
    assert "Too many login attempts from your connection" in refused.text
    assert 0 < int(refused.headers["Retry-After"]) <= platform.settings.login_window_s + 1
