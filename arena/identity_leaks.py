"""The maintained list of words by which an answer gives away who wrote it (README "Which votes count").

A vote on a battle whose answers name a model or an organisation is stored but not counted
(arena.integrity): the voter may have voted for a name rather than an answer. The list is every
registered model's display name, slug and organisation, the built-in words below (product names and
labs, as the big arenas filter them, and phrases such as "I am a large language model trained by"),
and ARENA_IDENTITY_WORDS_EXTRA.

Matching is case-insensitive and by whole word: a word is not found inside a longer word ("Meta AI"
is not in "metadata"), though a version number may follow it ("Qwen" is in "Qwen2.5"). Spaces,
hyphens, dots and underscores inside a name are interchangeable or may be left out ("GPT-4o" is also
"gpt4o" and "GPT 4o"). Names that are also ordinary words are listed only in forms that are not:
"Meta AI" and "developed by Meta", never bare "Meta"; "Yi-34B", never bare "Yi"; "PaLM" in that
spelling only (a palm tree is no model); Llama with its version ("Llama 3"), never the animal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from django.conf import settings

from arena.models import Model
from arena.versions import MODELS
from core.versions import data_versions_get

# Product names and labs, matched as names (see the module's docstring for how).
BUILTIN_WORDS: Final = (
    # OpenAI
    "ChatGPT",
    "GPT-3",
    "GPT-3.5",
    "GPT-4",
    "GPT-4o",
    "GPT-4V",
    "GPT-4 Turbo",
    "GPT-4.1",
    "GPT-5",
    "o1-preview",
    "o1-mini",
    "o3-mini",
    "o4-mini",
    "OpenAI",
    "DALL-E",
    # Anthropic
    "Anthropic",
    # Google
    "Gemini",
    "Google Bard",
    "Google DeepMind",
    "DeepMind",
    "Google AI",
    "Google Brain",
    "Google Gemma",
    "LaMDA",
    # Meta
    "Meta AI",
    "Meta Llama",
    "Code Llama",
    "Llama Guard",
    # Mistral
    "Mistral",
    "Mistral AI",
    "Mixtral",
    "Pixtral",
    "Codestral",
    "Ministral",
    # Alibaba
    "Qwen",
    "Qianwen",
    "Tongyi",
    "Alibaba Cloud",
    "Alibaba Group",
    "DAMO Academy",
    # DeepSeek, 01.AI, Zhipu, Baichuan, Shanghai AI Lab, OpenBMB and others
    "DeepSeek",
    "01.AI",
    "Zhipu",
    "ChatGLM",
    "CogVLM",
    "CogAgent",
    "Baichuan",
    "InternLM",
    "InternVL",
    "Shanghai AI Laboratory",
    "Shanghai AI Lab",
    "MiniCPM",
    "OpenBMB",
    "ModelBest",
    "Moonshot AI",
    "Hunyuan",
    "Doubao",
    "ByteDance Seed",
    "StepFun",
    "SenseNova",
    "ERNIE Bot",
    "Wenxin Yiyan",
    # Open research models
    "LLaVA",
    "LLaVA-NeXT",
    "LMSYS",
    "Open Assistant",
    "LAION",
    "Allen Institute for AI",
    "AI2",
    "Tülu",
    "Tulu",
    "OLMo",
    "Molmo",
    "IDEFICS",
    "SmolVLM",
    "Florence-2",
    "BLIP-2",
    "InstructBLIP",
    # Microsoft, Cohere ("cohere" alone is a verb: see the phrases), xAI, Amazon, Reka, NVIDIA
    "Microsoft Research",
    "Microsoft Copilot",
    "Bing Chat",
    "Cohere For AI",
    "Cohere Labs",
    "Command R",
    "Command R+",
    "Aya Vision",
    "Aya Expanse",
    "Grok",
    "xAI",
    "Amazon Nova",
    "Amazon Titan",
    "Reka",
    "Nemotron",
)

# Families whose bare name is an ordinary word, and phrases: (what a match reports, the pattern).
_ORGS: Final = (
    r"(?:OpenAI|Anthropic|Google|DeepMind|Meta|Facebook|Microsoft|Amazon|Apple|NVIDIA|IBM|Alibaba|"
    r"Tencent|Baidu|ByteDance|Huawei|Mistral|Cohere|xAI|Hugging\s?Face|Zhipu|DeepSeek|01\.AI|Moonshot|"
    r"Shanghai\s+AI\s+Lab(?:oratory)?|Tsinghua|the\s+Allen\s+Institute|AI2|LMSYS|Stability\s+AI)"
)
BUILTIN_PATTERNS: Final = (
    ("Claude", r"claude(?![\s-]+(?:monet|debussy|lorrain|shannon|l[ée]vi-strauss))"),
    ("PaLM", r"(?-i:PaLM)"),
    ("LLaMA", r"(?-i:LLaMA)"),
    ("Llama", r"llama[\s._-]?\d"),
    ("Gemma", r"gemma[\s._-]?\d"),
    ("Bard", r"(?:i\s+am|i'm|i’m|my\s+name\s+is|this\s+is)\s+bard"),
    ("Yi", r"yi[\s._-]?(?:\d+(?:\.\d+)?b|large|lightning|vision|vl|coder)"),
    ("GLM", r"glm[\s._-]?\d"),
    ("Phi", r"phi[\s._-]?\d(?:\.\d)?"),
    ("Vicuna", r"vicuna[\s._-]?\d"),
    ("Koala", r"koala[\s._-]?\d+b"),
    ("Falcon", r"falcon[\s._-]?\d+b"),
    ("Kimi", r"kimi[\s._-]?(?:chat|vl|k?\d)"),
    ("Fuyu", r"fuyu[\s._-]?\d+b"),
    ("Nova", r"nova[\s._-]?(?:pro|lite|micro|premier)"),
    (
        "I am a large language model trained by",
        r"i(?:\s+am|'m|’m)\s+(?:a|an)\s+(?:large\s+)?(?:language|multimodal|vision[\s-]language)\s+model,?"
        r"\s+(?:trained|developed|created|built|made)\s+by",
    ),
    (
        "trained by an organisation",
        r"(?:trained|developed|created|built|made|designed|programmed|engineered|released|owned)\s+by\s+"
        r"(?:the\s+)?(?:(?:team|researchers|engineers|people)\s+(?:at|of)\s+)?" + _ORGS,
    ),
    (
        "a model from an organisation",
        r"(?:model|assistant|chatbot|AI)\s+(?:from|by|of|made\s+by)\s+" + _ORGS,
    ),
)

# Registered names shorter than this (letters and digits) or in this list are left out of the list:
# they are ordinary words ("A", "VL", "Plain"), found in any answer.
_MIN_REGISTERED_CHARS: Final = 4
_GENERIC: Final = frozenset(
    {
        "model", "models", "assistant", "chat", "chatbot", "demo", "base", "instruct", "vision",
        "large", "small", "medium", "tiny", "mini", "plain", "test", "default", "language", "llm",
        "vlm", "bot", "agent",
    }
)  # fmt: skip
_SEPARATORS: Final = r"[\s._-]?"
# Not inside a longer word: no letter or digit before; no letter after (a version number may follow a
# name, "Qwen2"), and no digit either after one that ends in a digit ("Model 1" is not in "Model 12").
_BEFORE: Final = r"(?<![^\W_])"
_AFTER: Final = r"(?![^\W\d_])"
_AFTER_DIGIT: Final = r"(?![^\W_])"


def _name_pattern(term: str) -> str | None:
    """A name as a pattern: its letter runs, digit runs and other signs, any separator between."""
    pieces = re.findall(r"[^\W\d_]+|\d+|[^\w\s.\-]+", term)
    if not pieces:
        return None
    after = _AFTER_DIGIT if pieces[-1].isdigit() else _AFTER
    return _SEPARATORS.join(re.escape(piece) for piece in pieces) + after


def _registered_kept(term: str) -> bool:
    plain = "".join(re.findall(r"[^\W_]+", term)).casefold()
    spaced = " ".join(re.findall(r"[^\W_]+", term)).casefold()
    return len(plain) >= _MIN_REGISTERED_CHARS and spaced not in _GENERIC


@dataclass(frozen=True)
class IdentityWords:
    """The list as matched: each entry's label and pattern, and all of them as one pattern."""

    entries: tuple[tuple[str, re.Pattern[str]], ...]
    pattern: re.Pattern[str]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label for label, _ in self.entries)


