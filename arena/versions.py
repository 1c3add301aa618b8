"""The arena's data version (core.versions): the models, bumped whenever one is saved or deleted.

Every page and endpoint that names models (the model list, the boards) is cached under it.
"""

from __future__ import annotations

from typing import Any, Final

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from arena.models import Model
from core.versions import data_versions_bump

MODELS: Final = "arena-models"


@receiver(post_save, sender=Model, dispatch_uid="arena.models_version.save")
@receiver(post_delete, sender=Model, dispatch_uid="arena.models_version.delete")
def models_version_bump(sender: type[Model], **kwargs: Any) -> None:
    data_versions_bump(MODELS)
