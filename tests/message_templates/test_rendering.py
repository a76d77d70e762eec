import pytest

from apps.core.errors import ValidationFailed
from apps.message_templates.rendering import (
    template_placeholders,
    template_render,
    template_send_components,
)

COMPONENTS = [
    {
        "type": "HEADER",
        "format": "TEXT",
        "text": "Order {{1}}",
        "example": {"header_text": ["A-1"]},
    },
    {
        "type": "BODY",
        "text": "Hi {{1}}, your order {{2}} has shipped.",
        "example": {"body_text": [["Ana", "A-1001"]]},
    },
    {"type": "FOOTER", "text": "Acme Inc."},
    {
        "type": "BUTTONS",
        "buttons": [
            {"type": "QUICK_REPLY", "text": "Thanks"},
            {"type": "URL", "text": "Track", "url": "https://acme.test/t/{{1}}", "example": ["X"]},
        ],
    },
]


def test_it_lists_placeholders_per_component():
    assert template_placeholders(COMPONENTS) == {
        "header": ["1"],
        "body": ["1", "2"],
        "buttons": {"1": ["1"]},
    }


def test_it_renders_with_values():
    rendered = template_render(
        components=COMPONENTS,
        values={
            "header": {"1": "B-7"},
            "body": {"1": "Jo", "2": "B-7"},
            "buttons": {"1": {"1": "B-7"}},
        },
    )
    assert rendered.header_text == "Order B-7"
    assert rendered.body == "Hi Jo, your order B-7 has shipped."
    assert rendered.footer == "Acme Inc."
    assert rendered.buttons == [
        {"type": "QUICK_REPLY", "text": "Thanks"},
        {"type": "URL", "text": "Track", "url": "https://acme.test/t/B-7"},
    ]


def test_a_preview_falls_back_to_the_examples():
    rendered = template_render(
        components=COMPONENTS, values={"body": {"1": "Jo"}}, use_examples=True
    )
    assert rendered.body == "Hi Jo, your order A-1001 has shipped."
    assert rendered.header_text == "Order A-1"


def test_a_missing_value_is_refused_never_sent_blank():
    with pytest.raises(ValidationFailed) as caught:
        template_render(
            components=COMPONENTS, values={"header": {"1": "x"}, "body": {"1": "Jo", "2": ""}}
        )
    assert caught.value.code == "lk_missing_variable"
    assert caught.value.field == "body.2"


def test_a_lenient_render_keeps_unfilled_placeholders():
    rendered = template_render(components=COMPONENTS, values={}, strict=False)
    assert rendered.body == "Hi {{1}}, your order {{2}} has shipped."


def test_send_components_are_in_metas_shape():
    result = template_send_components(
        components=COMPONENTS,
        values={
            "header": {"1": "B-7"},
            "body": {"1": "Jo", "2": "B-7"},
            "buttons": {"1": {"1": "B-7"}},
        },
    )
    assert result == [
        {"type": "header", "parameters": [{"type": "text", "text": "B-7"}]},
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "Jo"}, {"type": "text", "text": "B-7"}],
        },
        {
            "type": "button",
            "sub_type": "url",
            "index": "1",
            "parameters": [{"type": "text", "text": "B-7"}],
        },
    ]


def test_a_media_header_takes_the_media_id():
    components = [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["h"]}},
        {"type": "BODY", "text": "New arrivals"},
    ]
    assert template_send_components(components=components, values={"header": {"id": "123"}}) == [
        {"type": "header", "parameters": [{"type": "image", "image": {"id": "123"}}]}
    ]
    with pytest.raises(ValidationFailed):
        template_send_components(components=components, values={})
