"""The shipped limits table (also written by the data migration ``0002_default_limits``; see
docs/deadlines.md for the sources). Used when the table is empty, e.g. after a test flush."""

from __future__ import annotations

from decimal import Decimal

from kuaiban.deadlines.models import STAGES, TimeLimit

Amount = tuple[Decimal, str] | None

PETITION_BASIS = (
    "《信访工作条例》(2022): notice of acceptance within 15 days (受理告知, 第二十四条?); "
    "handled within 60 days, extended at most 30 days with approval (第三十二条); 复查 and 复核 "
    "opinions within 30 days of the request (第三十五条, 第三十六条). "
    "Article numbers to be confirmed."
)

GROUP_BASIS = (
    "Group visit (5 people or more): urgent, claimed within 2 working hours, but it keeps "
    "the 60-day handling limit of 《信访工作条例》 (第三十二条; article number to be confirmed)."
)

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
        ("petition", "", ""),
        (None, (Decimal(60), "days"), None),
        PETITION_BASIS,
    ),
    (
        ("petition", "", "urgent"),
        (None, (Decimal(60), "days"), None),
        GROUP_BASIS,
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


# The optional clocks and the co-unit lead, per row key: {clock: (amount, unit)} and
# "assist_lead": working days (the catch-all's 1 leaves the lead a day to consolidate).
SHIPPED_EXTRA: dict[tuple[str, str, str], dict[str, tuple[Decimal, str] | int]] = {
    ("", "", ""): {"assist_lead": 1},
    ("petition", "", ""): {
        "notice": (Decimal(15), "days"),
        "review": (Decimal(30), "days"),
        "recheck": (Decimal(30), "days"),
        "extension": (Decimal(30), "days"),
    },
}


def shipped_rows() -> list[TimeLimit]:
    rows = []
    for key, limits, basis in SHIPPED:
        channel, kind, urgency = key
        row = TimeLimit(channel=channel, kind=kind, urgency=urgency, basis=basis)
        for stage, limit in zip(STAGES, limits, strict=True):
            setattr(row, f"{stage}_amount", limit[0] if limit else None)
            setattr(row, f"{stage}_unit", limit[1] if limit else "")
        for name, value in SHIPPED_EXTRA.get(key, {}).items():
            if isinstance(value, int):
                setattr(row, name, value)
            else:
                setattr(row, f"{name}_amount", value[0])
                setattr(row, f"{name}_unit", value[1])
        rows.append(row)
    return rows
