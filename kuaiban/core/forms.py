"""The base of every web form: the one text cleaner and the one date range check per field."""

from __future__ import annotations

import datetime as dt

from django import forms

from kuaiban.core.errors import ValidationFailed
from kuaiban.core.validation import check_date, clean_text


class CleanForm(forms.Form):
    """A form whose every cleaned text passes ``clean_text`` (NUL and lone surrogates refused,
    other control characters removed) and whose every date and datetime passes ``check_date``
    (years 1900–2999), each problem shown beside its field, before the form's own ``clean()``
    combines fields and before anything is stored."""

    def _clean_fields(self) -> None:
        super()._clean_fields()  # type: ignore[misc]  # not in django-stubs; Django 5.2 has it
        for name, value in list(self.cleaned_data.items()):
            try:
                if isinstance(value, str):
                    self.cleaned_data[name] = clean_text(value, name)
                elif isinstance(value, dt.date):
                    check_date(value, name)
            except ValidationFailed as exc:
                self.add_error(name, str(exc.message))
