"""The yardstick for the spike benchmark: how many single-row INSERT+COMMITs per second Python gets from
this database at a given concurrency. A donation platform that acks texts at half this rate or better is
spending its time on the database, not on itself.

    python bench/insert_baseline.py --url postgresql+psycopg://postgres@localhost/postgres --concurrency 8
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

TABLE = "bench_insert_baseline"


def _insert_for(url: str, seconds: float, start_at: float, results) -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        while time.time() < start_at:
            time.sleep(0.001)
        done = 0
        deadline = start_at + seconds
        while time.time() < deadline:
            connection.execute(text(f"INSERT INTO {TABLE} (id, payload) VALUES (:id, :payload)"),
                               {"id": uuid.uuid4().hex, "payload": "SUN5"})
            connection.commit()
            done += 1
    engine.dispose()
    results.put(done)


def insert_commit_rate(url: str, concurrency: int, seconds: float = 5.0) -> float:
    """Rows per second over `seconds`, `concurrency` processes each inserting and committing one row at a time."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
        connection.execute(text(f"CREATE TABLE {TABLE} (id VARCHAR(32) PRIMARY KEY, payload VARCHAR(40))"))
    if make_url(url).get_backend_name() == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    engine.dispose()
    results = multiprocessing.Queue()
    start_at = time.time() + 1.0
    workers = [multiprocessing.Process(target=_insert_for, args=(url, seconds, start_at, results))
               for _ in range(concurrency)]
    for worker in workers:
        worker.start()
    total = sum(results.get() for _ in workers)
    for worker in workers:
        worker.join()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
    engine.dispose()
    return total / seconds


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@localhost:5432/postgres")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    arguments = parser.parse_args()
    rate = insert_commit_rate(arguments.url, arguments.concurrency, arguments.seconds)
    print(f"insert_commit_per_s={rate:.0f} concurrency={arguments.concurrency} "
          f"backend={make_url(arguments.url).get_backend_name()}")
