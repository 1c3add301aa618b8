"""The LLM judge a recipe may turn on (`Recipe.judge`, off by default): an OpenAI-compatible chat
endpoint reads a multiple-choice answer that the rules (`evaluation.answers.choice_extract`) could not.

Only answers the rules find nothing in are sent, so a judge never overrules a clear letter, and its
verdict is kept only when it is one of the item's option letters (`choice_resolve`). It is asked at
temperature 0 with a fixed prompt, in the spirit of VLMEvalKit's answer-matching judge. A judge that
cannot be reached, or that answers anything else, leaves the answer unreadable (scored wrong), as
exact matching would; the run goes on, and the failure is logged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import httpx
from django.conf import settings

from evaluation.answers import LETTERS, ChoiceJudge
from evaluation.recipes import Recipe

logger = logging.getLogger(__name__)

# "Z": none of the options; anything that is not an option letter is read the same way.
_PROMPT: Final = (
    "You match a person's answer to a multiple-choice question with the option it chooses.\n"
    "Options:\n{options}\n"
    "Answer: {answer}\n"
    "Reply with only the letter of the option the answer chooses, or Z if it chooses none or several."
)


@dataclass(frozen=True)
class JudgeEndpoint:
    base_url: str  # ".../v1"
    model: str
    api_key: str | None
    timeout_s: float


def judge_endpoint_configured() -> JudgeEndpoint | None:
    """The judge the settings name (EVALUATION_JUDGE_URL, _MODEL, _KEY_ENV, _TIMEOUT_S), or None."""
    url = settings.EVALUATION_JUDGE_URL.strip()
    if not url:
        return None
    key_env = settings.EVALUATION_JUDGE_KEY_ENV
    return JudgeEndpoint(
        base_url=url.rstrip("/"),
        model=settings.EVALUATION_JUDGE_MODEL,
        api_key=os.environ.get(key_env) if key_env else None,
        timeout_s=settings.EVALUATION_JUDGE_TIMEOUT_S,
    )


class ChatChoiceJudge:
    """Asks `endpoint`'s chat completions which option an answer chooses (a `ChoiceJudge`)."""

    def __init__(self, *, endpoint: JudgeEndpoint) -> None:
        self.endpoint = endpoint

    def __call__(self, answer_text: str, options: Sequence[str]) -> str | None:
        listed = "\n".join(f"{letter}. {text}" for letter, text in zip(LETTERS, options, strict=False))
        body = {
            "model": self.endpoint.model,
            "messages": [{"role": "user", "content": _PROMPT.format(options=listed, answer=answer_text)}],
            "temperature": 0,
            "max_tokens": 4,
            "stream": False,
        }
        headers = {"Authorization": f"Bearer {self.endpoint.api_key}"} if self.endpoint.api_key else {}
        try:
            response = httpx.post(
                f"{self.endpoint.base_url}/chat/completions",
                json=body,
                headers=headers,
                timeout=self.endpoint.timeout_s,
            )
            response.raise_for_status()
            content = response.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as error:
            logger.warning("the LLM judge gave no verdict (%s); the answer stays unreadable", error)
            return None
        verdict = str(content or "").strip().strip(".").upper()[:1]
        return verdict or None


def choice_judge_for(*, recipe: Recipe) -> ChoiceJudge | None:
    """The judge for `recipe`'s answers: only where the recipe turns it on and a judge is configured."""
    if not recipe.judge:
        return None
    endpoint = judge_endpoint_configured()
    return None if endpoint is None else ChatChoiceJudge(endpoint=endpoint)
