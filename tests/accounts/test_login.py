import importlib

import pytest
from django.test import Client

from apps.accounts.models import User
from tests.factories import UserFactory


@pytest.fixture
def client():
    return Client()


def _log_in(client, email, password):
    return client.post("/accounts/login/", {"username": email, "password": password})


def test_a_person_logs_in_with_their_email_in_any_case(client, alice, password):
    response = _log_in(client, "ALICE@acme.test", password)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_wrong_password_shows_an_inline_error(client, alice):
    response = _log_in(client, alice.email, "wrong")
    assert response.status_code == 200
    assert b"Please enter a correct" in response.content


def test_the_picker_sends_a_single_workspace_member_straight_in(client, alice, password):
    _log_in(client, alice.email, password)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/acme/"


def test_the_picker_lists_every_workspace_of_the_user(alice, globex, password):
    from tests.factories import MembershipFactory

    MembershipFactory(tenant=globex, user=alice)
    client = Client()
    _log_in(client, alice.email, password)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Acme" in response.content and b"Globex" in response.content


def test_the_picker_has_an_empty_state(db, password):
    user = UserFactory()
    client = Client()
    _log_in(client, user.email, password)
    assert b"No workspaces yet" in client.get("/").content


def test_repeated_failures_lock_the_account_from_that_address(client, alice, password, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(client, alice.email, "wrong")

    response = _log_in(client, alice.email, password)

    assert response.status_code == 429
    assert b"Too many failed" in response.content
    assert "_auth_user_id" not in client.session


def test_failures_for_one_account_do_not_lock_another(client, alice, bob, password, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(client, alice.email, "wrong")
    assert _log_in(client, bob.email, password).status_code == 302


def test_logout_needs_a_post_and_ends_the_session(alice_client):
    assert alice_client.get("/accounts/logout/").status_code == 405
    alice_client.post("/accounts/logout/")
    assert alice_client.get("/acme/").status_code == 302


def test_password_change_keeps_the_session_and_takes_the_new_password(
    alice_client, alice, password
):
    response = alice_client.post(
        "/accounts/password/change/",
        {
            "old_password": password,
            "new_password1": "a-new-Passw0rd!",
            "new_password2": "a-new-Passw0rd!",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a-new-Passw0rd!")
    assert alice_client.get("/acme/").status_code == 200


def test_password_change_with_a_wrong_old_password_is_an_inline_error(
    alice_client, alice, password
):
    response = alice_client.post(
        "/accounts/password/change/",
        {
            "old_password": "nope",
            "new_password1": "a-new-Passw0rd!",
            "new_password2": "a-new-Passw0rd!",
        },
    )
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(password)


def test_production_settings_hash_passwords_with_argon2():
    base = importlib.import_module("lynkist.settings.base")
    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_email_is_the_login_field_and_unique_ignoring_case(db):
    from django.db import IntegrityError, transaction

    User.objects.create_user(email="Sam@x.test", password="pw-long-enough")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(email="sam@x.test", password="pw-long-enough")
    assert User.USERNAME_FIELD == "email"
