"""The submission form: its fields as people fill them in; portal.submissions.rules checks the rest."""

from __future__ import annotations

from typing import Any

from django import forms

from portal.submissions.models import Submission

_TEXTAREA = {"rows": 10}


class SubmissionForm(forms.Form):
    display_name = forms.CharField(label="Model name", max_length=200)
    organization = forms.CharField(label="Organization", max_length=200)
    license = forms.CharField(
        label="Licence", max_length=100, help_text="For example apache-2.0, mit or llama3.2."
    )
    description = forms.CharField(
        label="Model card",
        widget=forms.Textarea(attrs=_TEXTAREA),
        help_text="Markdown: what the model is, what it was trained on, what it is for. Shown on its page.",
    )
    links = forms.CharField(
        label="Links",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: a label, then its address. For example: Paper https://arxiv.org/abs/…",
    )
    reads_images = forms.BooleanField(label="The model reads images", required=False, initial=True)
    kind = forms.ChoiceField(
        label="How it runs", choices=Submission.Kind.choices, widget=forms.RadioSelect, initial="endpoint"
    )
    source = forms.CharField(
        label="Checkpoint",
        required=False,
        max_length=500,
        help_text="A transformers checkpoint: a local path on the workers, or a hub id in their local cache.",
    )
    revision = forms.CharField(
        label="Revision",
        required=False,
        max_length=200,
        help_text="A branch, tag or commit; pinned to its commit.",
    )
    dtype = forms.ChoiceField(
        label="dtype",
        required=False,
        choices=[(value, value) for value in ("auto", "bfloat16", "float16", "float32")],
    )
    base_url = forms.CharField(
        label="Endpoint base URL",
        required=False,
        max_length=500,
        help_text="An OpenAI-compatible server (vLLM, SGLang, transformers serve, a hosted API), e.g. https://host/v1.",
    )
    model = forms.CharField(label="Model name at the endpoint", required=False, max_length=200)
    api_key = forms.CharField(
        label="API key",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown again, to you or anyone.",
    )

    def submission_data(self) -> dict[str, Any]:
        """The cleaned fields in the shape `submission_create` takes (the API's body)."""
        data = dict(self.cleaned_data)
        links = []
        for line in (data.pop("links") or "").splitlines():
            label, _, url = line.strip().rpartition(" ")
            if line.strip():
                links.append({"label": label.strip() or url, "url": url})
        data["links"] = links
        data["input_modalities"] = ["text", "image"] if data.pop("reads_images") else ["text"]
        return data
