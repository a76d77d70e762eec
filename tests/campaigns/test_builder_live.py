"""The builder's live side panel (count and preview) as htmx swaps it: what the browser needs
to keep the preview picker and the "Send now" confirmation current."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context

from tests.campaigns.conftest import make_contacts
from tests.campaigns.test_views import form

pytestmark = pytest.mark.django_db


def live_panel(client, data) -> str:
    response = client.post("/acme/campaigns/new/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


def test_the_preview_picker_posts_itself_since_it_sits_outside_the_form(
    alice_client, template, group
):
    # Given an audience, the panel offers a contact to preview.
    make_contacts(3, group=group)

    # When the panel is rendered
    body = live_panel(alice_client, form(template, group))

    # Then the picker, outside the <form> in the page (its change events never reach the
    # form's trigger), asks for a new panel itself.
    picker = re.search(r"<select id=\"sample_contact\"[^>]*>", body).group(0)
    assert 'hx-post="/acme/campaigns/new/"' in picker
    assert 'hx-include="#campaign-builder"' in picker
    assert 'hx-trigger="change"' in picker
    assert 'hx-sync="#campaign-builder:replace"' in picker


def test_the_preview_renders_the_picked_contact(alice_client, template, group):
    contacts = make_contacts(3, group=group)

    body = live_panel(alice_client, {**form(template, group), "sample_contact": contacts[2].id})

    assert "Hi Person2, your order A-2 has shipped." in body


def test_the_send_now_confirmation_follows_the_recipient_count(alice_client, template, group):
    # Given a page rendered for an empty audience, whose "Send now" asks about 0 people
    page = alice_client.get("/acme/campaigns/new/").content.decode()
    assert "Send this campaign now to 0 people?" in page
    assert page.count('id="send-now"') == 1

    # When the audience changes to three people
    with schema_context("acme"):  # a request leaves the connection in the public schema
        make_contacts(3, group=group)
    body = live_panel(alice_client, form(template, group))

    # Then the panel swaps in a "Send now" whose confirmation names three.
    button = re.search(r"<button id=\"send-now\"[^>]*>", body).group(0)
    assert 'hx-swap-oob="true"' in button
    assert "Send this campaign now to 3 people?" in button
    assert 'name="action" value="send"' in button
