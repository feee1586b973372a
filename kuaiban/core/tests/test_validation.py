"""Phone numbers as callers give them: national digits out, or an error in the user's language."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from kuaiban.core.errors import ValidationFailed
from kuaiban.core.validation import clean_phone, clean_point


@pytest.mark.parametrize(
    ("given", "national"),
    [
        ("13912345678", "13912345678"),
        (" +86 139-1234-5678 ", "13912345678"),
        ("0535-6212345", "5356212345"),  # fixed line with its area code
    ],
)
def test_phone_numbers_come_out_as_national_digits(given: str, national: str) -> None:
    assert clean_phone(given) == national
    assert clean_phone(given) == national  # the second time from memory, the same


NOT_CN = ("不是有效的中国大陆电话号码", "Not a valid mainland China phone number.")


@pytest.mark.parametrize(
    ("given", "zh", "en"),
    [
        ("不是号码", "不是有效的电话号码。", "Not a phone number."),
        ("12345", *NOT_CN),
        ("+1 202 555 0143", *NOT_CN),  # a valid number, but not a mainland one
    ],
)
def test_bad_numbers_name_the_field_in_each_language(given: str, zh: str, en: str) -> None:
    for language, message in (("zh-hans", zh), ("en", en), ("zh-hans", zh)):
        with translation.override(language), pytest.raises(ValidationFailed) as caught:
            clean_phone(given, "submitter.phone")
        [error] = caught.value.errors
        assert error.field == "submitter.phone"
        assert message in str(error.message)


@pytest.mark.parametrize(
    ("lat", "lng", "field"),
    [
        ("91", "116.4", "lat"),
        ("34.7", "-180.5", "lng"),
        ("北纬34度", "116.4", "lat"),
        ("NaN", "116.4", "lat"),
        ("34.7", "", "lng"),
        (None, "116.4", "lat"),
    ],
)
def test_a_bad_point_names_its_field(lat: object, lng: object, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        clean_point(lat, lng)
    assert [e.field for e in caught.value.errors] == [field]


def test_a_point_is_kept_to_six_decimals_and_none_is_none() -> None:
    assert clean_point("34.73456789", 116.9) == (Decimal("34.734568"), Decimal("116.900000"))
    assert clean_point(None, "") is None
