"""Leaderboard data: the live online Elo, the arena's vote counts and rating snapshots, General-Level
tasks and scores."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from arena.models import Model, Vote, Winner
from leaderboard.boards.arena.categories import CATEGORIES, CATEGORY_LABELS
from leaderboard.ratings.online_elo import ELO_START


class OnlineRating(models.Model):
    model = models.OneToOneField(Model, on_delete=models.CASCADE, related_name="online_rating")
    rating = models.FloatField(default=ELO_START)
    battles = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-rating"]

    def __str__(self) -> str:
        return f"{self.model_id}: {self.rating:.1f}"


class Task(models.Model):
    """A General-Bench task the General-Level is computed over, with the specialist's score to beat."""

    class Modality(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"
        AUDIO = "audio", "Audio"
        THREE_D = "3d", "3D"
        NLP = "nlp", "Language"

    class Group(models.TextChoices):
        COMPREHENSION = "comprehension", "Comprehension"
        GENERATION = "generation", "Generation"

    name = models.CharField(max_length=200)
    modality = models.CharField(max_length=8, choices=Modality.choices)
    # Null, not "": language tasks have no group (the paper's S_L); the check below ties the two.
    group = models.CharField(max_length=16, choices=Group.choices, null=True, blank=True)  # noqa: DJ001
    metric = models.CharField(max_length=100)
    sota = models.FloatField(help_text="The specialist's raw score in the task's own metric.")
    source = models.TextField(blank=True, help_text="Where the task and its SoTA come from.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["modality", "group", "id"]
        constraints = [
            # nulls_distinct=False: two language tasks of the same name are the same task.
            models.UniqueConstraint(
                fields=["name", "modality", "group"], name="task_unique_name", nulls_distinct=False
            ),
            models.CheckConstraint(
                condition=models.Q(modality="nlp", group__isnull=True)
                | (~models.Q(modality="nlp") & models.Q(group__isnull=False)),
                name="task_group_unless_language",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.modality}/{self.group or '-'}/{self.name}"


class TaskScore(models.Model):
    """One model's raw score on one task; null means the model does not support the task.

    `model` is null for a model that is not (yet) in the arena: published results often cover
    models nobody hosts here, and the board still ranks them under `model_name`.
    """

    class Source(models.TextChoices):
        EVALUATION = "evaluation", "Evaluation run"
        IMPORT = "import", "Imported file"

    model = models.ForeignKey(
        Model, null=True, blank=True, on_delete=models.PROTECT, related_name="general_level_scores"
    )
    model_name = models.CharField(max_length=200, help_text="The name the score was published under.")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="scores")
    score = models.FloatField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    source_detail = models.CharField(max_length=300, blank=True, help_text="e.g. the imported file's name.")
    evaluation_run_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["task", "model_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "task"],
                condition=models.Q(model__isnull=False),
                name="taskscore_unique_model",
            ),
            models.UniqueConstraint(
                fields=["model_name", "task"],
                condition=models.Q(model__isnull=True),
                name="taskscore_unique_unlisted_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_name} on {self.task_id}: {self.score}"


class RatingSnapshot(models.Model):
    """The arena's Bradley-Terry leaderboard at one moment, for every prompt category.

    `results` maps a category ("overall", "image", "ocr", …) to `LeaderboardResult.to_dict()` over
    that category's counted votes: rows (rating, interval, ranks, online Elo, battles, win rate),
    matrices and the settings used. Rows name models by slug; `model_info` keeps each model's
    public metadata as it was, so an exported snapshot reads the same later. Older snapshots lose
    their matrices (`matrices_pruned`) and keep their rows, which is all the rating history needs.
    """

    version = models.PositiveIntegerField(unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    vote_count = models.PositiveIntegerField(
        help_text="Counted votes (valid, and anonymous if so set): the overall total of the vote counts read."
    )
    last_vote_id = models.BigIntegerField(
        default=0, help_text="The highest vote id in the vote counts read (MAX of their last_vote_id)."
    )
    last_vote_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the vote counts read last changed, by a vote or an invalidation "
        "(MAX of their updated_at); not the time of the last vote itself.",
    )
    results = models.JSONField(default=dict)
    # Votes per category, small enough to list tabs and history without reading `results`.
    category_votes = models.JSONField(default=dict)
    model_info = models.JSONField(default=dict)
    # The same per category with style control on (`style_results`, matrices left out): fitted on the
    # newest LEADERBOARD_STYLE_MAX_VOTES votes, and carried over from an earlier snapshot between refits
    # (`settings["style"]` says which snapshot fitted it and over how many votes).
    style_results = models.JSONField(default=dict)
    settings = models.JSONField(default=dict)
    compute_seconds = models.FloatField(default=0.0)
    matrices_pruned = models.BooleanField(default=False)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"snapshot {self.version} ({self.vote_count} votes)"

    @property
    def age_seconds(self) -> int:
        """Whole seconds since it was computed: the board says how old its ratings are."""
        return max(0, int((timezone.now() - self.created_at).total_seconds()))


class VoteStyle(models.Model):
    """One counted vote with the style of its two answers, for style control: per side, over every
    turn of the battle, words, markdown headers, list items and bold spans (`answer_style_count`).

    Like `VoteCount`, what a snapshot reads instead of the votes: the pair, winner, blind-or-not and
    categories are copied here when the vote is cast (the `vote_cast` receiver, in the vote's
    transaction), and the row is deleted when the vote is invalidated, so a snapshot reads only
    this table and four small integers per side instead of the answers' text. Votes that arrive in
    bulk (imports) get rows with zero counts from `vote_styles_rebuild`: no style is known, so they
    count as two answers alike.
    """

    vote = models.OneToOneField(Vote, on_delete=models.CASCADE, primary_key=True, related_name="style")
    model_a = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="+")
    model_b = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="+")
    winner = models.CharField(max_length=16, choices=Winner.choices)
    anony = models.BooleanField()
    categories = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    words_a = models.PositiveIntegerField(default=0)
    headers_a = models.PositiveIntegerField(default=0)
    lists_a = models.PositiveIntegerField(default=0)
    bold_a = models.PositiveIntegerField(default=0)
    words_b = models.PositiveIntegerField(default=0)
    headers_b = models.PositiveIntegerField(default=0)
    lists_b = models.PositiveIntegerField(default=0)
    bold_b = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"style of vote {self.vote_id}"


class VoteCount(models.Model):
    """How many counted votes one ordered pair has for one winner, in one category, blind or not.

    What snapshots and the beat check read instead of the votes: the arena board's receivers of
    `vote_cast` add one to "overall" and to each of the vote's categories in the vote's own
    transaction, those of `vote_invalidated` take it away again, and `vote_counts_rebuild`
    recounts everything from the votes after bulk writes (imports). Every valid vote is counted,
    blind or not (`anony`), so that LEADERBOARD_ANONY_ONLY is still decided when the counts are
    read. A decrement deletes nothing: readers skip rows at zero.
    """

    # Category first: the beat check reads the "overall" rows only, as a range of the unique index.
    category = models.CharField(max_length=32, choices=[(key, CATEGORY_LABELS[key]) for key in CATEGORIES])
    model_a = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="+")
    model_b = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="+")
    winner = models.CharField(max_length=16, choices=Winner.choices)
    anony = models.BooleanField()
    count = models.BigIntegerField(default=0)
    last_vote_id = models.BigIntegerField(default=0, help_text="The highest vote id counted into this row.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["category", "model_a", "model_b", "winner", "anony"], name="votecount_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.model_a_id}-{self.model_b_id} {self.winner}: {self.count}"


