"""Every write of the enterprise domain.

A package: ``checks`` (what every write shares), ``registry`` (enterprises and contacts),
``links`` (appeals joined to enterprises; problems registered as appeals), ``assignments`` (包保),
``visits`` (走访), ``imports`` (the workbook), ``meetings``, ``policies``, ``chains`` (产业链),
``groups`` (微信矩阵群). Callers import from the
package.
"""

from kuaiban.enterprise.services.assignments import assignment_create, assignment_end
from kuaiban.enterprise.services.chains import ChainInput, chain_create, chain_update
from kuaiban.enterprise.services.groups import GroupInput, group_answer, group_problem, group_save
from kuaiban.enterprise.services.imports import (
    ImportReport,
    enterprise_import,
    import_template,
    read_workbook,
)
from kuaiban.enterprise.services.links import ProblemInput, link_existing_appeals, link_on_register
from kuaiban.enterprise.services.meetings import (
    MeetingInput,
    attendance_record,
    booking_create,
    booking_refusal,
    meeting_cancel,
    meeting_close,
    meeting_invite,
    meeting_problem,
    meeting_publish,
    meeting_schedule,
)
from kuaiban.enterprise.services.policies import (
    PolicyInput,
    answer_promote,
    enterprise_for_contact,
    notices_read,
    policy_publish,
)
from kuaiban.enterprise.services.registry import (
    EnterpriseInput,
    contact_add,
    enterprise_create,
    enterprise_for_code,
    enterprise_update,
)
from kuaiban.enterprise.services.visits import VisitInput, may_visit, visit_record

__all__ = [
    "ChainInput",
    "EnterpriseInput",
    "GroupInput",
    "ImportReport",
    "MeetingInput",
    "PolicyInput",
    "ProblemInput",
    "VisitInput",
    "answer_promote",
    "assignment_create",
    "assignment_end",
    "attendance_record",
    "booking_create",
    "booking_refusal",
    "chain_create",
    "chain_update",
    "contact_add",
    "enterprise_create",
    "enterprise_for_code",
    "enterprise_for_contact",
    "enterprise_import",
    "enterprise_update",
    "group_answer",
    "group_problem",
    "group_save",
    "import_template",
    "link_existing_appeals",
    "link_on_register",
    "may_visit",
    "meeting_cancel",
    "meeting_close",
    "meeting_invite",
    "meeting_problem",
    "meeting_publish",
    "meeting_schedule",
    "notices_read",
    "policy_publish",
    "read_workbook",
    "visit_record",
]
