"""The LLM judge (`Recipe.judge`, off by default) reads the multiple-choice answers the rules cannot, through
an OpenAI-compatible endpoint: a local stand-in for a hosted judge here. It never overrules a letter the
rules read, a verdict that is not an option letter is unreadable, and a judge that cannot be reached
leaves the answer unreadable without stopping the run."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from arena.services import model_register
from evaluation.benchmarks import BENCHMARKS, Benchmark, benchmark_register
from evaluation.conditions import STANDARD, conditions_of, questions_for
from evaluation.judge import choice_judge_for
from evaluation.recipes import Instruction, Recipe
from evaluation.runs import benchmark_run, item_score
from evaluation.services import evaluation_chunk_run, evaluation_run_start
from evaluation.tinyehub import tiny_ehub_items

pytestmark = pytest.mark.django_db

_LETTER = Instruction(name="letter", template="{question}\n{options}\nAnswer with the option's letter.")
_ORDINALS = {"first": "A", "second": "B", "third": "C", "fourth": "D"}


class _Judge:
    """A chat-completions endpoint that reads "the <ordinal> one" in the answer it is shown."""

    def __init__(self, *, reply: str | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply = reply
        judge = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                judge.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers["Authorization"]}
                )
                content = body["messages"][0]["content"]
                answer = content.split("Answer: ", 1)[1]
                found = re.search(r"\b(first|second|third|fourth)\b", answer)
                verdict = judge.reply or (_ORDINALS[found.group(1)] if found else "Z")
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": verdict}}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def judge(settings, monkeypatch) -> Iterator[_Judge]:
    served = _Judge()
    monkeypatch.setenv("JUDGE_TEST_KEY", "sk-judge")
    settings.EVALUATION_JUDGE_URL = served.url
    settings.EVALUATION_JUDGE_MODEL = "judge-model"
    settings.EVALUATION_JUDGE_KEY_ENV = "JUDGE_TEST_KEY"
    yield served
    served.close()


def _recipe(*, judge: bool) -> Recipe:
    return Recipe(
        name=f"judged-{judge}/choice",
        benchmark="judged",
        instructions=(_LETTER,),
        inferencer="choice",
        metrics=("accuracy",),
        max_new_tokens=16,
        judge=judge,
    )


def _choice_items() -> tuple:
    return tuple(item for item in tiny_ehub_items() if item.answer_type == "choice")[:6]


def _prompt_of(item, recipe):
    conditions = conditions_of(names=(STANDARD,), recipes={"choice": recipe})
    return questions_for(item=item, recipe=recipe, conditions=conditions)[0].prompt


def test_an_answer_the_rules_cannot_read_is_read_by_the_judge(judge):
    recipe = _recipe(judge=True)
    item = _choice_items()[0]
    prompt = _prompt_of(item, recipe)
    result = item_score(
        item=item,
        prompt=prompt,
        prediction="I'd go with the second one.",
        judge=choice_judge_for(recipe=recipe),
    )
    assert result.extracted == "B"
    assert result.correct == (prompt.answer == "B")
    sent = judge.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["auth"] == "Bearer sk-judge"
    assert sent["body"]["model"] == "judge-model"
    assert sent["body"]["temperature"] == 0
    assert prompt.options[1] in sent["body"]["messages"][0]["content"]


def test_a_letter_the_rules_read_is_never_sent_to_the_judge(judge):
    recipe = _recipe(judge=True)
    item = _choice_items()[0]
    result = item_score(
        item=item, prompt=_prompt_of(item, recipe), prediction="C", judge=choice_judge_for(recipe=recipe)
    )
    assert result.extracted == "C"
    assert judge.requests == []


def test_a_verdict_that_is_not_an_option_letter_leaves_the_answer_unreadable(judge):
    recipe = _recipe(judge=True)
    item = _choice_items()[0]
    prompt = _prompt_of(item, recipe)
    judge.reply = "Q"
    result = item_score(
        item=item, prompt=prompt, prediction="the second one", judge=choice_judge_for(recipe=recipe)
    )
    assert result.extracted is None and result.correct is False
    judge.reply = "Z"
    result = item_score(
        item=item, prompt=prompt, prediction="none of them", judge=choice_judge_for(recipe=recipe)
    )
    assert result.extracted is None


def test_the_judge_is_off_unless_the_recipe_turns_it_on_and_one_is_configured(judge, settings):
    assert choice_judge_for(recipe=_recipe(judge=False)) is None
    settings.EVALUATION_JUDGE_URL = ""
    assert choice_judge_for(recipe=_recipe(judge=True)) is None


def test_a_judge_that_cannot_be_reached_leaves_the_answer_unreadable(settings):
    served = _Judge()
    settings.EVALUATION_JUDGE_URL = served.url
    settings.EVALUATION_JUDGE_TIMEOUT_S = 2.0
    served.close()  # nothing listens there any more
    recipe = _recipe(judge=True)
    item = _choice_items()[0]
    result = item_score(
        item=item,
        prompt=_prompt_of(item, recipe),
        prediction="the second one",
        judge=choice_judge_for(recipe=recipe),
    )
    assert result.extracted is None and result.correct is False


@pytest.fixture
def judged_benchmark() -> Iterator[Benchmark]:
    benchmark = benchmark_register(
        benchmark=Benchmark(
            name="judged",
            description="test",
            items=_choice_items,
            version=lambda: "v1",
            recipes={"choice": _recipe(judge=True)},
        )
    )
    yield benchmark
    BENCHMARKS.pop(benchmark.name)


def test_runs_here_and_on_the_workers_score_through_the_judge_alike(judge, judged_benchmark):
    model = model_register(
        slug="ordinal-vl",
        display_name="Ordinal VL",
        adapter_kind="scripted",
        adapter_config={"text": "I think the second one is right."},
    )
    here = benchmark_run(benchmark=judged_benchmark, model=model)
    assert [result.extracted for result in here.results] == ["B"] * len(_choice_items())
    expected = sum(result.correct for result in here.results)
    assert expected == sum(
        1 for item in _choice_items() if _prompt_of(item, _recipe(judge=True)).answer == "B"
    )

    run = evaluation_run_start(model=model, benchmark="judged")
    for chunk in range(run.chunks_total):
        evaluation_chunk_run(run_id=run.pk, chunk=chunk)
    run.refresh_from_db()
    assert run.status == "finished"
    assert list(run.predictions.values_list("extracted", flat=True)) == ["B"] * len(_choice_items())
    assert run.predictions.filter(correct=True).count() == expected
