"""Every write to the ledger (being split into modules by responsibility; see the next commit)."""

from kuaiban.appeals.services.replies import *  # noqa: F403
from kuaiban.appeals.services.replies import _event_hooks  # noqa: F401
