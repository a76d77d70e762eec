"""Page forms. They only shape input; the services validate and decide, and their errors are
put back on the matching field."""

from __future__ import annotations

import json

from django import forms

from apps.contacts.models import OnExisting, SourceKind
from apps.core.errors import ApplicationError


def add_service_error(form: forms.Form, error: ApplicationError, *, aliases=None) -> None:
    field = (aliases or {}).get(error.field, error.field)
    form.add_error(field if field in form.fields else None, error.message)


class ContactForm(forms.Form):
    first_name = forms.CharField(max_length=255)
    last_name = forms.CharField(max_length=255, required=False)
    phone = forms.CharField(
        max_length=40, required=False, help_text="International format, e.g. +91 99999 99999."
    )
    email = forms.CharField(max_length=254, required=False, label="E-mail")
    company = forms.CharField(max_length=255, required=False)
    job_title = forms.CharField(max_length=255, required=False)
    status = forms.CharField(
        max_length=64, required=False, help_text="Free-form: lead, customer, active..."
    )
    tags = forms.CharField(required=False, help_text="Separate tags with commas.")
    source_id = forms.ChoiceField(required=False, label="Source")

    def __init__(self, *args, sources=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source_id"].choices = [("", "None")] + [(str(s.pk), s.name) for s in sources]

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["tags"] = data.get("tags") or ""
        return data


class TagsForm(forms.Form):
    tags = forms.CharField(required=False)


class CustomFieldsForm(forms.Form):
    """Custom fields edited as `key: value` lines, or a JSON object."""

    custom_fields = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))

    def clean_custom_fields(self) -> dict:
        text = self.cleaned_data["custom_fields"].strip()
        if not text:
            return {}
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError as error:
                raise forms.ValidationError("This is not valid JSON.") from error
            if not isinstance(value, dict):
                raise forms.ValidationError("Enter a JSON object.")
            return value
        fields = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, value = line.partition(":")
            if not sep or not key.strip():
                raise forms.ValidationError(f"Line {number} is not “name: value”.")
            fields[key.strip()] = value.strip()
        return fields


class NoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Note")


class BulkActionForm(forms.Form):
    ACTIONS = [
        ("add_to_group", "Add to group"),
        ("remove_from_group", "Remove from group"),
        ("add_tag", "Add tag"),
        ("remove_tag", "Remove tag"),
        ("archive", "Archive"),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    contact_ids = forms.MultipleChoiceField(required=True)
    group_id = forms.CharField(required=False)
    tag = forms.CharField(required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any submitted id is accepted here; the service ignores ids of no live contact.
        self.fields["contact_ids"].choices = (
            [(value, value) for value in self.data.getlist("contact_ids")]
            if hasattr(self.data, "getlist")
            else []
        )


class GroupForm(forms.Form):
    name = forms.CharField(max_length=255)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class SourceForm(forms.Form):
    name = forms.CharField(max_length=255)
    kind = forms.ChoiceField(choices=SourceKind.choices, initial=SourceKind.FORM)


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="CSV file")


class ImportOptionsForm(forms.Form):
    on_existing = forms.ChoiceField(
        choices=OnExisting.choices,
        initial=OnExisting.UPDATE,
        label="When a phone number already belongs to a contact",
    )
    group_id = forms.ChoiceField(required=False, label="Add every imported contact to a group")
    new_group = forms.CharField(required=False, max_length=255, label="…or a new group named")
    source_id = forms.ChoiceField(required=False, label="Record the source as")

    def __init__(self, *args, groups=(), sources=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group_id"].choices = [("", "No group")] + [(str(g.pk), g.name) for g in groups]
        self.fields["source_id"].choices = [("", "A new source for this import")] + [
            (str(s.pk), s.name) for s in sources
        ]
