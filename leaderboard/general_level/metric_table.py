"""Every metric the paper maps onto 0-100 (arXiv 2505.04620, Appendix A.1), with its other names.

This is the one place to add a metric or an alias. A metric that is not listed here is taken
to be on a 0-100, higher-is-better scale already and is used as is, like the AS_IS rows below;
those rows only exist so that importing them is not reported as "unknown metric".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class MetricKind(StrEnum):
    AS_IS = "as_is"  # already 0-100, higher is better
    SIGMOID = "sigmoid"  # lower is better: 100·(2·sigmoid(τ/x) - 1)
    PSNR = "psnr"  # 100·tanh(x/20)
    WER = "wer"  # percent, lower is better: 100·(1 - x/100)
    MS_SSIM = "ms_ssim"  # -1..1: 100·(x + 1)/2
    MOS = "mos"  # 1..5: 100·(x - 1)/4


@dataclass(frozen=True)
class MetricEntry:
    name: str
    kind: MetricKind
    tau: float | None = None
    aliases: tuple[str, ...] = ()


METRIC_TABLE: Final[tuple[MetricEntry, ...]] = (
    MetricEntry("MAE", MetricKind.SIGMOID, 50, ("Mean Absolute Error",)),
    MetricEntry("RMS", MetricKind.SIGMOID, 50, ("Root Mean Square",)),
    MetricEntry("MSE", MetricKind.SIGMOID, 5, ("Mean Squared Error", "Mean Square Error")),
    MetricEntry(
        "RMSE",
        MetricKind.SIGMOID,
        5,
        ("Root Mean Squared Error", "Root Mean Square Error"),
    ),
    MetricEntry(
        "absRel",
        MetricKind.SIGMOID,
        0.1,
        ("Abs Rel", "Absolute Relative Error", "Absolute Relative Difference"),
    ),
    MetricEntry(
        "EPE",
        MetricKind.SIGMOID,
        1,
        ("End-Point Error", "Endpoint Error", "Average End-Point Error", "AEPE"),
    ),
    MetricEntry("FID", MetricKind.SIGMOID, 25, ("Fréchet Inception Distance",)),
    MetricEntry("FVD", MetricKind.SIGMOID, 100, ("Fréchet Video Distance",)),
    MetricEntry("FAD", MetricKind.SIGMOID, 10, ("Fréchet Audio Distance",)),
    MetricEntry("SAD", MetricKind.SIGMOID, 10, ("Sum of Absolute Differences",)),
    MetricEntry("RTE", MetricKind.SIGMOID, 0.5, ("Relative Translation Error",)),
    MetricEntry("CD", MetricKind.SIGMOID, 1, ("Chamfer Distance",)),
    MetricEntry(
        "MCD",
        MetricKind.SIGMOID,
        5,
        ("Mel-Cepstral Distortion", "Mel Cepstral Distance"),
    ),
    MetricEntry("PSNR", MetricKind.PSNR, None, ("Peak Signal-to-Noise Ratio",)),
    MetricEntry("WER", MetricKind.WER, None, ("Word Error Rate",)),
    MetricEntry(
        "MS-SSIM",
        MetricKind.MS_SSIM,
        None,
        ("Multi-Scale SSIM", "Multi-Scale Structural Similarity", "Multiscale SSIM"),
    ),
    MetricEntry("MOS", MetricKind.MOS, None, ("Mean Opinion Score",)),
    # Already 0-100 and higher-is-better; listed so that imports recognise them.
    MetricEntry("ACC", MetricKind.AS_IS, None, ("Accuracy", "Top-1 Accuracy", "Top1 Acc")),
    MetricEntry("F1", MetricKind.AS_IS, None, ("F1 Score", "F1-score", "Macro-F1", "Micro-F1")),
    MetricEntry("Precision", MetricKind.AS_IS),
    MetricEntry("Recall", MetricKind.AS_IS),
    MetricEntry("EM", MetricKind.AS_IS, None, ("Exact Match",)),
    MetricEntry("mIoU", MetricKind.AS_IS, None, ("Mean IoU", "Mean Intersection over Union")),
    MetricEntry("IoU", MetricKind.AS_IS, None, ("Intersection over Union",)),
    MetricEntry("mAP", MetricKind.AS_IS, None, ("Mean Average Precision",)),
    MetricEntry("BLEU-1", MetricKind.AS_IS),
    MetricEntry("BLEU-4", MetricKind.AS_IS),
    MetricEntry("ROUGE-L", MetricKind.AS_IS),
    MetricEntry("METEOR", MetricKind.AS_IS),
    MetricEntry("CIDEr", MetricKind.AS_IS),
    MetricEntry("CLIP Score", MetricKind.AS_IS, None, ("CLIP", "CLIPScore")),
    MetricEntry("CLAP", MetricKind.AS_IS, None, ("CLAP Score",)),
    MetricEntry("GPT-Score", MetricKind.AS_IS, None, ("GPT Score",)),
    MetricEntry("PCC", MetricKind.AS_IS, None, ("Pearson Correlation Coefficient",)),
)
