"""Words this domain adds to the appeals pages (the ledger's sort, the timeline's deadline and
supervision events). Listed here so that their translations live in this app's catalogue."""

from django.utils.translation import gettext_lazy as _

APPEAL_PAGE_WORDS = (
    _("Deadline"),
    _("Sort"),
    _("Newest first"),
    _("Overdue and due soon first"),
    _("Deadline near"),
    _("Overdue"),
    _("Deadline alert cleared"),
    _("Extension requested"),
    _("Extension approved"),
    _("Extension refused"),
    _("Supervision order issued"),
)
