"""What ``/healthz`` reports: can we reach the database, and is every known worker beating?"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection
from django.utils import timezone

from kuaiban.core.workers import stale_after


@dataclass
class Health:
    database: bool
    workers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.database and not any(w["stale"] for w in self.workers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "fail",
            "database": "ok" if self.database else "fail",
            "workers": self.workers,
        }


def health_report() -> Health:
    """No personal data: the workers' names, hosts, process ids and the age of their beats."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        if not connection.in_atomic_block:
            connection.close()  # the next request gets a fresh connection
        return Health(database=False)
    from kuaiban.core.models import WorkerHeartbeat

    now = timezone.now()
    workers = []
    try:
        rows = list(WorkerHeartbeat.objects.all())
    except DatabaseError:  # before the first migrate
        rows = []
    for row in rows:
        age = now - row.last_beat
        workers.append(
            {
                "name": row.name,
                "host": row.host,
                "pid": row.pid,
                "last_beat": row.last_beat.isoformat(),
                "age_seconds": round(max(0.0, age.total_seconds()), 1),
                "stale": age > stale_after(row.interval),
                "errors": row.errors,
                "last_error_at": row.last_error_at.isoformat() if row.last_error_at else None,
            }
        )
    return Health(database=True, workers=workers)
