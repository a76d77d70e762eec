from django import forms

from apps.webhooks.events import SUBSCRIBABLE_EVENT_TYPES
from apps.webhooks.models import DeliveryStatus


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=2000,
        help_text="Your receiver's HTTPS address. Internal and private addresses are refused.",
        widget=forms.TextInput(attrs={"placeholder": "https://example.com/lynkist/webhooks"}),
    )
    description = forms.CharField(max_length=500, required=False)
    all_events = forms.BooleanField(
        label="Send every event type (including types added later)", required=False
    )
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in sorted(SUBSCRIBABLE_EVENT_TYPES)],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("all_events") and not cleaned.get("event_types"):
            raise forms.ValidationError("Choose the events to send, or send every event type.")
        return cleaned

    def chosen_event_types(self) -> list[str]:
        return [] if self.cleaned_data["all_events"] else self.cleaned_data["event_types"]


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *DeliveryStatus.choices], required=False
    )
    event_type = forms.ChoiceField(
        choices=[("", "Any event"), *[(t, t) for t in sorted(SUBSCRIBABLE_EVENT_TYPES)],
                 ("webhook.test", "webhook.test")],
        required=False,
    )  # fmt: skip
