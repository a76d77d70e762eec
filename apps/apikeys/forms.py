from __future__ import annotations

from datetime import datetime, time

from django import forms
from django.utils import timezone

from apps.apikeys.models import ApiKeyMode
from apps.apikeys.scopes import ALL_SCOPES, SCOPE_PRESETS

PRESET_CHOICES = [
    ("custom", "Choose scopes"),
    ("read_only", "Read only"),
    ("full_access", "Full access"),
]
GRACE_CHOICES = [
    ("0", "None: the old secret stops now"),
    ("1", "1 hour"),
    ("24", "24 hours"),
    ("72", "3 days"),
    ("168", "7 days"),
]


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “CRM sync”.")
    mode = forms.ChoiceField(
        choices=ApiKeyMode.choices,
        initial=ApiKeyMode.LIVE,
        widget=forms.RadioSelect,
        help_text="Test keys see this workspace's data, but every send goes to the sandbox.",
    )
    preset = forms.ChoiceField(choices=PRESET_CHOICES, initial="custom", widget=forms.RadioSelect)
    scopes = forms.MultipleChoiceField(
        choices=[(s, s) for s in ALL_SCOPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    ip_allowlist = forms.CharField(
        label="IP allowlist",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "203.0.113.0/24\n2001:db8::/32"}),
        help_text="Addresses or CIDR ranges, one per line. Empty: any address.",
    )
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The key stops working at the start of that day.",
    )

    def clean(self):
        data = super().clean()
        preset = data.pop("preset", None)
        if preset in SCOPE_PRESETS:
            data["scopes"] = list(SCOPE_PRESETS[preset])
        raw = data.get("ip_allowlist") or ""
        data["ip_allowlist"] = [p.strip() for p in raw.replace(",", "\n").splitlines() if p.strip()]
        expires_on = data.pop("expires_on", None)
        data["expires_at"] = (
            timezone.make_aware(datetime.combine(expires_on, time.min)) if expires_on else None
        )
        return data


class ApiKeyRotateForm(forms.Form):
    grace_period_hours = forms.TypedChoiceField(
        label="Keep the old secret working for",
        choices=GRACE_CHOICES,
        coerce=int,
        initial="24",
    )
