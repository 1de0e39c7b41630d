"""The outbox worker's timer for housekeeping jobs such as sealing the ledger."""

from datetime import timedelta

from everypenny.service_layer.outbox import OutboxWorker, PeriodicJob


def test_a_job_runs_at_once_then_waits_for_its_interval():
    runs = []
    worker = OutboxWorker(lambda: None, {}, periodic=[PeriodicJob("seal", timedelta(hours=1), lambda: runs.append(1))])

    worker.run_due_jobs()
    worker.run_due_jobs()

    assert runs == [1]


def test_a_failing_job_does_not_stop_the_others():
    runs = []

    def broken():
        raise RuntimeError("database away")

    worker = OutboxWorker(lambda: None, {}, periodic=[
        PeriodicJob("broken", timedelta(0), broken), PeriodicJob("seal", timedelta(0), lambda: runs.append(1))])

    worker.run_due_jobs()
    worker.run_due_jobs()

    assert runs == [1, 1]
