import zoneinfo

from django import forms

from apps.tenancy.models import Role

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


class WorkspaceForm(forms.Form):
    name = forms.CharField(max_length=120)
    timezone = forms.ChoiceField(
        choices=TIMEZONE_CHOICES,
        help_text="Scheduled campaigns and reports use this time zone.",
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MARKETER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
