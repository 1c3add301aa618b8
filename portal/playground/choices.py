"""Which models a visitor may pick in the playground: the arena's active ones, plus a submitter's own
FINISHED submissions (every submitter's for staff), which are in no blind battle until enabled."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from arena.models import Model
from arena.selectors import playground_model_pick, playground_models
from portal.submissions.models import Submission


def _finished_model_ids(*, user: AbstractBaseUser | AnonymousUser) -> list[int]:
    if not user.is_authenticated:
        return []
    finished = Submission.objects.filter(status=Submission.Status.FINISHED, model__isnull=False)
    if not getattr(user, "is_staff", False):
        finished = finished.filter(submitter_id=user.pk)
    return [pk for pk in finished.values_list("model_id", flat=True) if pk is not None]


def playground_choices(*, user: AbstractBaseUser | AnonymousUser) -> list[Model]:
    return playground_models(user=user, also=_finished_model_ids(user=user))


def playground_choice(*, user: AbstractBaseUser | AnonymousUser, slug: str) -> Model:
    return playground_model_pick(slug=slug, user=user, also=_finished_model_ids(user=user))
