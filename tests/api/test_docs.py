"""The public docs (docs/api/*.md, README's "Using the API") against the code: every operation
of the generated OpenAPI document is documented with its scopes, nothing documented is gone,
every event type and error code is listed, and the signature check shown to integrators
verifies a delivery signed by the real signer."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path

import pytest

from apps.api.errors import ErrorCode
from apps.apikeys.scopes import ALL_SCOPES
from apps.campaigns.services import InvalidTransition
from apps.webhooks.events import EVENT_TYPES
from apps.webhooks.signing import secret_new, signed_headers
from apps.whatsapp.graph import GraphError, GraphTimeout
from apps.whatsapp.services import NoActiveWaba

ROOT = Path(__file__).resolve().parents[2]
API_DOCS = ROOT / "docs" / "api"
METHODS = ("get", "post", "put", "patch", "delete")
# An operation is documented by a heading of its own: ### `POST /contacts/{contact_id}`
OPERATION_HEADING = re.compile(r"^#{2,4} `(GET|POST|PUT|PATCH|DELETE) (/\S*)`$", re.MULTILINE)
EVENT_HEADING = re.compile(r"^#{2,4} `([a-z_]+\.[a-z_]+)`$", re.MULTILINE)
SCOPE_LINE = re.compile(r"^\*\*Scope:\*\*(.*)$", re.MULTILINE)


def operations(schema) -> dict[tuple[str, str], list[str]]:
    """(METHOD, path) -> the scopes the operation requires."""
    return {
        (method.upper(), path): operation["x-required-scopes"]
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def api_pages() -> dict[str, str]:
    pages = {path.name: path.read_text() for path in sorted(API_DOCS.glob("*.md"))}
    assert pages, f"no pages in {API_DOCS}"
    return pages


def documented_operations() -> dict[tuple[str, str], tuple[str, str]]:
    """(METHOD, path) -> (page, the text of its section, up to the next heading)."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for page, text in api_pages().items():
        headings = list(OPERATION_HEADING.finditer(text))
        for match in headings:
            key = (match.group(1), match.group(2))
            assert key not in found, f"{key} documented twice ({found[key][0]} and {page})"
            rest = text[match.end() :]
            following = re.search(r"^#{1,4} ", rest, re.MULTILINE)
            found[key] = (page, rest[: following.start()] if following else rest)
    return found


def test_every_operation_in_the_openapi_document_is_documented(schema):
    documented = documented_operations()
    missing = sorted(f"{m} {p}" for m, p in operations(schema) if (m, p) not in documented)
    assert not missing, f"not documented in docs/api/*.md: {missing}"


def test_every_documented_operation_exists(schema):
    known = operations(schema)
    stale = sorted(
        f"{m} {p} ({page})"
        for (m, p), (page, _) in documented_operations().items()
        if (m, p) not in known
    )
    assert not stale, f"documented but not in the OpenAPI document: {stale}"


def test_each_documented_operation_states_the_scopes_it_needs(schema):
    documented = documented_operations()
    for key, required in operations(schema).items():
        page, section = documented[key]
        line = SCOPE_LINE.search(section)
        assert line, f"{key[0]} {key[1]} ({page}) has no **Scope:** line"
        stated = re.findall(r"`([a-z]+:[a-z]+)`", line.group(1))
        assert sorted(stated) == sorted(required), f"{key[0]} {key[1]} ({page}): {line.group(0)}"
        if not required:
            assert "none" in line.group(1), f"{key[0]} {key[1]} ({page}): say it needs no scope"


def test_every_scope_is_documented():
    text = (API_DOCS / "authentication.md").read_text()
    for scope in ALL_SCOPES:
        assert f"`{scope}`" in text, scope


def test_every_event_type_the_code_can_emit_is_in_events_md(schema):
    documented = set(EVENT_HEADING.findall((API_DOCS / "events.md").read_text()))
    assert documented == set(EVENT_TYPES), {
        "missing": sorted(set(EVENT_TYPES) - documented),
        "unknown": sorted(documented - set(EVENT_TYPES)),
    }
    # The OpenAPI document's `webhooks` section describes the same catalogue.
    assert set(schema["webhooks"]) == set(EVENT_TYPES)


def test_every_error_code_is_in_errors_md():
    text = (API_DOCS / "errors.md").read_text()
    codes = {code.value for code in ErrorCode} | {
        NoActiveWaba.code,
        InvalidTransition.code,
        GraphError.code,
        GraphTimeout.code,
        "api_key_revoked",
    }
    missing = sorted(code for code in codes if f"`{code}`" not in text)
    assert not missing, f"error codes missing from docs/api/errors.md: {missing}"


def verify_snippet(text: str, where: str):
    """The `verify_webhook` function of the first Python block defining it, compiled."""
    for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL):
        if "def verify_webhook(" in block:
            namespace: dict = {}
            exec(compile(block, where, "exec"), namespace)  # noqa: S102 (our own docs)
            return block, namespace["verify_webhook"]
    raise AssertionError(f"{where} shows no verify_webhook()")


@pytest.mark.parametrize("where", ["docs/api/webhooks.md", "README.md"])
def test_the_documented_signature_check_verifies_a_real_delivery(where):
    _, verify = verify_snippet((ROOT / where).read_text(), where)
    new, old = secret_new(), secret_new()
    body = '{"id": "evt_0123456789abcdef01234567", "type": "webhook.test", "data": {}}'
    now = int(time.time())
    headers = signed_headers(
        secrets_=[new, old], msg_id="evt_0123456789abcdef01234567", timestamp=now, body=body
    )
    assert verify(new, headers, body.encode())
    assert verify(old, headers, body.encode())  # both secrets sign during a rotation
    assert not verify(new, headers, body.encode() + b" ")
    assert not verify(secret_new(), headers, body.encode())
    forged = {**headers, "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}
    assert not verify(new, forged, body.encode())
    stale = signed_headers(secrets_=[new], msg_id="evt_1", timestamp=now - 3600, body=body)
    assert not verify(new, stale, body.encode())


def test_readme_and_webhooks_page_show_the_same_signature_check():
    readme, _ = verify_snippet((ROOT / "README.md").read_text(), "README.md")
    page, _ = verify_snippet((API_DOCS / "webhooks.md").read_text(), "webhooks.md")
    assert readme == page