class ExcludedVoteCount(models.Model):
    """How many stored votes are not counted (excluded: `arena.Vote.exclusions`), per reason, blind or not.

    What the board's totals read instead of the votes: the arena board's receivers add one to the
    vote's row of each of its reasons and to the reason "" row (each excluded vote once), when a vote
    is cast excluded and when a counted one is invalidated, in that change's transaction;
    `excluded_counts_rebuild` recounts them from the votes (`manage.py vote_counts_rebuild`).
    """

    ALL = ""  # the reason of the rows that count each excluded vote once

    reason = models.CharField(max_length=32, blank=True)
    anony = models.BooleanField()
    count = models.BigIntegerField(default=0)
    last_vote_id = models.BigIntegerField(default=0, help_text="The highest vote id counted into this row.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reason", "anony"], name="excludedvotecount_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.reason or 'all'} {'blind' if self.anony else 'named'}: {self.count}"


class BenchmarkScore(models.Model):
    """A model's latest score on one benchmark, overall ("overall") or in one of its categories, with a
    95% bootstrap interval over the items.

    Evaluation writes it when a run finishes (`evaluation.scores.benchmark_scores_store`): the model
    pages and boards below evaluation show benchmark results without reading evaluation's runs.
    """

    OVERALL = "overall"

    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="benchmark_scores")
    benchmark = models.CharField(max_length=100)
    version = models.CharField(max_length=100)
    category = models.CharField(max_length=100)
    score = models.FloatField(help_text="Accuracy, 0 to 1.")
    lower = models.FloatField()
    upper = models.FloatField()
    items = models.PositiveIntegerField()
    # No foreign key: the run is evaluation's, a layer above this one.
    run_id = models.UUIDField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["benchmark", "model", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "benchmark", "category"], name="benchmarkscore_unique_model_category"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_id} on {self.benchmark}/{self.category}: {self.score:.3f}"

    @staticmethod
    def label_of(category: str) -> str:
        """A category key as a person reads it: "visual_perception" → "Visual perception"."""
        return category.replace("_", " ").replace("-", " ").capitalize()

    @property
    def category_label(self) -> str:
        return self.label_of(self.category)
