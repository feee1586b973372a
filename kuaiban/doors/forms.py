from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Kind
from kuaiban.core.forms import CleanForm
from kuaiban.doors import services
from kuaiban.doors.services import Topic

PROBLEM_SLOTS = 3
PROBLEM_KIND_CHOICES = [(k, label) for k, label in Kind.choices if k != Kind.REPORT]


class FocusListForm(CleanForm):
    quarter = forms.CharField(label=_("quarter"), max_length=7, help_text=_("e.g. 2026-Q4"))
    topics = forms.CharField(
        label=_("topics"),
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("One topic or question a line, up to 10."),
    )
    unit = forms.ChoiceField(label=_("unit"), required=False)

    def __init__(self, *args: Any, units: list[tuple[str, str]] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        if units:
            self.fields["unit"].choices = [("", "—"), *units]  # type: ignore[attr-defined]
        else:
            del self.fields["unit"]

    def topic_lines(self) -> list[str]:
        return [line for line in self.cleaned_data["topics"].splitlines() if line.strip()]


class VisitForm(CleanForm):
    """One household visit from a phone: the door, who opened it, what they raised."""

    address = forms.CharField(label=_("address"), max_length=200)
    nobody_home = forms.BooleanField(label=_("Nobody home"), required=False)
    met = forms.CharField(label=_("who was met"), required=False, max_length=100)
    phone = forms.CharField(
        label=_("resident's phone"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    raised = forms.CharField(
        label=_("what was raised"),
        required=False,
        max_length=services.RAISED_LEN,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, topics: list[Topic], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.topics = topics
        for topic in topics:
            self.fields[f"answer_{topic.number}"] = forms.CharField(
                label=f"{topic.number}. {topic.text}",
                required=False,
                max_length=services.ANSWER_LEN,
            )
        for slot in range(1, PROBLEM_SLOTS + 1):
            self.fields[f"problem_{slot}"] = forms.CharField(
                label=_("problem %(n)d (becomes an appeal)") % {"n": slot},
                required=False,
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"kind_{slot}"] = forms.ChoiceField(
                label=_("kind"), choices=PROBLEM_KIND_CHOICES, initial=Kind.HELP
            )

    def answer_fields(self) -> list[forms.BoundField]:
        return [self[f"answer_{t.number}"] for t in self.topics]

    def problem_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"problem_{s}"], self[f"kind_{s}"]) for s in range(1, PROBLEM_SLOTS + 1)]

    def visit_input(self, grid: str) -> services.VisitInput:
        d = self.cleaned_data
        self.slots = [s for s in range(1, PROBLEM_SLOTS + 1) if d[f"problem_{s}"].strip()]
        problems = [
            services.ProblemInput(content=d[f"problem_{s}"], kind=d[f"kind_{s}"])
            for s in self.slots
        ]
        return services.VisitInput(
            grid=grid,
            address=d["address"],
            nobody_home=d["nobody_home"],
            met=d["met"],
            phone=d["phone"],
            raised=d["raised"],
            answers={t.number: d[f"answer_{t.number}"] for t in self.topics},
            problems=problems,
        )

    def field_of(self, name: str) -> str | None:
        """The form field a service's error names (``problems.0.content`` → ``problem_1``)."""
        parts = name.split(".")
        slots = getattr(self, "slots", [])
        if parts[0] == "problems" and len(parts) >= 2 and parts[1].isdigit():
            index = int(parts[1])
            slot = slots[index] if index < len(slots) else 1
            return f"kind_{slot}" if parts[-1] == "kind" else f"problem_{slot}"
        if parts[0] == "answers" and len(parts) == 2:
            return f"answer_{parts[1]}"
        return name if name in self.fields else None
