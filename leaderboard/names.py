"""Which arena model a name in an imported file stands for: its slug, its display name, or a name that
slugifies to its slug. Both boards' imports (battles, General-Level results) match names this way."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.utils.text import slugify

from arena.models import Model
from core.errors import InvalidInput


def arena_models_match(*, names: Iterable[str], filename: str) -> dict[str, Model]:
    """The arena model each name stands for, where one does; refuses ambiguous names."""
    models = list(Model.objects.all())
    by_slug = {model.slug: model for model in models}
    by_display: dict[str, list[Model]] = defaultdict(list)
    for model in models:
        by_display[model.display_name.strip().casefold()].append(model)
    matched: dict[str, Model] = {}
    for name in names:
        found = by_slug.get(name)
        if found is None:
            same_name = by_display.get(name.casefold(), [])
            if len(same_name) > 1:
                slugs = ", ".join(sorted(model.slug for model in same_name))
                raise InvalidInput(
                    f"{filename}: model {name!r} matches several arena models ({slugs}); "
                    "name it by its slug instead."
                )
            found = same_name[0] if same_name else by_slug.get(slugify(name))
        if found is not None:
            matched[name] = found
    by_model: dict[int, list[str]] = defaultdict(list)
    for name, model in matched.items():
        by_model[model.pk].append(name)
    for model_names in by_model.values():
        if len(model_names) > 1:
            listed = " and ".join(repr(name) for name in model_names)
            raise InvalidInput(
                f"{filename}: {listed} are the same arena model ({matched[model_names[0]].slug}); keep one."
            )
    return matched
