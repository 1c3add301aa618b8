"""Putting a raw metric value on the paper's 0-100, higher-is-better scale."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from leaderboard.general_level.errors import MetricValueError
from leaderboard.general_level.metric_table import METRIC_TABLE, MetricEntry, MetricKind


@dataclass(frozen=True)
class MetricRule:
    """How one metric is normalised. `known` is False for a metric missing from the table."""

    name: str
    kind: MetricKind
    tau: float | None
    known: bool

    @property
    def lower_is_better(self) -> bool:
        return self.kind in (MetricKind.SIGMOID, MetricKind.WER)

    @property
    def mapped(self) -> bool:
        """Whether a formula applies, and with it the rule that a raw 0 means no output."""
        return self.kind is not MetricKind.AS_IS

    @property
    def formula(self) -> str:
        """The normalisation as the paper writes it, x being the raw value."""
        return self.formula_with(x="x")

    def formula_with(self, *, x: str) -> str:
        match self.kind:
            case MetricKind.SIGMOID:
                return f"100·(2·sigmoid({_number_text(self.tau or 0.0)}/{x}) - 1)"
            case MetricKind.PSNR:
                return f"100·tanh({x}/20)"
            case MetricKind.WER:
                return f"100·(1 - {x}/100)"
            case MetricKind.MS_SSIM:
                return f"100·({x} + 1)/2"
            case MetricKind.MOS:
                return f"100·({x} - 1)/4"
            case MetricKind.AS_IS:
                return x


def metric_name_fold(*, name: str) -> str:
    """What is compared when matching metric names: no case, accents, spaces or punctuation."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]", "", plain.casefold())


def _alias_index() -> dict[str, MetricEntry]:
    index: dict[str, MetricEntry] = {}
    for entry in METRIC_TABLE:
        for alias in (entry.name, *entry.aliases):
            key = metric_name_fold(name=alias)
            if index.get(key, entry) is not entry:
                raise AssertionError(f"metric alias {alias!r} is listed twice")
            index[key] = entry
    return index


_ALIASES: Final[dict[str, MetricEntry]] = _alias_index()


def _name_candidates(name: str) -> list[str]:
    # "CD (Chamfer Distance)" and "Chamfer Distance (CD)" are both common in the paper's tables,
    # so the whole name, the part before the brackets and the part inside them are each tried.
    candidates = [name]
    bracketed = re.fullmatch(r"\s*([^()]*?)\s*\(([^()]*)\)\s*", name)
    if bracketed:
        candidates.extend([bracketed.group(1), bracketed.group(2)])
    return candidates


def metric_resolve(*, name: str) -> MetricRule:
    """The rule for metric `name`; an unknown name gives an as-is rule with `known` False."""
    for candidate in _name_candidates(name):
        entry = _ALIASES.get(metric_name_fold(name=candidate))
        if entry is not None:
            return MetricRule(name=entry.name, kind=entry.kind, tau=entry.tau, known=True)
    return MetricRule(name=name.strip(), kind=MetricKind.AS_IS, tau=None, known=False)


def metric_normalise(*, rule: MetricRule, value: float) -> float:
    """`value` on the 0-100 scale; raises MetricValueError where the metric cannot take it."""
    if not rule.mapped:
        _finite_check(rule, value)
        return value
    if value == 0:
        return 0.0  # the paper prints 0 for "no output" on every mapped metric
    # A WER above 100 %, a MOS below 1 or a negative PSNR is as bad as the scale goes, not below.
    return min(100.0, max(0.0, _formula_apply(rule, value)))


def metric_explain(*, rule: MetricRule, value: float) -> str:
    """How `value` becomes its 0-100 score, numbers substituted (for the worked example)."""
    score = metric_normalise(rule=rule, value=value)
    if not rule.mapped:
        return f"{_number_text(value)} (already 0-100)"
    if value == 0:
        return "0 = no output → 0"
    unclipped = _formula_apply(rule, value)
    text = f"{rule.formula_with(x=_number_text(value))} = {unclipped:.2f}"
    return text if unclipped == score else f"{text} → {score:.0f} (kept within 0-100)"


def _finite_check(rule: MetricRule, value: float) -> None:
    if not math.isfinite(value):
        raise MetricValueError(f"{rule.name or 'metric'} value {value} is not a finite number")


def _formula_apply(rule: MetricRule, value: float) -> float:
    _finite_check(rule, value)
    if rule.lower_is_better and value < 0:
        raise MetricValueError(f"{rule.name} cannot be negative (got {_number_text(value)})")
    match rule.kind:
        case MetricKind.SIGMOID:
            assert rule.tau is not None
            # 2·sigmoid(t) - 1 is tanh(t/2); tanh does not overflow for tiny x.
            return 100.0 * math.tanh(rule.tau / value / 2.0)
        case MetricKind.PSNR:
            return 100.0 * math.tanh(value / 20.0)
        case MetricKind.WER:
            return 100.0 * (1.0 - value / 100.0)
        case MetricKind.MS_SSIM:
            return 100.0 * (value + 1.0) / 2.0
        case MetricKind.MOS:
            return 100.0 * (value - 1.0) / 4.0
        case MetricKind.AS_IS:
            return value


def _number_text(value: float) -> str:
    return f"{value:g}"
