"""The login forms of the desk (/login/) and the admin site (/admin/login/)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator

from kuaiban.core.forms import CleanForm


class _UsernameLengthChecked:
    """Django's AuthenticationForm sets the username field's ``max_length`` after the field is
    built, so the length is only a widget hint and a longer name still reaches ``authenticate``
    (and django-axes, whose failure record holds 255 characters). Here the field refuses it,
    beside the field, before anyone is asked to authenticate it."""

    fields: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        if field.max_length:
            field.validators.append(MaxLengthValidator(field.max_length))


class LoginForm(_UsernameLengthChecked, AuthenticationForm, CleanForm):
    pass


class AdminLoginForm(_UsernameLengthChecked, AdminAuthenticationForm, CleanForm):
    pass
