"""The base of every web form: the one text cleaner and the one date range check per field."""

from __future__ import annotations

import datetime as dt

from django import forms

from kuaiban.core.errors import ValidationFailed
from kuaiban.core.validation import check_date, clean_text


class CleanForm(forms.Form):
    """A form whose every cleaned text passes ``clean_text`` (NUL and lone surrogates refused,
    other control characters removed) and whose every date and datetime passes ``check_date``
    (years 1900–2999), each problem shown beside its field, before anything is stored.

    It runs after Django's own ``full_clean`` (a public hook, unlike the per-field internals);
    the input guard middleware has already refused or stripped such text in every request, so
    a form's own ``clean()`` never sees it either."""

    def full_clean(self) -> None:
        super().full_clean()
        if not hasattr(self, "cleaned_data"):  # an unbound form, or one with empty_permitted
            return
        for name, value in list(self.cleaned_data.items()):
            try:
                if isinstance(value, str):
                    self.cleaned_data[name] = clean_text(value, name)
                elif isinstance(value, dt.date):
                    check_date(value, name)
            except ValidationFailed as exc:
                self.add_error(name if name in self.fields else None, str(exc.message))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class FilesField(forms.FileField):
    """A file input taking several files (Django's documented pattern); cleans to a list.

    Only Django's own checks run here (a file was sent, it has a name); what the file is, and
    whether it may be kept, is ``kuaiban.core.uploads.prepare``'s to decide."""

    def __init__(self, *args: object, accept: str = "", **kwargs: object) -> None:
        attrs = {"accept": accept} if accept else {}
        kwargs.setdefault("widget", MultipleFileInput(attrs=attrs))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self, data: object, initial: object = None) -> list[object]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []
