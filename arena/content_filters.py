"""Text moderation where prompts enter the arena, behind one interface (README "Content filters").

`text_moderate(text=...)` asks every configured `TextModerator` and returns the strictest
`TextVerdict`: "block" (the prompt is refused), "flag" (it goes ahead, and the battle's `flags` put
it in the moderators' queue) or "allow". Two moderators exist:

- `RulesModerator`, offline, always on unless ARENA_TEXT_FILTER_RULES is empty: word and pattern
  lists per language from a JSON file (`arena/filter_rules/default.json` by default). Every
  language's lists apply to every text, since one prompt may mix languages. Words match whole
  words, case-insensitively, after NFKC, case folding, accent and zero-width stripping; a second
  pass undoes common l33t digits and letters spaced or dotted apart ("k 1 l l"), which catches
  light evasion without a lexicon. Words in scripts written without spaces (Chinese, Japanese,
  Thai) match anywhere. Patterns are regular expressions on the NFKC-casefolded text; one may
  demand a checksum ("luhn" for card numbers, "iban") or a least number of digits, so that
  ordinary numbers are not taken for personal data. A bad file is refused at startup.
- `ClassifierModerator`, when ARENA_TEXT_CLASSIFIER_URL is set: an OpenAI-compatible
  `POST {url}/moderations`. While it cannot be reached, ARENA_TEXT_CLASSIFIER_FAIL_CLOSED decides:
  refuse every prompt with a 503 sentence, or let prompts through and log each miss.
"""

from __future__ import annotations

import json
import logging
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal, Protocol

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.errors import Unavailable

logger = logging.getLogger(__name__)

Action = Literal["allow", "flag", "block"]
_SEVERITY: Final[dict[str, int]] = {"allow": 0, "flag": 1, "block": 2}
_ACTIONS: Final = ("flag", "block")
_CHECKS: Final = ("luhn", "iban")
# Battle.flags holds reasons of at most 120 characters.
REASON_MAX: Final = 120
UNAVAILABLE: Final = "The content check is unavailable; please try again shortly."

# Digits and signs that stand in for letters ("k1ll", "@ss"); only the second matching pass uses them.
_LEET: Final = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_WORD: Final = re.compile(r"\w+")


@dataclass(frozen=True)
class TextVerdict:
    action: Action
    reasons: list[str] = field(default_factory=list)


ALLOW: Final = TextVerdict(action="allow")


class TextModerator(Protocol):
    def moderate(self, *, text: str) -> TextVerdict: ...


def _verdicts_join(verdicts: Iterable[TextVerdict]) -> TextVerdict:
    action: Action = "allow"
    reasons: list[str] = []
    for verdict in verdicts:
        if _SEVERITY[verdict.action] > _SEVERITY[action]:
            action = verdict.action
        reasons.extend(reason for reason in verdict.reasons if reason not in reasons)
    return TextVerdict(action=action, reasons=reasons)


# --- the offline rules ---------------------------------------------------------------------------


def _unspaced(char: str) -> bool:
    """A character of a script written without spaces between words (CJK, kana, Thai, Lao, Khmer)."""
    code = ord(char)
    return (
        0x3040 <= code <= 0x30FF
        or 0x3400 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x0E00 <= code <= 0x0EFF
        or 0x1780 <= code <= 0x17FF
    )


