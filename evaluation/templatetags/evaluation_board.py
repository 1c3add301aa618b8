"""Reading one model's analysis numbers by column on the benchmark board."""

from __future__ import annotations

from django import template

from evaluation.scores import AnalysisRow

register = template.Library()


@register.filter
def robustness_of(row: AnalysisRow, corruption: str) -> float | None:
    return row.relative(corruption)


@register.filter
def share_of(row: AnalysisRow, modality: str) -> float | None:
    return row.share(modality)
