"""The shipped limits table (also written by the data migration ``0002_default_limits``; see
docs/deadlines.md for the sources). Used when the table is empty, e.g. after a test flush."""

from __future__ import annotations

from decimal import Decimal

from kuaiban.deadlines.models import STAGES, TimeLimit

Amount = tuple[Decimal, str] | None

# (channel, kind, urgency) → (claim, reply, visit), basis.
SHIPPED: list[tuple[tuple[str, str, str], tuple[Amount, Amount, Amount], str]] = [
    (
        ("", "", ""),
        ((Decimal(0), "workdays"), (Decimal(10), "workdays"), (Decimal(3), "workdays")),
        "当日认领: claim by the end of the same working day. Complaints and reports: 10 working "
        "days (Guangdong 15 working days; Beijing 12345 standard 15 days for complex appeals). "
        "Return visit within 3 working days of the reply.",
    ),
    (
        ("", "consultation", ""),
        (None, (Decimal(2), "workdays"), None),
        "Consultations: 2 working days (Guangdong); answered at intake where possible.",
    ),
    (
        ("", "help", ""),
        (None, (Decimal(5), "workdays"), None),
        "Requests for help: 5 working days (Beijing 12345 standard: 7 days for general appeals).",
    ),
    (
        ("", "suggestion", ""),
        (None, (Decimal(5), "workdays"), None),
        "Suggestions: 5 working days (Beijing 12345 standard: 7 days for general appeals).",
    ),
    (
        ("direct_line", "", ""),
        (None, (Decimal(7), "days"), None),
        "书记直通车 (secretary direct line): closed within 7 days.",
    ),
    (
        ("", "", "urgent"),
        ((Decimal(2), "hours"), (Decimal(1), "workdays"), None),
        "Urgent (water, power, gas, heating): Beijing 12345 standard feedback within 24 hours.",
    ),
    (
        ("", "", "emergency"),
        ((Decimal("0.5"), "hours"), (Decimal(2), "hours"), None),
        "Emergencies and risks to life or property: Beijing 12345 standard feedback within "
        "2 hours.",
    ),
]


def shipped_rows() -> list[TimeLimit]:
    rows = []
    for (channel, kind, urgency), limits, basis in SHIPPED:
        row = TimeLimit(channel=channel, kind=kind, urgency=urgency, basis=basis)
        for stage, limit in zip(STAGES, limits, strict=True):
            setattr(row, f"{stage}_amount", limit[0] if limit else None)
            setattr(row, f"{stage}_unit", limit[1] if limit else "")
        rows.append(row)
    return rows