def text_fold(text: str) -> str:
    """NFKC (full-width and styled letters to plain ones), case folded, format characters (zero-width
    spaces and joiners, soft hyphens) dropped: what patterns read."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(char for char in folded if unicodedata.category(char) != "Cf")


def _accents_strip(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text)


def _spacing_joined(tokens: Sequence[str]) -> list[str]:
    """Runs of two or more one-letter tokens joined into one word ("k y s" -> "kys")."""
    joined: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1:
            run.append(token)
            continue
        if len(run) >= 2:
            joined.append("".join(run))
        else:
            joined.extend(run)
        run = []
        if token:
            joined.append(token)
    return joined


def _word_forms(text: str) -> list[list[str]]:
    """The token lists a word list is matched against: as written, and with l33t and spacing undone."""
    plain = _accents_strip(text_fold(text))
    as_written = _tokens(plain)
    leet = _tokens(plain.translate(_LEET))
    return [as_written, _spacing_joined(as_written), leet, _spacing_joined(leet)]


@dataclass(frozen=True)
class _Pattern:
    name: str
    regex: re.Pattern[str]
    check: str | None
    min_digits: int

    def found(self, text: str) -> bool:
        for match in self.regex.finditer(text):
            digits = [int(c) for c in match.group() if c.isdigit()]
            if len(digits) < self.min_digits:
                continue
            if self.check == "luhn" and not _luhn_ok(digits):
                continue
            if self.check == "iban" and not _iban_ok(match.group()):
                continue
            return True
        return False


def _luhn_ok(digits: Sequence[int]) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return len(digits) >= 12 and total % 10 == 0


def _iban_ok(text: str) -> bool:
    compact = re.sub(r"\s", "", text).upper()
    if not 15 <= len(compact) <= 34 or not compact.isalnum():
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in moved)) % 97 == 1


@dataclass(frozen=True)
class _Rules:
    language: str
    action: Action
    words: tuple[tuple[str, tuple[str, ...]], ...]  # (the word as listed, its tokens)
    unspaced: tuple[tuple[str, str], ...]  # (the word as listed, its folded form): matched anywhere
    patterns: tuple[_Pattern, ...]

    def hits(self, *, folded: str, forms: list[list[str]]) -> list[str]:
        reasons: list[str] = []
        if self.words:
            sets = [set(tokens) for tokens in forms]
            padded = [f" {' '.join(tokens)} " for tokens in forms]
            for listed, tokens in self.words:
                if len(tokens) == 1:
                    hit = any(tokens[0] in found for found in sets)
                else:
                    phrase = f" {' '.join(tokens)} "
                    hit = any(phrase in text for text in padded)
                if hit:
                    reasons.append(f"{self.language} word: {listed}")
        if self.unspaced:
            squeezed = ["".join(tokens) for tokens in forms]
            reasons.extend(
                f"{self.language} word: {listed}"
                for listed, form in self.unspaced
                if any(form in text for text in squeezed)
            )
        reasons.extend(f"{self.language} pattern: {p.name}" for p in self.patterns if p.found(folded))
        return [reason[:REASON_MAX] for reason in reasons]


class RulesModerator:
    """The word and pattern lists of one rules file (see the module docstring)."""

    def __init__(self, rules: Sequence[_Rules]) -> None:
        self.rules = tuple(rules)

    def moderate(self, *, text: str) -> TextVerdict:
        folded = text_fold(text)
        forms = _word_forms(text)
        verdicts = []
        for rules in self.rules:
            reasons = rules.hits(folded=folded, forms=forms)
            if reasons:
                verdicts.append(TextVerdict(action=rules.action, reasons=reasons))
        return _verdicts_join(verdicts)


def _refuse(path: Path, where: str, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"ARENA_TEXT_FILTER_RULES ({path}): {where} {problem}.")


def _pattern_load(path: Path, where: str, entry: object) -> _Pattern:
    if isinstance(entry, str):
        entry = {"regex": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("regex"), str):
        raise _refuse(path, where, 'must be a regular expression or {"name", "regex"[, "check"]}')
    unknown = set(entry) - {"name", "regex", "check", "min_digits"}
    if unknown:
        raise _refuse(path, where, f"has unknown keys {', '.join(sorted(unknown))}")
    check = entry.get("check")
    if check is not None and check not in _CHECKS:
        raise _refuse(path, where, f"has check {check!r}; the checks are {', '.join(_CHECKS)}")
    min_digits = entry.get("min_digits", 0)
    if not isinstance(min_digits, int) or min_digits < 0:
        raise _refuse(path, where, "has a min_digits that is not a whole number")
    try:
        regex = re.compile(entry["regex"], re.IGNORECASE)
    except re.error as error:
        raise _refuse(path, where, f"is not a valid regular expression ({error})") from None
    name = entry.get("name") or entry["regex"]
    return _Pattern(name=str(name), regex=regex, check=check, min_digits=min_digits)


def _rules_load(path: Path, language: str, action: Action, lists: object) -> _Rules:
    where = f"{language}.{action}"
    if not isinstance(lists, dict) or set(lists) - {"words", "patterns"}:
        raise _refuse(path, where, 'must be an object with "words" and/or "patterns" lists')
    words = lists.get("words", [])
    patterns = lists.get("patterns", [])
    if not isinstance(words, list) or not all(isinstance(word, str) and word.strip() for word in words):
        raise _refuse(path, f"{where}.words", "must be a list of non-empty strings")
    if not isinstance(patterns, list):
        raise _refuse(path, f"{where}.patterns", "must be a list")
    spaced: list[tuple[str, tuple[str, ...]]] = []
    unspaced: list[tuple[str, str]] = []
    for word in words:
        tokens = tuple(_tokens(_accents_strip(text_fold(word))))
        if not tokens:
            raise _refuse(path, f"{where}.words", f"holds {word!r}, which has no letters or digits")
        if any(_unspaced(char) for char in word):
            unspaced.append((word, "".join(tokens)))
        else:
            spaced.append((word, tokens))
    return _Rules(
        language=language,
        action=action,
        words=tuple(spaced),
        unspaced=tuple(unspaced),
        patterns=tuple(
            _pattern_load(path, f"{where}.patterns[{i}]", entry) for i, entry in enumerate(patterns)
        ),
    )


@lru_cache(maxsize=8)
def text_rules_load(*, path: str) -> RulesModerator:
    """The moderator of one rules file; a missing, malformed or invalid file is ImproperlyConfigured."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise ImproperlyConfigured(f"ARENA_TEXT_FILTER_RULES ({file}) cannot be read: {error}.") from None
    except ValueError as error:
        raise ImproperlyConfigured(f"ARENA_TEXT_FILTER_RULES ({file}) is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise _refuse(file, "the file", 'must be an object: {"<language>": {"flag": {...}, "block": {...}}}')
    rules: list[_Rules] = []
    for language, actions in data.items():
        if language.startswith("_"):  # comments
            continue
        if not isinstance(actions, dict) or set(actions) - set(_ACTIONS):
            raise _refuse(file, language, 'must be an object with "flag" and/or "block"')
        for action in _ACTIONS:
            if action in actions:
                rules.append(_rules_load(file, language, action, actions[action]))
    return RulesModerator(rules)


# --- the external classifier ---------------------------------------------------------------------


class ClassifierModerator:
    """An OpenAI-compatible moderation endpoint: `POST {url}/moderations` with `{"input": text}`,
    answered `{"results": [{"flagged": bool, "categories": {name: bool}}]}`."""

    def __init__(
        self, *, url: str, key_env: str, timeout_s: float, fail_closed: bool, action: Action
    ) -> None:
        self.url = url.rstrip("/") + "/moderations"
        self.key_env = key_env
        self.timeout_s = timeout_s
        self.fail_closed = fail_closed
        self.action = action

    def _result(self, text: str) -> dict[str, Any]:
        key = os.environ.get(self.key_env, "") if self.key_env else ""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = httpx.post(self.url, json={"input": text}, headers=headers, timeout=self.timeout_s)
        response.raise_for_status()
        result = response.json()["results"][0]
        if not isinstance(result, dict) or not isinstance(result.get("flagged"), bool):
            raise ValueError("the answer has no results[0].flagged")
        return result

    def moderate(self, *, text: str) -> TextVerdict:
        try:
            result = self._result(text)
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as error:
            if self.fail_closed:
                logger.warning("text classifier unavailable, prompt refused: %r", error)
                raise Unavailable(UNAVAILABLE) from None
            logger.warning("text classifier unavailable, prompt let through unchecked: %r", error)
            return ALLOW
        if not result["flagged"]:
            return ALLOW
        categories = result.get("categories")
        names = (
            sorted(name for name, on in categories.items() if on is True)
            if isinstance(categories, dict)
            else []
        )
        reasons = [f"classifier: {name}"[:REASON_MAX] for name in names] or ["classifier: flagged"]
        return TextVerdict(action=self.action, reasons=reasons)


# --- the interface -------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _moderators(
    rules_path: str, url: str, key_env: str, timeout_s: float, fail_closed: bool, action: Action
) -> tuple[TextModerator, ...]:
    moderators: list[TextModerator] = []
    if rules_path:
        moderators.append(text_rules_load(path=rules_path))
    if url:
        moderators.append(
            ClassifierModerator(
                url=url, key_env=key_env, timeout_s=timeout_s, fail_closed=fail_closed, action=action
            )
        )
    return tuple(moderators)


def text_moderators() -> tuple[TextModerator, ...]:
    """The moderators the settings configure (built once per configuration)."""
    return _moderators(
        settings.ARENA_TEXT_FILTER_RULES,
        settings.ARENA_TEXT_CLASSIFIER_URL,
        settings.ARENA_TEXT_CLASSIFIER_KEY_ENV,
        float(settings.ARENA_TEXT_CLASSIFIER_TIMEOUT_S),
        bool(settings.ARENA_TEXT_CLASSIFIER_FAIL_CLOSED),
        settings.ARENA_TEXT_CLASSIFIER_ACTION,
    )


def text_moderate(*, text: str) -> TextVerdict:
    """The strictest verdict of the configured moderators, with every reason they gave.

    The offline rules answer first: a text they block is not sent to the classifier. Raises
    Unavailable (503) when the classifier cannot be reached and the check fails closed.
    """
    verdicts = []
    for moderator in text_moderators():
        verdict = moderator.moderate(text=text)
        verdicts.append(verdict)
        if verdict.action == "block":
            break
    return _verdicts_join(verdicts)
