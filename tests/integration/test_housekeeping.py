"""Per-appeal jobs in the worker: one appeal's failure never stops the others."""

from everypenny.service_layer.housekeeping import for_each_appeal


def test_one_appeals_failure_does_not_stop_the_others(platform, seed_appeal, load_seed_variant):
    load_seed_variant(slug="another-appeal")
    ran = []

    def job(slug):
        if slug == "another-appeal":
            raise RuntimeError("broken appeal")
        ran.append(slug)
        return 1

    assert for_each_appeal(platform.uow, job) == {"sun-ukraine-fund": 1}
    assert ran == ["sun-ukraine-fund"]
