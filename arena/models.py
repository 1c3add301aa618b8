"""Arena data: the models that fight, battles, turns, answers and votes."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone


class Modality(models.TextChoices):
    TEXT = "text", "Text"
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    AUDIO = "audio", "Audio"


class AdapterKind(models.TextChoices):
    TRANSFORMERS = "transformers", "transformers (local)"
    OPENAI = "openai", "OpenAI-compatible HTTP"
    SCRIPTED = "scripted", "Scripted (demo, benchmarks, tests)"


def model_links_validate(value: object) -> None:
    """A model's links: a list of {"label": ..., "url": "http(s)://..."}; its public page shows them."""
    if not isinstance(value, list):
        raise ValidationError("Links must be a list of {label, url} objects.")
    for link in value:
        if not isinstance(link, dict) or set(link) != {"label", "url"}:
            raise ValidationError('Each link must be an object with exactly "label" and "url".')
        label, url = link["label"], link["url"]
        if not isinstance(label, str) or not label.strip():
            raise ValidationError("Each link needs a label.")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ValidationError(f"The link {label!r} must start with https:// or http://.")
        URLValidator(schemes=["http", "https"])(url)


class Model(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        RETIRED = "retired", "Retired"

    slug = models.SlugField(max_length=100, unique=True)
    display_name = models.CharField(max_length=200)
    organization = models.CharField(max_length=200, blank=True)
    license = models.CharField(max_length=100, blank=True)
    input_modalities = ArrayField(models.CharField(max_length=16, choices=Modality.choices), default=list)
    adapter_kind = models.CharField(max_length=32, choices=AdapterKind.choices)
    # Never holds secrets: API keys are named here by environment variable only.
    adapter_config = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    sampling_weight = models.FloatField(default=1.0)
    # A new model's boost (set by the portal when it enables one), multiplying its weight until it has
    # ARENA_NEW_MODEL_BOOST_VOTES counted votes; each snapshot lifts it for those that have.
    sampling_boost = models.FloatField(default=1.0)
    # Shown on the model's public page (/models/<slug>/): Markdown, rendered there sanitised.
    description = models.TextField(blank=True)
    links = models.JSONField(default=list, blank=True, validators=[model_links_validate])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sampling_weight__gte=0), name="model_sampling_weight_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(sampling_boost__gte=1), name="model_sampling_boost_at_least_one"
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class MediaAsset(models.Model):
    """An uploaded file, stored on disk once per content hash."""

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"
        AUDIO = "audio", "Audio"

    sha256 = models.CharField(max_length=64, primary_key=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    mime_type = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind}:{self.sha256[:12]}"


class Battle(models.Model):
    class Mode(models.TextChoices):
        # Drawn by the arena, names hidden until the vote: the only votes the anonymous board counts.
        BLIND = "blind", "Blind battle"
        # The playground (portal/playground): two models the voter chose, named throughout.
        SIDE_BY_SIDE = "side_by_side", "Named side by side"
        # The playground's direct chat: one chosen model (model_b is model_a), side "a" only, no vote.
        DIRECT = "direct", "Direct chat"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.BLIND)
    model_a = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="+")
    model_b = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="+")
    creator_id = models.CharField(max_length=64, db_index=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set once by `arena.services.battle_abandon`: its unfinished answers failed, no vote or turn after it.
    abandoned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(model_a=models.F("model_b")) | models.Q(mode="direct"),
                name="battle_models_distinct",
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)

    @property
    def named(self) -> bool:
        """The voter chose the models and saw their names: its vote is stored with anony=False."""
        return self.mode != self.Mode.BLIND

    @property
    def sides(self) -> list[str]:
        return [Side.A] if self.mode == self.Mode.DIRECT else list(Side.values)


class Turn(models.Model):
    battle = models.ForeignKey(Battle, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveSmallIntegerField()
    prompt = models.TextField()
    attachments = models.ManyToManyField(MediaAsset, through="TurnAttachment", related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["battle", "index"]
        constraints = [
            models.UniqueConstraint(fields=["battle", "index"], name="turn_unique_index"),
        ]

    def __str__(self) -> str:
        return f"{self.battle_id}#{self.index}"


class TurnAttachment(models.Model):
    turn = models.ForeignKey(Turn, on_delete=models.CASCADE)
    asset = models.ForeignKey(MediaAsset, on_delete=models.PROTECT)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["turn", "position"]
        constraints = [
            models.UniqueConstraint(fields=["turn", "position"], name="attachment_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.turn_id}@{self.position}"


class Side(models.TextChoices):
    A = "a", "A"
    B = "b", "B"


class Response(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        STREAMING = "streaming", "Streaming"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    FINISHED = (Status.DONE, Status.FAILED)

    turn = models.ForeignKey(Turn, on_delete=models.CASCADE, related_name="responses")
    side = models.CharField(max_length=1, choices=Side.choices)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    first_chunk_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Renewed by the streaming worker (arena.leases); one left unrenewed is failed by the expiry sweep.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["turn", "side"]
        constraints = [
            models.UniqueConstraint(fields=["turn", "side"], name="response_unique_side"),
        ]
        indexes = [
            # The sweep runs every few seconds and looks only at answers still in flight.
            models.Index(
                fields=["status", "heartbeat_at"],
                name="response_unfinished",
                condition=models.Q(status__in=["queued", "streaming"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.turn_id}/{self.side}: {self.status}"


class Winner(models.TextChoices):
    MODEL_A = "model_a", "Model A"
    MODEL_B = "model_b", "Model B"
    TIE = "tie", "Tie"
    TIE_BOTHBAD = "tie (bothbad)", "Tie (both bad)"


class Vote(models.Model):
    class Source(models.TextChoices):
        ARENA = "arena", "Voted here"
        IMPORT = "import", "Imported history"

    battle = models.OneToOneField(Battle, on_delete=models.CASCADE, related_name="vote")
    winner = models.CharField(max_length=16, choices=Winner.choices)
    voter_id = models.CharField(max_length=64, db_index=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    # Moderation (a later issue) marks votes invalid instead of deleting them.
    is_valid = models.BooleanField(default=True)
    # Historical votes imported from other arenas carry their own time and no battle pages,
    # so the time is a default (set by the import), not auto_now_add (which would overwrite it).
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    # Prompt categories (leaderboard.ratings.categories_label), labelled when the vote is cast.
    categories = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    # False for a named battle's vote (the playground) and for imported votes whose voter saw the names.
    anony = models.BooleanField(default=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.ARENA)
    # Imports only: identifies the imported battle so that importing a file again adds nothing twice.
    import_key = models.CharField(max_length=80, unique=True, null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.battle_id}: {self.winner}"
