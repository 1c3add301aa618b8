import pytest

from evaluation.analyses.gain import GainResult, gain_compute

WITH_IMAGE = {"a": True, "b": True, "c": True, "d": False}
WITHOUT_IMAGE = {"a": True, "b": False, "c": False, "d": False}


def test_gain_is_the_score_with_the_image_minus_the_score_without():
    result = gain_compute(with_image=WITH_IMAGE, without_image=WITHOUT_IMAGE)
    assert (result.items, result.score_with_image, result.score_without_image) == (4, 0.75, 0.25)
    assert result.gain == pytest.approx(0.5)


def test_leakage_is_what_the_model_answers_without_the_image_beyond_its_base_language_model():
    result = gain_compute(with_image=WITH_IMAGE, without_image=WITHOUT_IMAGE, text_only_score=0.1)
    assert result.leakage == pytest.approx(0.15)


def test_leakage_is_never_negative():
    result = gain_compute(with_image=WITH_IMAGE, without_image=WITHOUT_IMAGE, text_only_score=0.5)
    assert result.leakage == 0.0


def test_leakage_is_left_out_without_a_base_language_model():
    result = gain_compute(with_image=WITH_IMAGE, without_image=WITHOUT_IMAGE)
    assert result.leakage is None
    assert result.text_only_score is None


def test_runs_over_different_items_are_refused():
    with pytest.raises(ValueError, match="same items"):
        gain_compute(with_image=WITH_IMAGE, without_image={"a": True})


def test_no_items_are_refused():
    with pytest.raises(ValueError, match="no items"):
        gain_compute(with_image={}, without_image={})


def test_a_text_only_score_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        gain_compute(with_image=WITH_IMAGE, without_image=WITHOUT_IMAGE, text_only_score=40.0)


def test_the_result_survives_its_dict_form():
    result = gain_compute(with_image=WITH_IMAGE, without_image=WITHOUT_IMAGE, text_only_score=0.1)
    assert GainResult.from_dict(result.to_dict()) == result
