"""CPU time spent by each role of a deployment on this machine, read from each process's own accounting.

What a text gift costs is CPU, and the operator sizes machines by it: app processes, outbox workers and
PostgreSQL each read from /proc/<pid>/stat (utime + stime, proc(5)), the load generator from its own
getrusage. PostgreSQL starts a backend per connection and reaps it when it closes; a reaped backend's time
is in the postmaster's cutime + cstime, so the server's total is every postgres process's own time plus its
postmaster's children's: nothing is lost when a connection closes between two readings.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessTimes:
    own_s: float  # utime + stime
    children_s: float  # cutime + cstime: children it has reaped
    command: str
    parent: int


def process_times(pid: int) -> ProcessTimes | None:
    """None for a process that has gone (or, off Linux, cannot be read)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command sits in parentheses and may hold spaces; the fields after it are numbered from 3 (proc(5)).
    command = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return ProcessTimes((utime + stime) / TICKS_PER_S, (cutime + cstime) / TICKS_PER_S, command, int(fields[1]))


def processes_cpu_s(pids: Iterable[int]) -> float:
    return sum(times.own_s for pid in pids if (times := process_times(pid)) is not None)


def _postgres_processes() -> dict[int, ProcessTimes]:
    servers = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (times := process_times(int(entry.name))) and times.command == "postgres":
            servers[int(entry.name)] = times
    return servers


def postgres_pids() -> list[int]:
    return list(_postgres_processes())


def postgres_cpu_s() -> float:
    """Every PostgreSQL process on this machine: live backends' own time plus what the postmaster reaped."""
    servers = _postgres_processes()
    return sum(times.own_s + (times.children_s if times.parent not in servers else 0.0)
               for times in servers.values())


def this_process_cpu_s() -> float:
    """This process and its threads (the load generator and the simulator it serves)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class RoleCpu:
    """CPU seconds by role between two readings."""

    apps_s: float
    workers_s: float
    postgres_s: float
    load_generator_s: float

    @property
    def deployment_s(self) -> float:
        """What the deployment itself spends: apps, workers and the database, not the rehearsal driving it."""
        return self.apps_s + self.workers_s + self.postgres_s

    def __sub__(self, earlier: RoleCpu) -> RoleCpu:
        return RoleCpu(self.apps_s - earlier.apps_s, self.workers_s - earlier.workers_s,
                       self.postgres_s - earlier.postgres_s, self.load_generator_s - earlier.load_generator_s)

    def per_text_ms(self, texts: int) -> RoleCpu:
        scale = 1000 / max(texts, 1)
        return RoleCpu(self.apps_s * scale, self.workers_s * scale, self.postgres_s * scale,
                       self.load_generator_s * scale)


def read_roles(app_pids: Iterable[int], worker_pids: Iterable[int], postgres: bool) -> RoleCpu:
    return RoleCpu(processes_cpu_s(app_pids), processes_cpu_s(worker_pids),
                   postgres_cpu_s() if postgres else 0.0, this_process_cpu_s())


def pin(pids: Iterable[int], cpus: set[int]) -> None:
    """Keeps these processes (every thread they have, and so every thread and child they start) on `cpus`:
    the operator's check of how many cores a role needs, as `taskset` would for a command."""
    for pid in pids:
        try:
            threads = [int(task.name) for task in (PROC / str(pid) / "task").iterdir()]
        except OSError:
            continue  # gone meanwhile
        for thread in threads:
            with suppress(OSError):  # a thread that ended between listing and pinning
                os.sched_setaffinity(thread, cpus)
