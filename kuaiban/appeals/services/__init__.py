"""Every write to the ledger. One function per transition; nothing else changes an appeal's status.

Each transition locks the appeal row, checks the actor's role and unit, the current status and the
input, writes the new state and exactly one event (hash-chained) in the same transaction, and runs
the registered after-commit hooks (notifications, webhooks) only once the transaction commits.

The package is split by responsibility; callers import from here, not from its modules:

- ``events``: the event chain (``record_event``) and the after-commit hooks (``on_event``,
  ``hooks_paused``);
- ``checks``: the locked read, the guard (visibility, role, unit, state) and the input cleaners
  every transition shares, with the limits;
- ``registration``: ``AppealInput``, ``validate_input`` and ``appeal_register`` (and its variant
  inside the caller's transaction);
- ``dispatch``: dispatch, claim and return;
- ``replies``: reply, answer, return visit, rework and close;
- ``endings``: merge and invalidate;
- ``assist``: the co-units' parts (协办): claim and answer, and ``part_arm``, which keeps the
  moment of a part's next warning for the sweep;
- ``escalation``: reporting an appeal up to an upper-level platform (上报).
- ``petition``: a petition's own steps (信访): notice of acceptance, review and re-examination.
- ``levels``: the three levels (区、乡、村): delegation down to a village or grid (下派);
- ``whistle``: 网格吹哨、部门报到: a village or grid calls departments in, each reports;
- ``grid``: grid workers (网格员): the report from the field and 就地解决 (resolved on the spot).
"""

from kuaiban.appeals.services.assist import (
    PART_LOOKAHEAD,
    PART_WARN_SHARE,
    appeal_assist,
    appeal_assist_claim,
    part_arm,
    part_deadline,
)
from kuaiban.appeals.services.attachments import appeal_attach
from kuaiban.appeals.services.checks import (
    ADDRESS_MAX,
    GROUP_MAX,
    MAX_RETURNS,
    NAME_MAX,
    REASON_MAX,
    TEXT_MAX,
    TITLE_MAX,
    UNREACHED_ATTEMPTS_TO_END,
)
from kuaiban.appeals.services.dispatch import appeal_claim, appeal_dispatch, appeal_return
from kuaiban.appeals.services.endings import appeal_invalidate, appeal_merge
from kuaiban.appeals.services.escalation import appeal_escalate
from kuaiban.appeals.services.events import (
    EventHook,
    _event_hooks,  # the registered hooks: bench/sweep.py times them in place
    hooks_paused,
    on_event,
    record_event,
)
from kuaiban.appeals.services.grid import appeal_grid_report, appeal_resolve_on_spot
from kuaiban.appeals.services.levels import appeal_delegate
from kuaiban.appeals.services.petition import (
    appeal_petition_notice,
    appeal_review_decide,
    appeal_review_request,
)
from kuaiban.appeals.services.registration import (
    AppealInput,
    appeal_id_draw,
    appeal_id_next_sql,
    appeal_register,
    appeal_register_within,
    number_for,
    validate_input,
)
from kuaiban.appeals.services.replies import (
    VisitInput,
    appeal_answer,
    appeal_close,
    appeal_reply,
    appeal_rework,
    appeal_visit,
)
from kuaiban.appeals.services.support import JOINABLE, appeal_support, check_joinable
from kuaiban.appeals.services.whistle import appeal_report, appeal_whistle

__all__ = [
    "ADDRESS_MAX",
    "GROUP_MAX",
    "JOINABLE",
    "MAX_RETURNS",
    "NAME_MAX",
    "PART_LOOKAHEAD",
    "PART_WARN_SHARE",
    "REASON_MAX",
    "TEXT_MAX",
    "TITLE_MAX",
    "UNREACHED_ATTEMPTS_TO_END",
    "AppealInput",
    "EventHook",
    "VisitInput",
    "_event_hooks",
    "appeal_answer",
    "appeal_assist",
    "appeal_assist_claim",
    "appeal_attach",
    "appeal_claim",
    "appeal_close",
    "appeal_delegate",
    "appeal_dispatch",
    "appeal_escalate",
    "appeal_grid_report",
    "appeal_id_draw",
    "appeal_id_next_sql",
    "appeal_invalidate",
    "appeal_merge",
    "appeal_petition_notice",
    "appeal_register",
    "appeal_register_within",
    "appeal_reply",
    "appeal_report",
    "appeal_resolve_on_spot",
    "appeal_return",
    "appeal_review_decide",
    "appeal_review_request",
    "appeal_rework",
    "appeal_support",
    "appeal_visit",
    "appeal_whistle",
    "check_joinable",
    "hooks_paused",
    "number_for",
    "on_event",
    "part_arm",
    "part_deadline",
    "record_event",
    "validate_input",
]
