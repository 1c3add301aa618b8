import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from evaluation.analyses.robustness import (
    IMAGE_CORRUPTIONS,
    RobustnessResult,
    chance_accuracy_compute,
    image_corrupt,
    robustness_compute,
    robustness_score,
    text_corrupt,
)

TEXT = "Which animal is sitting beside the yellow umbrella? Answer with the option letter, A. or B."


def _png(size: int = 24) -> bytes:
    ramp = np.linspace(0, 255, size * size * 3).reshape(size, size, 3).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(ramp).save(out, format="PNG")
    return out.getvalue()


def _pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float64)


def test_relative_robustness_is_chefs_formula():
    # (0.5 - 0.25) / (0.8 - 0.25)
    assert robustness_score(acc_clean=0.8, acc_corrupt=0.5, acc_chance=0.25) == pytest.approx(0.25 / 0.55)


def test_relative_robustness_is_one_when_nothing_is_lost_and_zero_at_chance():
    assert robustness_score(acc_clean=0.8, acc_corrupt=0.8, acc_chance=0.25) == pytest.approx(1.0)
    assert robustness_score(acc_clean=0.8, acc_corrupt=0.25, acc_chance=0.25) == 0.0


def test_relative_robustness_is_none_without_skill_above_chance():
    assert robustness_score(acc_clean=0.25, acc_corrupt=0.3, acc_chance=0.25) is None


def test_an_accuracy_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="corrupt accuracy"):
        robustness_score(acc_clean=0.8, acc_corrupt=1.5, acc_chance=0.25)


def test_chance_accuracy_is_the_mean_of_one_over_the_option_count():
    assert chance_accuracy_compute(option_counts=[4, 4, 2, 0]) == pytest.approx(0.25)


def test_robustness_from_per_item_runs():
    clean = {"a": True, "b": True, "c": True, "d": False}
    corrupt = {"a": True, "b": False, "c": False, "d": False}
    result = robustness_compute(corruption="noise", clean=clean, corrupt=corrupt, chance=0.25)
    assert (result.clean, result.corrupt) == (0.75, 0.25)
    assert result.relative == 0.0
    assert RobustnessResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_robustness_runs_over_different_items_are_refused():
    with pytest.raises(ValueError, match="same items"):
        robustness_compute(corruption="blur", clean={"a": True}, corrupt={"b": True}, chance=0.5)


@pytest.mark.parametrize("kind", IMAGE_CORRUPTIONS)
def test_severity_zero_leaves_the_image_untouched(kind):
    png = _png()
    assert image_corrupt(png, kind=kind, severity=0, seed=1) == png


@pytest.mark.parametrize("kind", IMAGE_CORRUPTIONS)
def test_image_corruption_is_deterministic_and_changes_the_picture(kind):
    png = _png()
    first = image_corrupt(png, kind=kind, severity=3, seed=7)
    assert first == image_corrupt(png, kind=kind, severity=3, seed=7)
    assert first.startswith(b"\x89PNG")
    corrupted = _pixels(first)
    assert corrupted.shape == _pixels(png).shape
    assert np.abs(corrupted - _pixels(png)).mean() > 0.5


def test_noise_follows_the_seed_and_grows_with_severity():
    png = _png()
    assert image_corrupt(png, kind="noise", severity=2, seed=1) != image_corrupt(
        png, kind="noise", severity=2, seed=2
    )
    light = np.abs(_pixels(image_corrupt(png, kind="noise", severity=1, seed=1)) - _pixels(png)).mean()
    heavy = np.abs(_pixels(image_corrupt(png, kind="noise", severity=5, seed=1)) - _pixels(png)).mean()
    assert heavy > light


def test_an_unknown_corruption_or_severity_is_refused():
    with pytest.raises(ValueError, match="must be one of noise, blur, jpeg"):
        image_corrupt(_png(), kind="fog", severity=1, seed=0)
    with pytest.raises(ValueError, match="from 0 to 5"):
        image_corrupt(_png(), kind="blur", severity=6, seed=0)


def test_bytes_that_are_no_picture_are_refused():
    with pytest.raises(ValueError, match="could not be read"):
        image_corrupt(b"not a picture", kind="jpeg", severity=2, seed=0)


def test_rate_zero_leaves_the_text_untouched():
    assert text_corrupt(TEXT, rate=0.0, seed=3) == TEXT


def test_typos_are_deterministic_for_a_seed():
    assert text_corrupt(TEXT, rate=0.5, seed=3) == text_corrupt(TEXT, rate=0.5, seed=3)


def test_typos_keep_first_and_last_letters_and_everything_but_long_words():
    corrupted = text_corrupt(TEXT, rate=1.0, seed=11)
    words = re.findall(r"[^\W\d_]+|[^\w]+|\d+", TEXT)
    typoed = re.findall(r"[^\W\d_]+|[^\w]+|\d+", corrupted)
    assert len(words) == len(typoed)
    for word, typo in zip(words, typoed, strict=True):
        if len(word) < 4 or not word.isalpha():
            assert typo == word
        else:
            assert typo != word
            assert (typo[0], typo[-1]) == (word[0], word[-1])
            assert abs(len(typo) - len(word)) <= 1


def test_a_rate_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        text_corrupt(TEXT, rate=2.0, seed=0)
