"""Stored benchmark runs: one `EvaluationRun` per model and benchmark asked, and one `ItemPrediction` per
prompt as soon as it is scored, so that a run interrupted anywhere resumes from what is stored."""

from __future__ import annotations

import uuid

from django.db import models

from arena.models import Model
from evaluation.metrics import ItemResult
from portal.submissions.models import Submission


class EvaluationRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="evaluation_runs")
    # The submission whose evaluating step this run is, told of the verdict when the run ends.
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="evaluation_runs"
    )
    benchmark = models.CharField(max_length=100)
    version = models.CharField(max_length=100)
    # The hash of the items this run asks (its `limit` applied): a run never mixes two item lists.
    items_sha256 = models.CharField(max_length=64)
    limit = models.PositiveIntegerField(null=True, blank=True)
    # The conditions asked (evaluation.conditions), the standard one first: only it, without analyses.
    conditions = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    chunk_size = models.PositiveIntegerField()
    chunks_total = models.PositiveIntegerField()
    items_total = models.PositiveIntegerField(default=0)
    prompts_total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["model", "benchmark", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.benchmark} on {self.model_id} ({self.status})"


class ItemPrediction(models.Model):
    """One asked prompt's answer and its scoring: an `ItemResult` with the item's place in the run."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="predictions")
    item_index = models.PositiveIntegerField()
    item_id = models.CharField(max_length=200)
    condition = models.CharField(max_length=40, default="standard")
    # The prompt's place among its item's (conditions in run order, rotations in order): the order asked.
    position = models.PositiveSmallIntegerField(default=0)
    rotation = models.PositiveSmallIntegerField(default=0)
    category = models.CharField(max_length=100)
    prediction = models.TextField()
    # None is "the rules read nothing", which an empty reading would not say.
    extracted = models.TextField(null=True, blank=True)  # noqa: DJ001
    correct = models.BooleanField()
    references = models.JSONField(default=list)
    # Each option's probability, where the inferencer yields them (likelihood); None otherwise.
    probabilities = models.JSONField(null=True, blank=True)
    option_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "item_index", "position", "rotation"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "item_id", "condition", "rotation"], name="prediction_once_per_prompt"
            )
        ]
        indexes = [models.Index(fields=["run", "item_index", "position", "rotation"])]

    def __str__(self) -> str:
        return f"{self.item_id}@{self.rotation} ({self.condition})"

    def result(self) -> ItemResult:
        return ItemResult(
            item_id=self.item_id,
            category=self.category,
            prediction=self.prediction,
            extracted=self.extracted,
            correct=self.correct,
            references=tuple(self.references),
            rotation=self.rotation,
            probabilities=None if self.probabilities is None else tuple(self.probabilities),
            option_count=self.option_count,
        )


class LanguageBase(models.Model):
    """The text-only language model a vision-language model was built on, registered by staff, whose
    score without images is MMStar's S_t: the leakage of `model` is measured against it."""

    model = models.OneToOneField(Model, on_delete=models.CASCADE, related_name="language_base")
    base = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="language_base_of")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.model_id} on {self.base_id}"
