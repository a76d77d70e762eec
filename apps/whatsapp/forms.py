from django import forms

from apps.whatsapp.models import DEFAULT_THROUGHPUT
from apps.whatsapp.services import MAX_THROUGHPUT


class CloudAccountForm(forms.Form):
    waba_id = forms.CharField(
        label="WhatsApp Business Account id", max_length=64, help_text="In WhatsApp Manager."
    )
    phone_number_id = forms.CharField(
        label="Phone number id", max_length=64, help_text="Not the phone number itself."
    )
    display_phone_number = forms.CharField(
        label="Display number", max_length=32, required=False, help_text="e.g. +1 555 010 2922"
    )
    access_token = forms.CharField(
        label="Access token",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="A permanent system-user token. Stored encrypted; never shown again.",
    )
    throughput_per_second = forms.IntegerField(
        label="Throughput (messages per second)",
        min_value=1,
        max_value=MAX_THROUGHPUT,
        initial=DEFAULT_THROUGHPUT,
        help_text="Meta's tier for this number; 80 unless Meta raised it.",
    )
