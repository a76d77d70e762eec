import pytest

from apps.whatsapp.errors import CATALOGUE, error_info

ISSUE_CODES = [
    0, 3, 4, 10, 100, 131000, 131005, 131008, 131009, 131016, 131021, 131026, 131031, 131042,
    131045, 131047, 131048, 131049, 131051, 131052, 131053, 131056, 130429, 132000, 132001,
    132005, 132007, 132012, 132015, 132016, 133010, 190, 368, 470,
]  # fmt: skip
OUR_CODES = [
    "lk_missing_variable", "lk_opted_out", "lk_outcome_unknown", "lk_invalid_phone",
    "lk_messaging_limit",
]  # fmt: skip


@pytest.mark.parametrize("code", ISSUE_CODES + OUR_CODES)
def test_every_required_code_has_a_title_and_a_fix(code):
    entry = CATALOGUE[code]
    assert entry.title and entry.fix
    assert entry.title != entry.fix


def test_a_numeric_code_given_as_text_is_found():
    assert error_info("131026").title == "Message undeliverable"


def test_an_unknown_code_still_gets_a_usable_entry():
    entry = error_info(999999)
    assert entry.title == "WhatsApp error 999999"
    assert "raw error" in entry.fix


def test_rate_limits_are_marked_retryable_and_bad_numbers_are_not():
    assert error_info(130429).retryable
    assert not error_info(131026).retryable
