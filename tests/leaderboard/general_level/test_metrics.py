"""Normalisation of raw metric values onto 0-100 (paper Appendix A.1)."""

from __future__ import annotations

import math

import pytest

from leaderboard.general_level import (
    MetricValueError,
    metric_explain,
    metric_normalise,
    metric_resolve,
)
from leaderboard.general_level.metric_table import METRIC_TABLE, MetricKind

TAUS = {
    "MAE": 50.0,
    "RMS": 50.0,
    "MSE": 5.0,
    "RMSE": 5.0,
    "absRel": 0.1,
    "EPE": 1.0,
    "FID": 25.0,
    "FVD": 100.0,
    "FAD": 10.0,
    "SAD": 10.0,
    "RTE": 0.5,
    "CD": 1.0,
    "MCD": 5.0,
}
MAPPED = [*TAUS, "PSNR", "WER", "MS-SSIM", "MOS"]


def normalise(metric: str, value: float) -> float:
    return metric_normalise(rule=metric_resolve(name=metric), value=value)


def paper_sigmoid(tau: float, x: float) -> float:
    return 100.0 * (2.0 / (1.0 + math.exp(-tau / x)) - 1.0)


@pytest.mark.parametrize(("metric", "tau"), TAUS.items())
def test_each_lower_is_better_metric_uses_its_tau(metric: str, tau: float) -> None:
    for x in (tau / 4, tau, 3 * tau):
        assert normalise(metric, x) == pytest.approx(paper_sigmoid(tau, x), abs=1e-9)
    assert metric_resolve(name=metric).tau == tau


@pytest.mark.parametrize("metric", TAUS)
def test_sigmoid_metrics_score_higher_for_smaller_errors(metric: str) -> None:
    tau = TAUS[metric]
    assert normalise(metric, tau / 10) > normalise(metric, tau) > normalise(metric, tau * 10)
    assert metric_resolve(name=metric).lower_is_better


def test_tiny_errors_approach_100_without_overflow() -> None:
    assert normalise("FID", 1e-300) == pytest.approx(100.0)


def test_psnr_maps_through_tanh_of_x_over_20() -> None:
    assert normalise("PSNR", 20.0) == pytest.approx(100.0 * math.tanh(1.0))
    assert normalise("PSNR", 30.5) == pytest.approx(100.0 * math.tanh(30.5 / 20.0))


def test_wer_is_read_as_percent() -> None:
    assert normalise("WER", 5.6) == pytest.approx(94.4)
    assert normalise("WER", 100.0) == pytest.approx(0.0)


def test_wer_above_100_percent_scores_zero_not_below() -> None:
    assert normalise("WER", 130.0) == 0.0


def test_ms_ssim_maps_minus_one_to_one_onto_0_100() -> None:
    assert normalise("MS-SSIM", 1.0) == pytest.approx(100.0)
    assert normalise("MS-SSIM", 0.5) == pytest.approx(75.0)
    assert normalise("MS-SSIM", -0.5) == pytest.approx(25.0)


def test_mos_maps_one_to_five_onto_0_100() -> None:
    assert normalise("MOS", 5.0) == pytest.approx(100.0)
    assert normalise("MOS", 3.82) == pytest.approx(70.5)
    assert normalise("MOS", 1.0) == pytest.approx(0.0)


def test_mos_below_one_scores_zero_not_below() -> None:
    assert normalise("MOS", 0.5) == 0.0


@pytest.mark.parametrize("metric", MAPPED)
def test_raw_zero_on_a_mapped_metric_means_no_output(metric: str) -> None:
    # MS-SSIM and MOS show the rule matters: their formulas would give 50 and -25.
    assert normalise(metric, 0.0) == 0.0


def test_unlisted_metric_is_used_as_is() -> None:
    rule = metric_resolve(name="Style-CLAP")
    assert not rule.known
    assert not rule.mapped
    assert not rule.lower_is_better
    assert metric_normalise(rule=rule, value=28.16) == 28.16
    assert metric_normalise(rule=rule, value=0.0) == 0.0


def test_listed_as_is_metric_is_known_but_unchanged() -> None:
    rule = metric_resolve(name="accuracy")
    assert rule.known
    assert rule.name == "ACC"
    assert metric_normalise(rule=rule, value=75.2) == 75.2


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("fid", "FID"),
        ("Fid", "FID"),
        ("ABSREL", "absRel"),
        ("AbsRel", "absRel"),
        ("wer", "WER"),
        ("ms-ssim", "MS-SSIM"),
        ("MS_SSIM", "MS-SSIM"),
        ("mos", "MOS"),
        ("psnr", "PSNR"),
        ("Rmse", "RMSE"),
    ],
)
def test_metric_names_match_case_insensitively(spelling: str, canonical: str) -> None:
    assert metric_resolve(name=spelling).name == canonical


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("CD (Chamfer Distance)", "CD"),
        ("Chamfer Distance (CD)", "CD"),
        ("FID (Fréchet Inception Distance)", "FID"),
        ("Frechet Inception Distance", "FID"),
        ("Fréchet Video Distance", "FVD"),
        ("Fréchet Audio Distance", "FAD"),
        ("Word Error Rate", "WER"),
        ("WER (%)", "WER"),
        ("Mean Opinion Score", "MOS"),
        ("Peak Signal-to-Noise Ratio", "PSNR"),
        ("Mel-Cepstral Distortion", "MCD"),
        ("Root Mean Squared Error", "RMSE"),
        ("Root Mean Square", "RMS"),
        ("End-Point Error", "EPE"),
        ("Multi-Scale SSIM", "MS-SSIM"),
        ("FID↓", "FID"),
    ],
)
def test_long_metric_names_are_recognised(spelling: str, canonical: str) -> None:
    assert metric_resolve(name=spelling).name == canonical


def test_every_alias_in_the_table_resolves_to_its_metric() -> None:
    for entry in METRIC_TABLE:
        for alias in (entry.name, *entry.aliases):
            assert metric_resolve(name=alias).name == entry.name, alias


def test_only_sigmoid_metrics_and_wer_are_lower_is_better() -> None:
    for entry in METRIC_TABLE:
        expected = entry.kind in (MetricKind.SIGMOID, MetricKind.WER)
        assert metric_resolve(name=entry.name).lower_is_better is expected, entry.name


@pytest.mark.parametrize("metric", [*TAUS, "WER"])
def test_negative_error_is_refused(metric: str) -> None:
    with pytest.raises(MetricValueError, match="cannot be negative"):
        normalise(metric, -1.0)


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_value_is_refused(value: float) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        normalise("FID", value)
    with pytest.raises(ValueError, match="not a finite number"):
        normalise("ACC", value)


def test_explanation_substitutes_the_raw_value() -> None:
    assert metric_explain(rule=metric_resolve(name="FAD"), value=11.52) == (
        "100·(2·sigmoid(10/11.52) - 1) = 40.87"
    )
    assert metric_explain(rule=metric_resolve(name="WER"), value=5.6) == ("100·(1 - 5.6/100) = 94.40")
    assert metric_explain(rule=metric_resolve(name="MOS"), value=0) == "0 = no output → 0"
    assert metric_explain(rule=metric_resolve(name="ACC"), value=75.2) == "75.2 (already 0-100)"


def test_explanation_says_when_a_value_is_kept_within_the_scale() -> None:
    assert metric_explain(rule=metric_resolve(name="WER"), value=130) == (
        "100·(1 - 130/100) = -30.00 → 0 (kept within 0-100)"
    )
