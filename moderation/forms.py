"""The console's forms: every action asks for a reason; bulk ones carry a confirmation step."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms

from arena.models import Model
from moderation.selectors import AuditFilter
from moderation.services import REASON_MAX_CHARS


def _reason_field(label: str = "Reason") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=REASON_MAX_CHARS,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Written to the audit log with your name.",
        error_messages={"required": "Please give a reason: every action is logged with one."},
    )


class ReasonForm(forms.Form):
    reason = _reason_field()


class ResolveForm(forms.Form):
    resolution = _reason_field("How it was resolved")


class _LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class BulkInvalidateForm(forms.Form):
    """Every counted vote of a voter or address in a range; sent twice: first to see how many, then
    with `confirmed` to act."""

    since = forms.DateTimeField(
        required=False, widget=_LocalDateTimeInput(), help_text="Empty: from their first vote."
    )
    until = forms.DateTimeField(required=False, widget=_LocalDateTimeInput(), help_text="Empty: until now.")
    reason = _reason_field()
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since is not None and until is not None and since >= until:
            raise forms.ValidationError("The range ends before it starts; pick a later end.")
        return data


class BanForm(forms.Form):
    expires_at = forms.DateTimeField(
        label="Until",
        required=False,
        widget=_LocalDateTimeInput(),
        help_text="Empty: until a moderator lifts it.",
    )
    reason = _reason_field()
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput())

    def clean_expires_at(self) -> datetime | None:
        from django.utils import timezone

        expires_at: datetime | None = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("Pick a time in the future, or none.")
        return expires_at


class ModelStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Model.Status.choices)
    reason = _reason_field()


class AuditFilterForm(forms.Form):
    action = forms.CharField(required=False, max_length=40)
    actor = forms.CharField(required=False, max_length=254, label="Moderator's e-mail")
    target = forms.CharField(required=False, max_length=200, label="Target id")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"] = forms.ChoiceField(
            required=False, choices=[("", "Any action"), *((action, action) for action in actions)]
        )

    def filters(self) -> AuditFilter:
        """The filters as given; an invalid field is ignored (the form shows why)."""
        self.is_valid()
        data = self.cleaned_data
        since: date | None = data.get("since")
        until: date | None = data.get("until")
        return AuditFilter(
            action=data.get("action") or "",
            actor=(data.get("actor") or "").strip(),
            target=(data.get("target") or "").strip(),
            since=since,
            until=until,
        )
