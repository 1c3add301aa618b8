"""Reading a model's answer: the scoring side of the inferencers.

Rule-based and deterministic, so a stored prediction always scores the same. An answer the rules
cannot read scores wrong (as VLMEvalKit's exact-matching mode does); `choice_resolve` can hand such an
answer to an optional LLM judge, which a recipe turns on (`Recipe.judge`, off by default).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

LETTERS = string.ascii_uppercase
YesNo = Literal["yes", "no"]
# Asked with the answer and the options; answers an option letter, or None when it cannot tell.
ChoiceJudge = Callable[[str, tuple[str, ...]], str | None]

# Characters that, next to a capital, make it part of a word ("T-shirt", "Q&A", "A's") rather than a
# letter on its own.
_WORDISH = r"\w'’&/\-"
_LETTER = re.compile(rf"(?<![{_WORDISH}])([A-Z])(?![{_WORDISH}])")
# "Answer: B", "the answer is (B)", "The correct answer would be option **C**".
_CUED_LETTER = re.compile(
    r"(?i:\banswer\b)\W{0,5}"
    r"(?:(?i:is|would\s+be|should\s+be|must\s+be|will\s+be)\W{1,5})?"
    r"(?:(?i:option|choice)\W{1,5})?"
    rf"([A-Z])(?![{_WORDISH}])"
)
# "A cat", "I think": an article or pronoun, unless the next word makes it a letter ("A is right").
_ARTICLE_LETTERS = frozenset("AI")
_NEXT_WORD = re.compile(r"\s+([a-z]+)\b")
_LETTER_VERBS = frozenset({"is", "was", "seems", "appears", "looks", "matches", "fits", "describes"})
_BARE_LETTER = re.compile(r"^[(\[]?([A-Za-z])[)\].:]?$")


def choice_extract(*, answer_text: str, options: Sequence[str]) -> str | None:
    """The option letter an answer picks, or None when it picks none or several.

    In order: an answer that is only a letter ("b", "(B)", "B."); a letter named as the answer
    ("Answer: B", "The answer is B" — two different such letters are a contradiction, None); a single
    capital letter standing alone anywhere ("B. The cat", "I'd pick (C)"; "A" or "I" before a lowercase
    word is the article or pronoun, "A" inside "Apple" or "T-shirt" is no letter, and letters beyond the
    options are ignored — two different ones are ambiguous, None); then, only when no letter was found at
    all, an option's full text, case-insensitively as whole words, when exactly one option's text occurs
    (an option contained in another option that occurs, like "red" in "red and blue", does not count).
    Option texts are masked before looking for letters, so "Vitamin C" is not read as the letter C.
    """
    count = min(len(options), len(LETTERS))
    valid = LETTERS[:count]
    text = " ".join(answer_text.replace("*", " ").replace("#", " ").split())
    if not text or not valid:
        return None
    bare = _BARE_LETTER.match(text)
    if bare:
        letter = bare.group(1).upper()
        return letter if letter in valid else None
    masked = _options_masked(text=text, options=options[:count])
    cued = {match.group(1) for match in _CUED_LETTER.finditer(masked)} & set(valid)
    if cued:
        return cued.pop() if len(cued) == 1 else None
    mentioned = _letters_mentioned(text=masked) & set(valid)
    if mentioned:
        return mentioned.pop() if len(mentioned) == 1 else None
    return _option_by_text(text=text, options=options[:count])


def choice_resolve(
    *, answer_text: str, options: Sequence[str], judge: ChoiceJudge | None = None
) -> str | None:
    """`choice_extract`, then, only where it finds nothing, the judge's reading (kept only when the judge
    answers one of the option letters)."""
    letter = choice_extract(answer_text=answer_text, options=options)
    if letter is not None or judge is None:
        return letter
    verdict = judge(answer_text, tuple(options))
    if verdict is None:
        return None
    verdict = verdict.strip().upper()
    return verdict if verdict in tuple(LETTERS[: min(len(options), len(LETTERS))]) else None


def yesno_extract(*, text: str, strict: bool = False) -> YesNo | None:
    """Yes or no, by POPE's rule; with `strict`, None where the first sentence says neither.

    Default, exactly POPE's evaluation script (so scores compare with published POPE numbers): keep the
    text before the first ".", drop commas, split on single spaces; if a word is exactly "No", "not" or
    "no" the answer is no, otherwise yes. So "No!" or "NOT" is yes, and so is an empty or evasive answer.

    `strict`: the same first sentence, words read case-insensitively ignoring punctuation; "no", "not"
    and a "n't" contraction mean no, then "yes" means yes, else None (scored wrong).
    """
    sentence = text.split(".")[0] if "." in text else text
    if not strict:
        words = sentence.replace(",", "").split(" ")
        return "no" if ("No" in words or "not" in words or "no" in words) else "yes"
    words = re.findall(r"[a-z]+(?:['’]t)?", sentence.lower())
    if any(word in ("no", "not") or word.endswith(("n't", "n’t")) for word in words):
        return "no"
    if "yes" in words:
        return "yes"
    return None


def likelihood_choose(
    *, option_logprobs: Sequence[Sequence[float]], length_normalised: bool = False
) -> tuple[str, tuple[float, ...]]:
    """The option with the highest log-likelihood (ChEF's PPL inferencer), and each option's probability.

    `option_logprobs[i]` holds the log-probabilities of option i's tokens as a continuation of the
    prompt. An option scores their sum, or their mean with `length_normalised` (so long options are not
    penalised for their length); the probabilities are the softmax of the scores (usable for calibration).
    A tie goes to the earlier option.
    """
    if len(option_logprobs) < 2 or len(option_logprobs) > len(LETTERS):
        raise ValueError(
            f"Likelihood choice needs from 2 to {len(LETTERS)} options, got {len(option_logprobs)}."
        )
    scores = []
    for index, logprobs in enumerate(option_logprobs):
        if not logprobs:
            raise ValueError(f"Option {LETTERS[index]} has no token log-probabilities.")
        if any(math.isnan(value) or value > 0 for value in logprobs):
            raise ValueError(
                f"Option {LETTERS[index]} has a log-probability that is not a number of at most 0."
            )
        total = math.fsum(logprobs)
        scores.append(total / len(logprobs) if length_normalised else total)
    values = np.array(scores, dtype=np.float64)
    if not np.isfinite(values).any():
        raise ValueError("Every option has zero probability; there is nothing to choose from.")
    weights = np.exp(values - values.max())
    probabilities = weights / weights.sum()
    best = int(np.argmax(values))
    return LETTERS[best], tuple(float(p) for p in probabilities)


def _options_masked(*, text: str, options: Sequence[str]) -> str:
    """The text with every option's own wording (two characters or more) blanked out, longest first."""
    for option in sorted({_normalised(option) for option in options}, key=len, reverse=True):
        if len(option) >= 2:
            text = _option_pattern(option).sub(" ", text)
    return text


def _letters_mentioned(*, text: str) -> set[str]:
    letters = set()
    for match in _LETTER.finditer(text):
        letter = match.group(1)
        if letter in _ARTICLE_LETTERS:
            following = _NEXT_WORD.match(text, match.end())
            if following and (letter == "I" or following.group(1) not in _LETTER_VERBS):
                continue
        letters.add(letter)
    return letters


def _option_by_text(*, text: str, options: Sequence[str]) -> str | None:
    wordings = [_normalised(option) for option in options]
    found = {
        index for index, wording in enumerate(wordings) if wording and _option_pattern(wording).search(text)
    }
    # An option inside another option that also occurs ("red" in "red and blue") was not what was meant.
    kept = {
        index
        for index in found
        if not any(
            other != index
            and wordings[other] != wordings[index]
            and _option_pattern(wordings[index]).search(wordings[other])
            for other in found
        )
    }
    return LETTERS[kept.pop()] if len(kept) == 1 else None


def _normalised(text: str) -> str:
    return " ".join(text.split()).rstrip(".").strip()


def _option_pattern(wording: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(wording)}(?!\w)", re.IGNORECASE)
