"""Reading answers: option letters, option texts, POPE's yes/no rule, likelihood choice."""

from __future__ import annotations

import math

import pytest

from evaluation.answers import choice_extract, choice_resolve, likelihood_choose, yesno_extract

ANIMALS = ("A cat", "A dog", "A horse", "A bird")
VITAMINS = ("Vitamin A", "Vitamin B12", "Vitamin C", "Iron")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("B", "B"),
        ("b", "B"),
        ("(C)", "C"),
        ("D.", "D"),
        ("  A  ", "A"),
        ("**B**", "B"),
        ("Answer: C", "C"),
        ("The answer is B.", "B"),
        ("The correct answer is: **(D)**", "D"),
        ("The answer would be option A because the animal is purring.", "A"),
        ("B. A dog", "B"),
        ("(C) A horse is shown in the field.", "C"),
        ("I'd pick D, since it has feathers.", "D"),
        ("The answer is B, not C.", "B"),
        ("A is correct.", "A"),
        ("Looking closely, I believe the image shows a dog, so B.", "B"),
        # A named answer that contradicts itself reads as nothing.
        ("Answer: A. Wait, no, the answer is C.", None),
        # Two letters without an answer named: ambiguous.
        ("It is either B or C.", None),
        ("(A) or (D), hard to say.", None),
        # "A" as an article, inside words, or a letter past the options is no letter.
        ("A small animal sitting on the sofa", None),
        ("Apparently an Animal.", None),
        ("The T-shirt is red.", None),
        ("The answer is E.", None),
        ("I cannot tell from this image.", None),
        ("Cannot determine the answer.", None),
        ("", None),
        # No letter: the one option whose full text occurs.
        ("It is a horse standing in a field.", "C"),
        ("a DOG", "B"),
        # Two options' texts occur: ambiguous.
        ("Either a cat or a dog.", None),
    ],
)
def test_choice_extract_reads_the_letter_a_model_means(answer: str, expected: str | None) -> None:
    assert choice_extract(answer_text=answer, options=ANIMALS) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # The letter inside an option's own wording is not an answer letter.
        ("Vitamin C", "C"),
        ("Vitamin A is found in carrots.", "A"),
        ("B. Vitamin B12", "B"),
        ("The body needs iron.", "D"),
    ],
)
def test_choice_extract_ignores_letters_inside_option_texts(answer: str, expected: str) -> None:
    assert choice_extract(answer_text=answer, options=VITAMINS) == expected


def test_choice_extract_prefers_the_longer_option_that_contains_a_shorter_one() -> None:
    options = ("red", "red and blue", "green")
    assert choice_extract(answer_text="It is red and blue.", options=options) == "B"
    assert choice_extract(answer_text="It is red.", options=options) == "A"


def test_choice_resolve_asks_the_judge_only_when_the_rules_find_nothing() -> None:
    asked: list[str] = []

    def judge(answer: str, options: tuple[str, ...]) -> str | None:
        asked.append(answer)
        return "c"

    assert choice_resolve(answer_text="B", options=ANIMALS, judge=judge) == "B"
    assert choice_resolve(answer_text="the one with a mane", options=ANIMALS, judge=judge) == "C"
    assert asked == ["the one with a mane"]
    assert choice_resolve(answer_text="the one with a mane", options=ANIMALS) is None


def test_choice_resolve_drops_a_judge_verdict_that_is_no_option() -> None:
    assert choice_resolve(answer_text="hmm", options=ANIMALS, judge=lambda answer, options: "Z") is None
    assert choice_resolve(answer_text="hmm", options=ANIMALS, judge=lambda answer, options: None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes, there is a dog in the image.", "yes"),
        ("No, there is no dog.", "no"),
        ("There is not a dog in the image.", "no"),
        ("Yes. There is no cat, though.", "yes"),  # only the first sentence counts
        ("I see no dog", "no"),
        ("Yes", "yes"),
        # POPE's script, exactly: only the words "No", "not", "no" split on spaces mean no.
        ("No!", "yes"),
        ("NO", "yes"),
        ("Not at all", "yes"),
        ("There isn't a dog.", "yes"),
        ("I cannot tell.", "yes"),
        ("", "yes"),
    ],
)
def test_yesno_extract_follows_popes_rule(text: str, expected: str) -> None:
    assert yesno_extract(text=text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("No!", "no"),
        ("NOT really", "no"),
        ("There isn't a dog.", "no"),
        ("Yes!", "yes"),
        ("Yes. There is no cat, though.", "yes"),
        ("I cannot tell.", None),
        ("", None),
    ],
)
def test_yesno_extract_strict_reads_words_and_leaves_evasions_unread(text: str, expected: str | None) -> None:
    assert yesno_extract(text=text, strict=True) == expected


def test_likelihood_choose_takes_the_highest_summed_log_probability() -> None:
    letter, probabilities = likelihood_choose(option_logprobs=[[-1.0, -1.0], [-0.5], [-3.0]])
    assert letter == "B"
    # Softmax of (-2, -0.5, -3).
    weights = [math.exp(-2.0), math.exp(-0.5), math.exp(-3.0)]
    assert probabilities == pytest.approx([w / sum(weights) for w in weights])
    assert sum(probabilities) == pytest.approx(1.0)


def test_likelihood_choose_length_normalised_scores_the_mean_per_token() -> None:
    # Summed: A -1.2, B -1.0 (B wins); per token: A -0.3, B -1.0 (A wins).
    logprobs = [[-0.3, -0.3, -0.3, -0.3], [-1.0]]
    assert likelihood_choose(option_logprobs=logprobs)[0] == "B"
    letter, probabilities = likelihood_choose(option_logprobs=logprobs, length_normalised=True)
    assert letter == "A"
    assert probabilities[0] == pytest.approx(1 / (1 + math.exp(-0.7)))


def test_likelihood_choose_breaks_ties_towards_the_earlier_option() -> None:
    letter, probabilities = likelihood_choose(option_logprobs=[[-1.0], [-1.0]])
    assert letter == "A"
    assert probabilities == pytest.approx([0.5, 0.5])


def test_likelihood_choose_survives_an_impossible_option() -> None:
    letter, probabilities = likelihood_choose(option_logprobs=[[-math.inf], [-2.0]])
    assert letter == "B"
    assert probabilities == pytest.approx([0.0, 1.0])


@pytest.mark.parametrize(
    "logprobs",
    [[[-1.0]], [[-1.0], []], [[-1.0], [0.5]], [[-1.0], [math.nan]], [[-math.inf], [-math.inf]]],
)
def test_likelihood_choose_refuses_what_cannot_be_chosen_from(logprobs: list[list[float]]) -> None:
    with pytest.raises(ValueError):
        likelihood_choose(option_logprobs=logprobs)
