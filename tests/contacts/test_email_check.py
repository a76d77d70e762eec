"""The e-mail check's fast path (`_PLAIN_EMAIL` in apps.contacts.services.contacts) only ever
accepts what Django's EmailValidator accepts, and the result is the same either way."""

from __future__ import annotations

import pytest
from django.core.validators import EmailValidator
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.contacts.services.contacts import _PLAIN_EMAIL, email_normalize
from apps.core.errors import ApplicationError

validate = EmailValidator()


@settings(max_examples=500, deadline=None)
@given(st.from_regex(_PLAIN_EMAIL, fullmatch=True))
def test_every_address_the_fast_path_takes_is_one_the_validator_takes(address):
    if len(address) <= 254:
        validate(address)  # raises if the fast path ever took more than Django does


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab9._+-@é[]\"' ", max_size=24))
def test_any_text_gets_the_validators_answer(text):
    try:
        validate(text.strip())
        valid = bool(text.strip())
    except Exception:  # noqa: BLE001 - Django's ValidationError: not an address
        valid = False
    if valid and len(text.strip()) <= 254:
        assert email_normalize(text) is not None
    elif text.strip():
        with pytest.raises(ApplicationError):
            email_normalize(text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ana.Lima@Example.COM", "Ana.Lima@example.com"),  # fast path: domain lower-cased
        ('"ana@home"@Example.com', '"ana@home"@example.com'),  # validator: quoted local part
        ("ana@localhost", "ana@localhost"),  # validator: its allowlisted domain
    ],
)
def test_both_paths_normalise_alike(raw, expected):
    assert email_normalize(raw) == expected