def identity_words_build(*, registered: Iterable[str], extra: Iterable[str] = ()) -> IdentityWords:
    """The list of `registered` names (kept only when they are no ordinary word), the built-in words
    and patterns, and `extra` words (kept as given)."""
    sources: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(label: str, body: str | None) -> None:
        if body and body.casefold() not in seen:
            seen.add(body.casefold())
            sources.append((label, body))

    for word in BUILTIN_WORDS:
        add(word, _name_pattern(word))
    for label, body in BUILTIN_PATTERNS:
        add(label, f"(?:{body}){_AFTER}")
    for word in registered:
        if word and _registered_kept(word):
            add(word, _name_pattern(word))
    for word in extra:
        add(word, _name_pattern(word))
    entries = tuple((label, re.compile(f"{_BEFORE}(?:{body})", re.IGNORECASE)) for label, body in sources)
    return IdentityWords(entries=entries, pattern=_combined(body for _, body in sources))


def _combined(bodies: Iterable[str]) -> re.Pattern[str]:
    """All the patterns as one, those that start with a letter or digit grouped under it: at each
    position of an answer the engine tries a few dozen first characters, not hundreds of names."""
    grouped: dict[str, list[str]] = {}
    others: list[str] = []
    # Longest first, so that "GPT-4o" is reported rather than "GPT-4" where both could match.
    for body in sorted(bodies, key=len, reverse=True):
        if body[0].isalnum():
            grouped.setdefault(body[0].lower(), []).append(body[1:])
        else:
            others.append(body)
    branches = [f"{re.escape(first)}(?:{'|'.join(rests)})" for first, rests in sorted(grouped.items())]
    return re.compile(f"{_BEFORE}(?:{'|'.join([*branches, *others])})", re.IGNORECASE)


# The list of the current models' version (and extra words): rebuilt when a model is saved.
_cached: dict[tuple[str, tuple[str, ...]], IdentityWords] = {}


def identity_words() -> IdentityWords:
    """The list as it stands: built once per models' data version (arena.versions.MODELS) in each
    process; read afresh from the models while the cache cannot tell the version."""
    extra = tuple(settings.ARENA_IDENTITY_WORDS_EXTRA)
    version = data_versions_get(MODELS)
    key = (version or "", extra)
    if version is not None and key in _cached:
        return _cached[key]
    registered = [
        name for row in Model.objects.values_list("display_name", "slug", "organization") for name in row
    ]
    words = identity_words_build(registered=registered, extra=extra)
    if version is not None:
        _cached.clear()
        _cached[key] = words
    return words


def answer_names_identity(*, text: str, words: IdentityWords) -> str | None:
    """The entry of `words` that `text` names (its label: the word, or what a pattern stands for),
    or None when it names none."""
    found = words.pattern.search(text or "")
    if found is None:
        return None
    named = found.group(0)
    for label, pattern in words.entries:
        if pattern.fullmatch(named):
            return label
    return named
