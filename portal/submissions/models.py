"""A submitted model and every status it went through."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from arena.models import Modality, Model, model_links_validate


class Submission(models.Model):
    class Status(models.TextChoices):
        CHECKING = "checking", "Checking"
        PENDING = "pending", "Waiting for approval"
        REFUSED = "refused", "Refused by the checks"
        APPROVED = "approved", "Approved, waiting for evaluation"
        REJECTED = "rejected", "Rejected"
        EVALUATING = "evaluating", "Evaluating"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Kind(models.TextChoices):
        CHECKPOINT = "checkpoint", "transformers checkpoint"
        ENDPOINT = "endpoint", "OpenAI-compatible endpoint"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions"
    )
    # The arena model's slug, chosen at submit and kept through updates.
    slug = models.SlugField(max_length=100, unique=True)
    display_name = models.CharField(max_length=200)
    organization = models.CharField(max_length=200)
    license = models.CharField(max_length=100)
    description = models.TextField()  # the model card, Markdown
    links = models.JSONField(default=list, blank=True, validators=[model_links_validate])
    input_modalities = ArrayField(models.CharField(max_length=16, choices=Modality.choices), default=list)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # A checkpoint: a local path or a hub id, the revision asked for and the commit it resolved to.
    source = models.CharField(max_length=500, blank=True)
    revision = models.CharField(max_length=200, blank=True)
    commit = models.CharField(max_length=64, blank=True)
    dtype = models.CharField(max_length=16, blank=True)
    # An endpoint. The API key only ever encrypted (workers.secrets), never shown again.
    base_url = models.CharField(max_length=500, blank=True)
    endpoint_model = models.CharField(max_length=200, blank=True)
    api_key_encrypted = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CHECKING)
    # Why it was refused, rejected or failed: a sentence the submitter sees.
    reason = models.TextField(blank=True)
    # The end of the evaluation's log, for the submitter and staff.
    log_tail = models.TextField(blank=True)
    # The evaluating step's progress (done, total, eta_s, url of the run's page), written by evaluation
    # (a layer above) as its run goes on, so this page shows it without reading evaluation's runs.
    evaluation_progress = models.JSONField(default=dict, blank=True)
    # What the checks found (parameters, architecture, the endpoint's answer time, ...).
    report = models.JSONField(default=dict, blank=True)
    model = models.ForeignKey(Model, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    enabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "status_changed_at"])]

    def __str__(self) -> str:
        return f"{self.slug} ({self.status})"


class SubmissionEvent(models.Model):
    """One status change, kept for good: who made it, when and why."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=16, choices=Submission.Status.choices)
    previous = models.CharField(max_length=16, choices=Submission.Status.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.submission_id}: {self.previous or '-'} -> {self.status}"
