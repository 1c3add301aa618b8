"""What a submission must be before it is accepted: each refusal a sentence that says what to change."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import slugify

from arena.models import Modality, Model, model_links_validate
from core.errors import Conflict, InvalidInput, TooManyRequests
from portal.submissions.models import Submission

# Submissions that hold their source or endpoint: a refused, rejected or withdrawn one frees it.
_HOLDING = (
    Submission.Status.CHECKING,
    Submission.Status.PENDING,
    Submission.Status.APPROVED,
    Submission.Status.EVALUATING,
    Submission.Status.FINISHED,
    Submission.Status.FAILED,
)
_DTYPES = ("auto", "float32", "float16", "bfloat16")


def text_field(data: dict[str, Any], key: str, *, label: str, most: int, required: bool = True) -> str:
    value = data.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"The {label} must be text.")
    value = value.strip()
    if "\x00" in value:
        raise InvalidInput(f"The {label} contains a NUL character; remove it.")
    if required and not value:
        raise InvalidInput(f"Please give the {label}.")
    if len(value) > most:
        raise InvalidInput(f"The {label} is {len(value)} characters long; the limit is {most}.")
    return value


def card_check(*, description: str, license: str) -> None:
    """A model card long enough to tell voters what the model is, and a licence."""
    if not license:
        raise InvalidInput("Please name the model's licence (for example apache-2.0, mit or llama3.2).")
    least = settings.PORTAL_CARD_MIN_CHARS
    if len(description) < least:
        raise InvalidInput(
            f"The model card is {len(description)} characters long; please write at least {least}: "
            "what the model is, what it was trained on, and what it is for."
        )


def name_check(*, display_name: str, slug: str, own_model_id: int | None = None) -> None:
    """Refuse a name on the blocklist, or one an arena model already has."""
    words = [word.strip().lower() for word in settings.PORTAL_NAME_BLOCKLIST if word.strip()]
    lowered = display_name.lower()
    for word in words:
        if re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", lowered):
            raise InvalidInput(f"The name {display_name!r} uses {word!r}, which submissions may not use.")
    taken = Model.objects.filter(display_name__iexact=display_name) | Model.objects.filter(slug=slug)
    if own_model_id is not None:
        taken = taken.exclude(pk=own_model_id)
    if taken.exists():
        raise Conflict(f"A model named {display_name!r} is already in the arena; please choose another name.")


def slug_choose(*, display_name: str, kind: str) -> str:
    """A slug for the arena model: the name's after a prefix per kind (so that workers' `--models`
    patterns can host submitted endpoints and checkpoints apart), unique among models and submissions."""
    prefix = settings.PORTAL_SLUG_PREFIXES[kind]
    base = f"{prefix}{slugify(display_name)[:80] or 'model'}"
    slug, n = base, 1
    while Model.objects.filter(slug=slug).exists() or Submission.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def rate_check(*, user: Any) -> None:
    """At most PORTAL_SUBMISSIONS_PER_WEEK submissions per user over any 7 days; staff are not limited."""
    if getattr(user, "is_staff", False):
        return
    most = settings.PORTAL_SUBMISSIONS_PER_WEEK
    since = timezone.now() - timedelta(days=7)
    recent = list(
        Submission.objects.filter(submitter=user, created_at__gte=since)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    if len(recent) >= most:
        free_at = recent[len(recent) - most] + timedelta(days=7)
        wait_s = max(1, int((free_at - timezone.now()).total_seconds()))
        raise TooManyRequests(
            f"You have made {len(recent)} submissions in the last 7 days, the most allowed; "
            f"you can submit again on {timezone.localtime(free_at):%d %b %Y at %H:%M %Z}.",
            retry_after_s=wait_s,
        )


def base_url_clean(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            "The endpoint's base URL must start with http:// or https:// and name a host, "
            "for example https://models.example.org/v1."
        )
    if parts.username or parts.password:
        raise InvalidInput("Put the API key in its own field, not in the endpoint's URL.")
    return value.rstrip("/")


def duplicate_check(
    *, kind: str, source: str, revision: str, base_url: str, endpoint_model: str, exclude_id: Any = None
) -> None:
    """Refuse the same checkpoint and revision, or the same endpoint and model name, submitted twice."""
    holding = Submission.objects.filter(status__in=_HOLDING, kind=kind)
    if exclude_id is not None:
        holding = holding.exclude(pk=exclude_id)
    if kind == Submission.Kind.CHECKPOINT:
        same = holding.filter(source=source, revision=revision).first()
        what = f"{source} at revision {revision or 'main'}"
    else:
        same = holding.filter(base_url=base_url, endpoint_model=endpoint_model).first()
        what = f"the model {endpoint_model} at {base_url}"
    if same is not None:
        standing = same.get_status_display().lower()
        raise Conflict(f"{what} has already been submitted (as {same.display_name}, {standing}).")


def modalities_clean(value: object) -> list[str]:
    if value is None:
        return [Modality.TEXT]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput('The input modalities must be a list such as ["text", "image"].')
    known = {choice.value for choice in Modality}
    unknown = [item for item in value if item not in known]
    if unknown:
        raise InvalidInput(f"Unknown input modality {unknown[0]!r}; choose from {', '.join(sorted(known))}.")
    return sorted({Modality.TEXT, *value})


def links_clean(value: object) -> list[Any]:
    value = [] if value is None else value
    try:
        model_links_validate(value)
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages)) from None
    assert isinstance(value, list)
    return value


def fields_clean(*, data: dict[str, Any], kind: str | None = None) -> dict[str, Any]:
    """The submission's fields from a form or an API body, each checked; raises InvalidInput."""
    kind = kind or data.get("kind")
    if kind not in Submission.Kind.values:
        raise InvalidInput(
            'Say how the model runs: kind "checkpoint" (a transformers checkpoint) or "endpoint".'
        )
    fields: dict[str, Any] = {
        "kind": kind,
        "display_name": text_field(data, "display_name", label="model's name", most=200),
        "organization": text_field(data, "organization", label="organization", most=200),
        "license": text_field(data, "license", label="licence", most=100, required=False),
        "description": text_field(data, "description", label="model card", most=50_000, required=False),
        "links": links_clean(data.get("links")),
        "input_modalities": modalities_clean(data.get("input_modalities")),
    }
    fields.update(run_fields_clean(data=data, kind=kind))
    return fields


def run_fields_clean(*, data: dict[str, Any], kind: str) -> dict[str, Any]:
    """How the model runs: a checkpoint's source, revision and dtype, or an endpoint's URL, model and key."""
    if kind == Submission.Kind.CHECKPOINT:
        dtype = text_field(data, "dtype", label="dtype", most=16, required=False) or "auto"
        if dtype not in _DTYPES:
            raise InvalidInput(f"The dtype {dtype!r} is not one of {', '.join(_DTYPES)}.")
        return {
            "source": text_field(data, "source", label="checkpoint (a local path or a hub id)", most=500),
            "revision": text_field(data, "revision", label="revision", most=200, required=False),
            "dtype": dtype,
        }
    return {
        "base_url": base_url_clean(text_field(data, "base_url", label="endpoint's base URL", most=500)),
        "endpoint_model": text_field(data, "model", label="model name the endpoint serves", most=200),
        "api_key": text_field(data, "api_key", label="API key", most=500, required=False),
    }


def modalities_label(modalities: Sequence[str]) -> str:
    return " and ".join(modalities)
