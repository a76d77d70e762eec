"""Meta's template rules, one by one."""

from __future__ import annotations

import pytest

from apps.core.errors import ValidationFailed
from apps.message_templates.validation import template_problems, template_validate


def body(text: str, *examples: str) -> dict:
    component = {"type": "BODY", "text": text}
    if examples:
        component["example"] = {"body_text": [list(examples)]}
    return component


def problems(components=None, **fields) -> list[dict[str, str]]:
    values = {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": components if components is not None else [body("Hello there")],
    }
    values.update(fields)
    return template_problems(**values)


def fields_of(items) -> list[str]:
    return [item["field"] for item in items]


def test_a_valid_template_has_no_problem():
    components = [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Order {{1}}",
            "example": {"header_text": ["A1"]},
        },
        body("Hi {{1}}, your order {{2}} has shipped.", "Ana", "A-1001"),
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Track",
                    "url": "https://acme.test/t/{{1}}",
                    "example": ["A1"],
                },
                {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+14155550123"},
            ],
        },
    ]
    assert problems(components) == []
    template_validate(name="ok", language="en", category="MARKETING", components=components)


@pytest.mark.parametrize("name", ["Order", "order-update", "order update", "ordér", ""])
def test_the_name_is_lowercase_letters_digits_and_underscores(name):
    assert "name" in fields_of(problems(name=name))


def test_the_name_is_at_most_512_characters():
    assert problems(name="a" * 512) == []
    assert fields_of(problems(name="a" * 513)) == ["name"]


@pytest.mark.parametrize("language", ["english", "EN", "en-US", ""])
def test_the_language_is_a_whatsapp_code(language):
    assert fields_of(problems(language=language)) == ["language"]


def test_the_category_is_one_of_three():
    assert fields_of(problems(category="PROMO")) == ["category"]


def test_a_body_is_required():
    assert "components" in fields_of(problems([{"type": "FOOTER", "text": "x"}]))


def test_the_body_is_at_most_1024_characters():
    assert problems([body("x" * 1024)]) == []
    assert fields_of(problems([body("x" * 1025)])) == ["components.0.text"]


def test_placeholders_are_numbered_without_gaps():
    result = problems([body("Hi {{1}} and {{3}} ok", "a", "b")])
    assert any("without gaps" in p["message"] for p in result)


def test_placeholders_appear_in_order():
    result = problems([body("Hi {{2}} and {{1}} ok", "a", "b")])
    assert any("in order" in p["message"] for p in result)


def test_placeholders_are_numbers():
    result = problems([body("Hi {{name}} ok", "a")])
    assert any("numbers" in p["message"] for p in result)


def test_placeholders_cannot_be_adjacent():
    result = problems([body("Hi {{1}} {{2}} ok", "a", "b")])
    assert any("next to each other" in p["message"] for p in result)


def test_the_body_cannot_start_with_a_placeholder():
    result = problems([body("{{1}}, your order shipped", "Ana")])
    assert any("cannot start" in p["message"] for p in result)


def test_the_body_cannot_end_with_a_placeholder():
    result = problems([body("Your order is {{1}}", "A1")])
    assert any("cannot end" in p["message"] for p in result)


def test_every_placeholder_needs_an_example():
    assert fields_of(problems([body("Hi {{1}}, order {{2}} ok", "Ana")])) == [
        "components.0.example"
    ]
    assert fields_of(problems([body("Hi {{1}}, ok")])) == ["components.0.example"]
    assert fields_of(problems([body("Hi {{1}}, ok", " ")])) == ["components.0.example"]


def test_the_header_text_is_at_most_60_characters_with_one_placeholder():
    long_header = {"type": "HEADER", "format": "TEXT", "text": "x" * 61}
    assert "components.0.text" in fields_of(problems([long_header, body("Hi")]))
    two = {
        "type": "HEADER",
        "format": "TEXT",
        "text": "{{1}} {{2}}",
        "example": {"header_text": ["a", "b"]},
    }
    assert "components.0.text" in fields_of(problems([two, body("Hi")]))


def test_a_media_header_needs_a_sample():
    image = {"type": "HEADER", "format": "IMAGE"}
    assert "components.0.example" in fields_of(problems([image, body("Hi")]))
    image["example"] = {"header_handle": ["4::aW1hZ2U="]}
    assert problems([image, body("Hi")]) == []


def test_the_header_format_is_known():
    assert "components.0.format" in fields_of(
        problems([{"type": "HEADER", "format": "GIF"}, body("Hi")])
    )


def test_the_footer_is_at_most_60_characters_without_placeholders():
    assert "components.1.text" in fields_of(
        problems([body("Hi"), {"type": "FOOTER", "text": "x" * 61}])
    )
    assert "components.1.text" in fields_of(
        problems([body("Hi"), {"type": "FOOTER", "text": "Hi {{1}}"}])
    )


def test_components_appear_once_each():
    assert "components.1.type" in fields_of(problems([body("Hi"), body("Again")]))


def buttons(*items) -> list[dict]:
    return [body("Hi"), {"type": "BUTTONS", "buttons": list(items)}]


def quick(text="Yes"):
    return {"type": "QUICK_REPLY", "text": text}


def test_at_most_ten_buttons():
    assert problems(buttons(*[quick(f"b{n}") for n in range(10)])) == []
    assert "components.1.buttons" in fields_of(
        problems(buttons(*[quick(f"b{n}") for n in range(11)]))
    )


def test_a_button_label_is_at_most_25_characters():
    assert "components.1.buttons.0.text" in fields_of(problems(buttons(quick("x" * 26))))


def test_at_most_two_url_buttons_and_one_phone_button():
    url = {"type": "URL", "text": "Go", "url": "https://acme.test"}
    phone = {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+14155550123"}
    assert "components.1.buttons" in fields_of(problems(buttons(url, url, url)))
    assert "components.1.buttons" in fields_of(problems(buttons(phone, phone)))


def test_quick_replies_are_grouped():
    url = {"type": "URL", "text": "Go", "url": "https://acme.test"}
    assert "components.1.buttons" in fields_of(problems(buttons(quick("a"), url, quick("b"))))


def test_a_url_button_has_one_placeholder_at_its_end_with_an_example():
    middle = {"type": "URL", "text": "Go", "url": "https://acme.test/{{1}}/x", "example": ["a"]}
    assert "components.1.buttons.0.url" in fields_of(problems(buttons(middle)))
    no_example = {"type": "URL", "text": "Go", "url": "https://acme.test/{{1}}"}
    assert "components.1.buttons.0.example" in fields_of(problems(buttons(no_example)))
    bad_url = {"type": "URL", "text": "Go", "url": "acme.test"}
    assert "components.1.buttons.0.url" in fields_of(problems(buttons(bad_url)))


def test_a_phone_button_needs_a_number():
    phone = {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "call us"}
    assert "components.1.buttons.0.phone_number" in fields_of(problems(buttons(phone)))


def test_a_copy_code_example_is_at_most_15_characters():
    assert problems(buttons({"type": "COPY_CODE", "example": "SPRING25"})) == []
    long_code = {"type": "COPY_CODE", "example": "x" * 16}
    assert "components.1.buttons.0.example" in fields_of(problems(buttons(long_code)))


def test_validate_raises_every_problem_in_details():
    with pytest.raises(ValidationFailed) as caught:
        template_validate(name="Bad Name", language="xx-YY", category="X", components=[])
    assert caught.value.status == 422
    assert {"name", "language", "category", "components"} <= set(fields_of(caught.value.details))
