"""Under a spike, app and worker processes die by SIGKILL; afterwards every penny is accounted for.

Runs the deployment as real processes on PostgreSQL (several app processes and outbox workers sharing one
database, claiming work with SKIP LOCKED). PostgreSQL itself is not restarted here: other test runs share
the server; bench/fault_test.py does that.
"""

from everypenny.simulators.fault_drill import run_drill
from everypenny.simulators.spike import SpikePlan


def test_killed_app_and_worker_processes_lose_no_donation_and_count_none_twice(postgres_database_url):
    plan = SpikePlan(peak_per_s=40, ramp_s=1, hold_s=4, refusing_share=0.1, duplicate_rate=0.1, jitter_s=0.05,
                     couriers=4, drain_timeout_s=150)

    result = run_drill(postgres_database_url, plan, kills=3, apps=2, workers=2)

    assert len(result.faults) == 3
    assert result.problems == []
    assert result.figures.texts_acked == plan.total_texts
    assert result.figures.donations_posted > 0
    assert result.figures.raised_pence == result.figures.simulator_charged_pence
