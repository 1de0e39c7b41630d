"""Running a per-appeal job over every appeal, as the worker's periodic jobs do."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from everypenny.domain.appeal import Appeal
from everypenny.service_layer.unit_of_work import UnitOfWorkFactory

log = structlog.get_logger(__name__)


def for_each_appeal(uow_factory: UnitOfWorkFactory, job: Callable[[str], int],
                    applies: Callable[[Appeal], bool] = lambda appeal: True) -> dict[str, int]:
    """`job(slug)` for each appeal it applies to; one appeal's failure is logged and never stops the rest."""
    with uow_factory() as uow:
        slugs = [stored.appeal.slug for stored in uow.appeals.list() if applies(stored.appeal)]
    results: dict[str, int] = {}
    for slug in slugs:
        try:
            results[slug] = job(slug)
        except Exception as error:  # the next run tries again
            log.warning("appeal job failed", appeal=slug, job=getattr(job, "__name__", repr(job)), error=repr(error))
    return results
