"""/readyz tells a load balancer whether this node can store callbacks and keep up with them; /healthz stays
the liveness check (the process answers)."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from everypenny import bootstrap
from everypenny.adapters.db.engine import make_engine
from everypenny.adapters.db.schema import outbox_tasks
from everypenny.entrypoints.web.app import create_app


def queue_task_due_since(platform, moment: datetime) -> None:
    with platform.uow() as uow:
        uow.outbox.enqueue("opt-out", {"phone": "+447700900123"})
        uow.commit()
    with platform.engine.begin() as connection:
        connection.execute(update(outbox_tasks).values(available_at=moment, created_at=moment))


def test_a_node_whose_database_answers_and_whose_workers_keep_up_is_ready(client):
    assert client.get("/readyz").json() == {"status": "ready", "reason": ""}
    assert client.get("/healthz").json() == {"status": "ok"}


def test_a_node_is_not_ready_once_the_outbox_lags_past_the_threshold(settings):
    engine = make_engine(settings.database_url)
    platform = bootstrap.build(settings.model_copy(update={"ready_max_outbox_lag_s": 60.0}), engine)
    with TestClient(create_app(platform)) as client:
        queue_task_due_since(platform, datetime.now(UTC) - timedelta(seconds=30))
        assert client.get("/readyz").status_code == 200  # 30 s behind is within the minute allowed

        queue_task_due_since(platform, datetime.now(UTC) - timedelta(minutes=5))
        response = client.get("/readyz")

    engine.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert "outbox lag 300 s is over 60 s" in response.json()["reason"]


def test_a_task_waiting_out_its_retry_backoff_is_not_lag(client, platform):
    queue_task_due_since(platform, datetime.now(UTC) + timedelta(hours=1))

    assert client.get("/readyz").status_code == 200


def test_a_node_that_cannot_reach_its_database_is_not_ready(settings):
    """A node started before its database went away (no schema check at start, as for a restart)."""
    unreachable = settings.model_copy(update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/none"})
    engine = make_engine(unreachable.database_url)
    platform = bootstrap.build(unreachable, engine, check_schema=False)
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        response = client.get("/readyz")

    engine.dispose()
    assert response.status_code == 503
    assert response.json()["reason"].startswith("database unreachable")
