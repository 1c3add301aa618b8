"""A benchmark task: what it measures, how, and the specialist's score to beat."""

from __future__ import annotations

import math
from dataclasses import dataclass

from leaderboard.general_level.errors import GeneralLevelInputError
from leaderboard.general_level.metric_normalisation import (
    MetricRule,
    metric_normalise,
    metric_resolve,
)
from leaderboard.general_level.taxonomy import (
    Group,
    Modality,
    group_parse,
    modality_parse,
)


@dataclass(frozen=True)
class Task:
    """One task. `group` is None exactly for language (nlp) tasks; `sota` is the raw value."""

    name: str
    modality: Modality
    group: Group | None
    metric: str
    sota: float
    rule: MetricRule

    @property
    def lower_is_better(self) -> bool:
        return self.rule.lower_is_better

    @property
    def sota_normalised(self) -> float:
        return metric_normalise(rule=self.rule, value=self.sota)


def task_build(
    *,
    name: str,
    modality: Modality | str,
    group: Group | str | None,
    metric: str,
    sota: float,
    lower_is_better: bool | None = None,
) -> Task:
    """A checked Task; raises GeneralLevelInputError naming the task when something is off.

    `lower_is_better`, when given, must agree with the metric table: an unknown metric can only
    be taken as a 0-100 higher-is-better score, so an unknown lower-is-better metric is refused.
    A group given for a language task is ignored (language tasks are not split into groups).
    """
    label = f"task {name!r}"
    if not name.strip():
        raise GeneralLevelInputError("a task has an empty name")
    try:
        parsed_modality = modality if isinstance(modality, Modality) else modality_parse(name=modality)
        parsed_group: Group | None
        if parsed_modality is Modality.NLP:
            parsed_group = None
        elif group is None or (isinstance(group, str) and not group.strip()):
            raise GeneralLevelInputError(
                f"{parsed_modality.value} tasks need a group (comprehension or generation)"
            )
        else:
            parsed_group = group if isinstance(group, Group) else group_parse(name=group)
    except GeneralLevelInputError as error:
        raise GeneralLevelInputError(f"{label}: {error}") from None

    rule = metric_resolve(name=metric)
    if lower_is_better is not None and lower_is_better != rule.lower_is_better:
        if rule.known:
            direction = "lower" if rule.lower_is_better else "higher"
            raise GeneralLevelInputError(
                f"{label}: metric {metric!r} is {direction}-is-better, "
                f"but lower_is_better is {str(lower_is_better).lower()}"
            )
        raise GeneralLevelInputError(
            f"{label}: metric {metric!r} is marked lower-is-better but has no known mapping "
            "to 0-100; add it to leaderboard/general_level/metric_table.py"
        )
    if isinstance(sota, bool) or not isinstance(sota, int | float) or not math.isfinite(sota):
        raise GeneralLevelInputError(f"{label}: SoTA score {sota!r} is not a finite number")
    task = Task(
        name=name.strip(),
        modality=parsed_modality,
        group=parsed_group,
        metric=metric.strip(),
        sota=float(sota),
        rule=rule,
    )
    try:
        task.sota_normalised  # noqa: B018 - checked now so scoring cannot fail on it later
    except GeneralLevelInputError as error:
        raise GeneralLevelInputError(f"{label}: SoTA score: {error}") from None
    return task
