"""Loading the demo county: the directory at once, the invented ledger now or in the background.

``kuaiban demo`` builds the regions, units and users in one transaction (seconds), then either
invents the ledger itself or, with ``--background``, queues :func:`load_ledger` for the
``db_worker`` that ``kuaiban serve`` starts, so the first page is up while the ledger fills.
In the background each service call commits on its own (pages keep working between them) and
the progress goes to the ``progress`` cache under :data:`PROGRESS_JOB`; every page shows it in
a banner (:func:`kuaiban.portal.context_processors.demo_loading`) until it is done.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable

from django.db import transaction
from django_tasks import task

from kuaiban.appeals.demo import make_appeals
from kuaiban.core.jobs import Reporter, forget
from kuaiban.notify.hooks import silenced as sms_silenced
from kuaiban.org.demo import Directory, build_directory

PROGRESS_JOB = "demo-ledger"

# Each domain may add its part of the demo: a module `kuaiban.<app>.demo` with
# `load(directory, *, seed, with_appeals)` returning a one-line summary; with_appeals False
# (`--appeals 0`) means it must not create appeals.
DEMO_STEPS = [
    "kuaiban.supervision.demo",
    "kuaiban.enterprise.demo",
    "kuaiban.projects.demo",
    "kuaiban.integrations.demo",
    "kuaiban.open311.demo",
    "kuaiban.routing.demo",
    "kuaiban.doors.demo",
    "kuaiban.themes.demo",
]


def load_rest(
    d: Directory,
    *,
    appeals: int,
    seed: int,
    say: Callable[[str], None],
    progress: Callable[[int, int], None] | None = None,
    atomic: bool = True,
) -> int:
    """The ledger and every domain's part of the demo; returns how many appeals were made.

    With ``atomic`` the ledger is one transaction (fastest, for the command); without, every
    service call commits by itself (for the background, so pages are not kept waiting)."""
    total = appeals + len(DEMO_STEPS)
    block = transaction.atomic if atomic else contextlib.nullcontext
    made = 0
    with sms_silenced():  # the demo invents a history: nobody is told of it
        if appeals:
            with block():
                made = make_appeals(d, count=appeals, seed=seed, progress=progress)
        for step, module_name in enumerate(DEMO_STEPS):
            if progress:
                progress(appeals + step, total)
            with transaction.atomic():
                summary = importlib.import_module(module_name).load(
                    d, seed=seed, with_appeals=appeals > 0
                )
            if summary:
                say(str(summary))
    if progress:
        progress(total, total)
    return made


@task()
def load_ledger(appeals: int, seed: int) -> int:
    """The background half of ``kuaiban demo --background``: run by ``kuaiban db_worker``."""
    try:
        return load_rest(
            build_directory(),  # the directory is there already: this only looks it up
            appeals=appeals,
            seed=seed,
            say=lambda _line: None,
            progress=Reporter(PROGRESS_JOB),
            atomic=False,
        )
    finally:  # done or failed (the task's result keeps the error): the banner goes
        forget(PROGRESS_JOB)
