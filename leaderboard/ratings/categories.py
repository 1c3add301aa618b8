"""Rule-based prompt categories, and selecting the battles of one category.

Every rule is a plain list of case-insensitive regular expressions kept in CATEGORY_RULES below,
so anyone can see why a prompt got a label. A prompt can get several labels.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Final

import numpy as np

from leaderboard.ratings.battle_set import BattleSet, battles_filter

MODALITY_LABELS: Final[tuple[str, ...]] = ("image", "video", "audio", "text")


@dataclass(frozen=True)
class CategoryRule:
    label: str
    patterns: tuple[str, ...]
    needs_visual: bool = False  # only when an image or video comes with the prompt


CATEGORY_RULES: Final[tuple[CategoryRule, ...]] = (
    CategoryRule(
        "ocr",
        (
            r"\bocr\b",
            r"\btranscribe\b",
            r"\bextract (?:the |all )?(?:text|words)\b",
            r"\bread (?:out |off )?(?:the|this|that|all|what)\b",
            r"\bwhat (?:does|do) (?:the|this|that|it)\b.{0,40}\bsay\b",
            r"\bwhat(?:'s| is) written\b",
            r"\b(?:text|words?|writing|letters|handwriting) (?:in|on|from) (?:the|this|that)\b",
        ),
        needs_visual=True,
    ),
    CategoryRule("counting", (r"\bhow many\b", r"\bcount(?:ing)?\b", r"\bnumber of\b")),
    CategoryRule(
        "chart",
        (
            r"\b(?:bar |pie |line )?charts?\b",
            r"\bdiagrams?\b",
            r"\btables?\b",
            r"\bplots?\b",
            r"\bgraphs?\b",
            r"\b[xy]-axis\b",
            r"\baxes\b",
            r"\blegend\b",
            r"\bhistograms?\b",
            r"\bflowcharts?\b",
            r"\binfographics?\b",
        ),
    ),
    CategoryRule(
        "captioning",
        (
            r"\bdescribe\b",
            r"\bdescription\b",
            r"\bcaptions?\b",
            r"\bwhat(?:'s| is) (?:in|happening in|going on in|shown in) (?:the|this)\b",
            r"\bwhat do you see\b",
            r"\btell me about (?:the|this) (?:image|picture|photo|video|clip)\b",
        ),
    ),
    CategoryRule(
        "reasoning",
        (
            r"\bwhy\b",
            r"\bexplain\b",
            r"\breason(?:ing)?\b",
            r"\bprove\b",
            r"\bsolve\b",
            r"\bcalculate\b",
            r"\bcompute\b",
            r"\bstep[- ]by[- ]step\b",
            r"\bequations?\b",
            r"\bmath(?:s|ematics)?\b",
            r"\bprobability\b",
            r"\bderivative\b",
            r"\bintegral\b",
            r"\bpuzzle\b",
            r"\blogic(?:al)?\b",
            r"\d\s*[-+*/^=×÷]\s*\d",
        ),
    ),
    CategoryRule(
        "code",
        (
            r"```",
            r"\bcode\b",
            r"\bpython\b",
            r"\bjavascript\b",
            r"\btypescript\b",
            r"\bjava\b",
            r"\bc\+\+",
            r"\brust\b",
            r"\bsql\b",
            r"\bhtml\b",
            r"\bcss\b",
            r"\bfunction\b",
            r"\bdef \w+\(",
            r"\bregex\b",
            r"\bcompile[rd]?\b",
            r"\bdebug\b",
            r"\bscript\b",
            r"\balgorithm\b",
        ),
    ),
)


def _word_set(*groups: str) -> frozenset[str]:
    return frozenset(word for group in groups for word in group.split())


# Words that are common in other languages and rare in English prompts (no English homographs).
NON_ENGLISH_STOPWORDS: Final[frozenset[str]] = _word_set(
    "el los las una por para qué que cómo es del con esta este imagen puedes",  # Spanish
    "le les une des est et pour dans qui quoi cette avec sur pas je vous du au cet",  # French
    "der das und ist nicht ein eine mit auf für wie ich sie dem den zu bild diese dieses",  # German
    "il della che non sono questa questo gli perché di",  # Italian
    "não uma você isso esse essa",  # Portuguese
    "het een niet ik wat zijn deze",  # Dutch
)
ENGLISH_STOPWORDS: Final[frozenset[str]] = _word_set(
    "the and is are was what this that of to in it how you with for on be can please image picture",
    "photo describe show tell me my your a an do does which who where when there",
)
_WORD: Final = re.compile(r"[^\W\d_]+", re.UNICODE)
_COMPILED: Final[tuple[tuple[CategoryRule, tuple[re.Pattern[str], ...]], ...]] = tuple(
    (rule, tuple(re.compile(pattern, re.IGNORECASE) for pattern in rule.patterns)) for rule in CATEGORY_RULES
)


def _is_latin(char: str) -> bool:
    code = ord(char)
    return code < 0x0250 or 0x1E00 <= code <= 0x1EFF


def text_is_non_english(*, text: str) -> bool:
    """Mostly letters outside the Latin script, or more non-English than English stopwords (>= 2)."""
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return False
    if sum(not _is_latin(char) for char in letters) > 0.5 * len(letters):
        return True
    words = [word.lower() for word in _WORD.findall(text)]
    foreign = sum(word in NON_ENGLISH_STOPWORDS for word in words)
    english = sum(word in ENGLISH_STOPWORDS for word in words)
    return foreign >= 2 and foreign > english


def categories_label(
    *, text: str, has_image: bool = False, has_video: bool = False, has_audio: bool = False, turns: int = 1
) -> frozenset[str]:
    """Labels for one prompt: its modality (image/video/audio, or text when none) and every rule
    in CATEGORY_RULES that matches, plus non_english and multi_turn (more than one user turn)."""
    labels: set[str] = set()
    for flag, label in ((has_image, "image"), (has_video, "video"), (has_audio, "audio")):
        if flag:
            labels.add(label)
    if not labels:
        labels.add("text")
    visual = has_image or has_video
    for rule, patterns in _COMPILED:
        if rule.needs_visual and not visual:
            continue
        if any(pattern.search(text) for pattern in patterns):
            labels.add(rule.label)
    if text_is_non_english(text=text):
        labels.add("non_english")
    if turns > 1:
        labels.add("multi_turn")
    return frozenset(labels)


@dataclass(frozen=True, eq=False)
class CategorySelection:
    """The battles of one category, and the models with enough of them to be shown."""

    category: str
    battles: BattleSet
    displayed: tuple[str, ...]


def battles_filter_category(
    *, battles: BattleSet, labels: Sequence[AbstractSet[str]], category: str, min_battles: int = 0
) -> CategorySelection:
    """Keep battles whose prompt carries `category` (labels[i] belongs to battle i).

    All kept battles still feed the fit; `displayed` lists the models with at least `min_battles`
    battles in the category, the ones worth showing.
    """
    if len(labels) != len(battles):
        raise ValueError(f"got labels for {len(labels)} battles, expected {len(battles)}")
    mask = np.fromiter((category in item for item in labels), np.bool_, len(labels))
    chosen = battles_filter(battles=battles, mask=mask)
    m = len(chosen.models)
    per_model = np.bincount(chosen.model_a, minlength=m) + np.bincount(chosen.model_b, minlength=m)
    displayed = tuple(
        name for name, count in zip(chosen.models, per_model.tolist(), strict=True) if count >= min_battles
    )
    return CategorySelection(category=category, battles=chosen, displayed=displayed)
