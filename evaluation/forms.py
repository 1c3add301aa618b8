"""The staff runs page's form: which model, which benchmark, how many items, with analyses or not."""

from __future__ import annotations

from django import forms

from arena.models import Model
from evaluation.benchmarks import BENCHMARKS


class RunStartForm(forms.Form):
    model = forms.ModelChoiceField(
        queryset=Model.objects.order_by("slug"), to_field_name="slug", empty_label=None
    )
    benchmark = forms.ChoiceField(choices=[(name, name) for name in sorted(BENCHMARKS)])
    limit = forms.IntegerField(
        required=False, min_value=1, max_value=1_000_000, help_text="Leave empty for every item."
    )
    analyses = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Also ask each item without its image and question, in other wordings, corrupted.",
    )
