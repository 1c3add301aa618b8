"""Robustness: the same items under image corruption (noise, blur, JPEG) and text corruption (typos).

Reported as ChEF's relative robustness (Shi et al., 2023), RR = (acc_corrupt - acc_chance) / (acc_clean -
acc_chance): 1 keeps all the skill above chance, 0 falls to chance, and it may go below 0 or above 1. The
corruptions are here too, deterministic for a given seed, so a resumed run corrupts an item the same way
again. Severities run 0-5 (as ImageNet-C's do, 0 being none); severity 0 returns the input untouched.
"""

from __future__ import annotations

import io
import math
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

import numpy as np
from PIL import Image, ImageFilter, UnidentifiedImageError

ImageCorruption = Literal["noise", "blur", "jpeg"]
IMAGE_CORRUPTIONS: tuple[str, ...] = get_args(ImageCorruption)
MAX_SEVERITY = 5

# ImageNet-C's levels (Hendrycks & Dietterich, 2019): gaussian noise sigma on a 0-1 scale and JPEG quality;
# the blur is Pillow's gaussian blur with these radii in pixels.
_NOISE_SIGMA = (0.0, 0.08, 0.12, 0.18, 0.26, 0.38)
_BLUR_RADIUS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0)
_JPEG_QUALITY = (100, 25, 18, 15, 10, 7)

# Neighbours on a QWERTY keyboard, for substitution typos (the kind people make).
_KEYBOARD_NEIGHBOURS = {
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop", "m": "njk", "n": "bhjm",
    "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz", "t": "rfgy", "u": "yhji",
    "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}  # fmt: skip
_WORD = re.compile(r"[^\W\d_]+")
# A typo goes inside a word and keeps its first and last letter, so words need two letters inside.
_MIN_WORD_LETTERS = 4


@dataclass(frozen=True)
class RobustnessResult:
    corruption: str
    items: int
    clean: float
    corrupt: float
    chance: float
    relative: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RobustnessResult:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def robustness_score(*, acc_clean: float, acc_corrupt: float, acc_chance: float) -> float | None:
    """ChEF's relative robustness; None when the clean accuracy is not above chance (no skill to keep)."""
    for name, value in (("clean", acc_clean), ("corrupt", acc_corrupt), ("chance", acc_chance)):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"The {name} accuracy must be a fraction between 0 and 1.")
    if acc_clean <= acc_chance:
        return None
    return (acc_corrupt - acc_chance) / (acc_clean - acc_chance)


def chance_accuracy_compute(*, option_counts: Iterable[int]) -> float:
    """Expected accuracy of guessing uniformly: the mean of 1/k over items with k options (2 for yes/no).

    An item with no options (free text) is counted as 0: a guess does not hit free text.
    """
    counts = list(option_counts)
    if not counts:
        raise ValueError("There are no items to compute the chance accuracy of.")
    if any(count < 0 for count in counts):
        raise ValueError("An item cannot have a negative number of options.")
    return math.fsum(1.0 / count if count else 0.0 for count in counts) / len(counts)


def robustness_compute(
    *, corruption: str, clean: Mapping[str, bool], corrupt: Mapping[str, bool], chance: float
) -> RobustnessResult:
    """Relative robustness from per-item correctness (item id → right) of the clean and the corrupted run."""
    if not clean:
        raise ValueError("There are no items to measure robustness on.")
    if set(clean) != set(corrupt):
        raise ValueError("The clean and the corrupted runs must cover the same items.")
    acc_clean = sum(bool(v) for v in clean.values()) / len(clean)
    acc_corrupt = sum(bool(v) for v in corrupt.values()) / len(corrupt)
    return RobustnessResult(
        corruption=corruption,
        items=len(clean),
        clean=acc_clean,
        corrupt=acc_corrupt,
        chance=chance,
        relative=robustness_score(acc_clean=acc_clean, acc_corrupt=acc_corrupt, acc_chance=chance),
    )


def image_corrupt(png_bytes: bytes, *, kind: str, severity: int, seed: int) -> bytes:
    """The image (any format Pillow reads) corrupted, as PNG; the same inputs give the same bytes.

    PNG keeps exactly the corruption applied (the JPEG kind's artefacts included) and nothing more.
    """
    if kind not in IMAGE_CORRUPTIONS:
        raise ValueError(f"The image corruption must be one of {', '.join(IMAGE_CORRUPTIONS)}; got {kind!r}.")
    _severity_check(severity)
    if severity == 0:
        return png_bytes
    try:
        with Image.open(io.BytesIO(png_bytes)) as opened:
            picture = opened.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError) as error:
        raise ValueError("The image could not be read as a picture.") from error
    if kind == "noise":
        pixels = np.asarray(picture, dtype=np.float64) / 255.0
        noise = np.random.default_rng(seed).normal(0.0, _NOISE_SIGMA[severity], size=pixels.shape)
        noisy = np.clip(pixels + noise, 0.0, 1.0) * 255.0
        picture = Image.fromarray(np.rint(noisy).astype(np.uint8))
    elif kind == "blur":
        picture = picture.filter(ImageFilter.GaussianBlur(radius=_BLUR_RADIUS[severity]))
    else:
        encoded = io.BytesIO()
        picture.save(encoded, format="JPEG", quality=_JPEG_QUALITY[severity])
        encoded.seek(0)
        with Image.open(encoded) as decoded:
            picture = decoded.convert("RGB")
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def text_corrupt(text: str, *, rate: float, seed: int) -> str:
    """The text with typos in about `rate` of its words of four letters or more, the same for the same seed.

    A typo swaps two neighbouring letters, drops one or hits a keyboard neighbour, always inside the word: the
    first and last letters stay, as people still read such words (and so the question stays answerable).
    Everything but letters (spaces, digits, punctuation, option letters like "A.") is kept as it is.
    """
    if not (math.isfinite(rate) and 0.0 <= rate <= 1.0):
        raise ValueError("The typo rate must be a fraction between 0 and 1.")
    if rate == 0.0:
        return text
    rng = random.Random(seed)

    def typo(match: re.Match[str]) -> str:
        word = match.group(0)
        if len(word) < _MIN_WORD_LETTERS or rng.random() >= rate:
            return word
        return _word_typo(word, rng)

    return _WORD.sub(typo, text)


def _word_typo(word: str, rng: random.Random) -> str:
    letters = list(word)
    inner = range(1, len(letters) - 1)
    swaps = [i for i in inner if i + 1 < len(letters) - 1 and letters[i].lower() != letters[i + 1].lower()]
    substitutable = [i for i in inner if letters[i].lower() in _KEYBOARD_NEIGHBOURS]
    kinds = ["drop"] + (["swap"] if swaps else []) + (["substitute"] if substitutable else [])
    kind = rng.choice(kinds)
    if kind == "swap":
        i = rng.choice(swaps)
        letters[i], letters[i + 1] = letters[i + 1], letters[i]
    elif kind == "substitute":
        i = rng.choice(substitutable)
        neighbour = rng.choice(_KEYBOARD_NEIGHBOURS[letters[i].lower()])
        letters[i] = neighbour.upper() if letters[i].isupper() else neighbour
    else:
        del letters[rng.choice(inner)]
    return "".join(letters)


def _severity_check(severity: int) -> None:
    if isinstance(severity, bool) or not isinstance(severity, int) or not 0 <= severity <= MAX_SEVERITY:
        raise ValueError(f"The severity must be a whole number from 0 to {MAX_SEVERITY}.")
