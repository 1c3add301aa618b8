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
    # Perceptual hash (imagehash's pHash, 16 hex digits) of an image, checked against BannedImage.
    phash = models.CharField(max_length=16, blank=True)
    # A video's or audio file's length, read from its container (arena.media_av).
    duration_s = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind}:{self.sha256[:12]}"


class MediaRendition(models.Model):
    """What models read of a video or audio asset, derived once and reused (arena.video, arena.audio):
    `frames` (frame_count JPEGs; meta: timestamps, fps, duration, width, height) or `wav` (16 kHz
    mono PCM; meta: sample_rate, samples, duration). Its files lie under MEDIA_ROOT/renditions/."""

    class Kind(models.TextChoices):
        FRAMES = "frames", "Sampled frames"
        WAV = "wav", "16 kHz mono WAV"

    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="renditions")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # The number of frames of a `frames` rendition; 0 for `wav`.
    frame_count = models.PositiveSmallIntegerField(default=0)
    meta = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset", "kind", "frame_count"], name="rendition_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id[:12]}:{self.kind}:{self.frame_count}"


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
    # The content filters' reasons (arena.content_filters) when the battle was started or followed up:
    # a battle with any is in the moderators' queue until one reviews it (flags_reviewed_at).
    flags = ArrayField(models.CharField(max_length=120), default=list, blank=True)
    flags_reviewed_at = models.DateTimeField(null=True, blank=True)
    # A moderator (or a filter in block mode) blocked its prompt: its vote is stored but never counted.
    prompt_blocked_at = models.DateTimeField(null=True, blank=True)
    # Hidden by a moderator: left out of exports and not readable at its shared link.
    hidden_at = models.DateTimeField(null=True, blank=True)
    # Its prompts and images were erased (data retention, or a person's request); votes and counts stay.
    erased_at = models.DateTimeField(null=True, blank=True)

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
    # The name an attachment is served under: random, so that holding a picture tells nothing about
    # whether someone uploaded it (the content hash never leaves the server).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # A video's frame count, as the voter chose it (1-32): both sides see the same sampled frames.
    frames = models.PositiveSmallIntegerField(null=True, blank=True)

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


class Exclusion(models.TextChoices):
    """Why a stored vote is not counted (`Vote.exclusions`); arena.integrity decides them at vote time."""

    ANSWER_FAILED = "answer_failed", "An answer failed"
    IDENTITY_LEAK = "identity_leak", "An answer names a model or organisation"
    PROMPT_BLOCKED = "prompt_blocked", "The prompt was blocked by moderation"
    VOTER_BANNED = "voter_banned", "The voter is banned"
    IP_BANNED = "ip_banned", "The address is banned"
    DAILY_CAP = "daily_cap", "Over the daily vote cap"
    TOO_FAST = "too_fast", "Cast too soon after the answers finished"
    RETRIED = "retried", "The battle was retried with a new pair"
    DUPLICATE_PROMPT = "duplicate_prompt", "The prompt was already counted often enough"
    INVALIDATED = "invalidated", "Invalidated by a moderator"


class Vote(models.Model):
    class Source(models.TextChoices):
        ARENA = "arena", "Voted here"
        IMPORT = "import", "Imported history"

    battle = models.OneToOneField(Battle, on_delete=models.CASCADE, related_name="vote")
    winner = models.CharField(max_length=16, choices=Winner.choices)
    voter_id = models.CharField(max_length=64, db_index=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    # Counted: True exactly when `exclusions` is empty (a constraint). A vote is always stored; the
    # rules at vote time (arena.integrity) and moderators (Exclusion.INVALIDATED) exclude it instead.
    is_valid = models.BooleanField(default=True)
    exclusions = ArrayField(
        models.CharField(max_length=32, choices=Exclusion.choices), default=list, blank=True
    )
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

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_valid=True, exclusions=[])
                | (models.Q(is_valid=False) & ~models.Q(exclusions=[])),
                name="vote_counted_without_exclusions",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.battle_id}: {self.winner}"


class Report(models.Model):
    """A voter's report of a battle (the battle page's "Report" button), queued for moderators."""

    class Reason(models.TextChoices):
        HARMFUL = "harmful", "Harmful or abusive content"
        PERSONAL_DATA = "personal_data", "Personal data"
        IDENTITY = "identity", "An answer reveals the model"
        BROKEN = "broken", "Broken or wrong answer"
        OTHER = "other", "Something else"

    battle = models.ForeignKey(Battle, on_delete=models.CASCADE, related_name="reports")
    reporter_id = models.CharField(max_length=64)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    details = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.battle_id}: {self.reason}"


class Ban(models.Model):
    """A banned voter or address, by salted hash only (arena.identity); its votes stay stored, not counted."""

    class Kind(models.TextChoices):
        VOTER = "voter", "Voter"
        IP = "ip", "IP address"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    value_hash = models.CharField(max_length=64)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    # None: until lifted.
    expires_at = models.DateTimeField(null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "value_hash"], name="ban_lookup")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value_hash[:12]}"


class PromptCount(models.Model):
    """How many counted votes each normalised prompt has had (arena.integrity's duplicate cap)."""

    digest = models.CharField(max_length=64, primary_key=True)
    counted = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.digest[:12]}: {self.counted}"


class BannedImage(models.Model):
    """An image moderators banned: refused on upload when its stored bytes hash the same (exact) or
    its perceptual hash is within ARENA_IMAGE_BAN_DISTANCE bits (near copies)."""

    sha256 = models.CharField(max_length=64, unique=True)
    phash = models.CharField(max_length=16)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.sha256[:12]


class FlaggedVoter(models.Model):
    """A voter whose votes agree with the ratings improbably rarely (written by the outlier sweep above
    the arena). Their votes stay counted until a moderator acts; the board can leave them out."""

    voter_id = models.CharField(max_length=64, unique=True)
    votes = models.PositiveIntegerField()
    agreement = models.FloatField()  # share of decisive votes for the pair's expected winner
    z_score = models.FloatField()
    flagged_at = models.DateTimeField(auto_now=True)
    # Set when a moderator acted (invalidated, banned, or cleared the voter).
    reviewed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.voter_id}: z={self.z_score:.1f}"
