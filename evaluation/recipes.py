"""Benchmark recipes: scenario x instruction x inferencer x metric, declared as data.

A recipe names the item set it runs on (`benchmark`), the wordings it asks with (`instructions`), how an
answer is obtained and judged (`inferencer`) and what is reported (`metrics`, names from
`evaluation.metrics.METRICS`). A new benchmark is a new `Recipe`, registered in code or loaded from a JSON
file, not new plumbing. `prompts_for` turns one item into the prompts a run sends; it is deterministic, so a
resumed run asks exactly what the first attempt asked.

Pure Python: no Django, no project app, so recipes can be checked and prompts built anywhere.
"""

from __future__ import annotations

import json
import math
import os
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Protocol, cast, get_args

from evaluation.metrics import METRICS

InferencerKind = Literal["generate", "choice", "circular", "yesno", "likelihood"]
INFERENCERS: tuple[str, ...] = get_args(InferencerKind)
PLACEHOLDERS: tuple[str, ...] = ("question", "options", "hint")
LETTERS = string.ascii_uppercase
MAX_NEW_TOKENS_LIMIT = 8192

# The inferencers that show the options and expect a letter back: their wordings must show {options}.
_OPTIONS_SHOWN = frozenset({"choice", "circular"})
_OPTIONS_NEEDED = frozenset({"choice", "circular", "likelihood"})
# A metric that only makes sense for some inferencers (the rest suit any of them).
_METRIC_INFERENCERS: Mapping[str, frozenset[str]] = {
    "circular_accuracy": frozenset({"circular"}),
    "precision": frozenset({"yesno"}),
    "recall": frozenset({"yesno"}),
    "f1": frozenset({"yesno"}),
    "yes_ratio": frozenset({"yesno"}),
    "ece": frozenset({"likelihood"}),
    "chance_normalised": frozenset({"choice", "circular", "yesno", "likelihood"}),
}


class RecipeError(ValueError):
    """A recipe, or an item it is asked to prompt, that cannot be used; `problems` holds each reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(" ".join(self.problems))


class UnknownRecipe(RecipeError, LookupError):
    """No recipe is registered under the asked name."""


class PromptSource(Protocol):
    """What prompt building reads of an item (`evaluation.items.Item` has these fields)."""

    @property
    def id(self) -> str: ...
    @property
    def question(self) -> str: ...
    @property
    def options(self) -> tuple[str, ...]: ...
    @property
    def answer(self) -> str: ...
    @property
    def hint(self) -> str: ...


@dataclass(frozen=True)
class Instruction:
    """One wording of a benchmark's question: a template with {question}, {options} and {hint}.

    A line of the template whose placeholders are all empty (no hint, no options) is left out, so one
    template serves items with and without a hint ("Hint: {hint}" on a line of its own). Literal braces
    are written {{ and }}.
    """

    name: str
    template: str

    def __post_init__(self) -> None:
        problems = _instruction_problems(self)
        if problems:
            raise RecipeError(problems)

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(name for line in self.template.split("\n") for name in _fields(line))

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "template": self.template}


@dataclass(frozen=True)
class Recipe:
    """A benchmark run declared as data; constructing one validates it (a `RecipeError` lists why not).

    `instructions` holds one or more wordings (five or more for the stability analyses); `seed`,
    `temperature` and `max_new_tokens` are the generation parameters every prompt is sent with;
    `length_normalised` (likelihood only) scores an option by its mean rather than summed token
    log-probability; `judge` (choice and circular only, off by default) lets an LLM judge read answers the
    rules cannot. `general_task` names the General-Bench task whose score this recipe's accuracy is
    ("modality/group/name", "-" as the group of a language task: "image/comprehension/MMBench"): a
    finished run writes it, as a percentage, to the General-Level board.
    """

    name: str
    benchmark: str
    instructions: tuple[Instruction, ...]
    inferencer: InferencerKind
    metrics: tuple[str, ...]
    max_new_tokens: int = 64
    temperature: float = 0.0
    seed: int = 0
    length_normalised: bool = False
    judge: bool = False
    description: str = ""
    general_task: str = ""

    def __post_init__(self) -> None:
        problems = _recipe_problems(self)
        if problems:
            raise RecipeError(problems)

    def instruction(self, name: str) -> Instruction:
        for instruction in self.instructions:
            if instruction.name == name:
                return instruction
        raise RecipeError([f"Recipe {self.name!r} has no instruction named {name!r}."])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "benchmark": self.benchmark,
            "instructions": [instruction.to_dict() for instruction in self.instructions],
            "inferencer": self.inferencer,
            "metrics": list(self.metrics),
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
            "length_normalised": self.length_normalised,
            "judge": self.judge,
            "description": self.description,
            "general_task": self.general_task,
        }

    @property
    def general_task_key(self) -> tuple[str, str | None, str] | None:
        """(modality, group or None, task name) of `general_task`; None when it names none."""
        if not self.general_task:
            return None
        modality, group, name = self.general_task.split("/", 2)
        return modality, None if group == "-" else group, name

    @classmethod
    def from_dict(cls, data: object, *, origin: str = "The recipe") -> Recipe:
        """A recipe from decoded JSON; every problem found is reported at once, each as a sentence."""
        return recipe_from_dict(data=data, origin=origin)


@dataclass(frozen=True)
class Prompt:
    """One question as sent: its text, and the option order and right answer that text implies.

    `rotation` is 0 except for circular runs, where rotation r shows the options shifted left by r (the
    option at r comes first) and `answer` is the right letter in that order. For yes/no and free text,
    `answer` is the item's answer and `options` is empty.
    """

    item_id: str
    instruction: str
    text: str
    rotation: int = 0
    options: tuple[str, ...] = ()
    answer: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "instruction": self.instruction,
            "text": self.text,
            "rotation": self.rotation,
            "options": list(self.options),
            "answer": self.answer,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Prompt:
        return cls(
            item_id=str(data["item_id"]),
            instruction=str(data["instruction"]),
            text=str(data["text"]),
            rotation=int(data.get("rotation", 0)),
            options=tuple(str(option) for option in data.get("options", ())),
            answer=str(data.get("answer", "")),
        )


def options_text(*, options: Sequence[str]) -> str:
    """The options as shown to a model: one "A. text" line each."""
    return "\n".join(f"{LETTERS[index]}. {option.strip()}" for index, option in enumerate(options))


def prompt_text(*, template: str, question: str, options: Sequence[str] = (), hint: str = "") -> str:
    """A template (as `Instruction` validates it) filled in; a line whose placeholders are all empty is
    left out (see `Instruction`)."""
    values = {"question": question.strip(), "options": options_text(options=options), "hint": hint.strip()}
    lines = []
    for line in template.split("\n"):
        names = _fields(line)
        if names and not any(values[name] for name in names):
            continue
        lines.append(line.format_map(values))
    return "\n".join(lines)


def prompts_for(*, item: PromptSource, recipe: Recipe, instruction: Instruction) -> list[Prompt]:
    """The prompts one item needs under one of the recipe's wordings: one per rotation for circular
    runs, otherwise one. Raises `RecipeError` when the item does not fit the recipe's inferencer."""
    if instruction not in recipe.instructions:
        raise RecipeError(
            [f"Instruction {instruction.name!r} is not one of recipe {recipe.name!r}'s wordings."]
        )
    options = tuple(item.options)
    if recipe.inferencer in _OPTIONS_NEEDED:
        _choice_item_check(item=item, recipe=recipe)
    elif recipe.inferencer == "yesno" and item.answer not in ("yes", "no"):
        raise RecipeError(
            [f"Item {item.id!r} answers {item.answer!r}; the yes/no inferencer needs 'yes' or 'no'."]
        )
    if recipe.inferencer != "circular":
        text = prompt_text(
            template=instruction.template, question=item.question, options=options, hint=item.hint
        )
        return [
            Prompt(
                item_id=item.id, instruction=instruction.name, text=text, options=options, answer=item.answer
            )
        ]
    right = LETTERS.index(item.answer)
    prompts = []
    for rotation in range(len(options)):
        rotated = options[rotation:] + options[:rotation]
        text = prompt_text(
            template=instruction.template, question=item.question, options=rotated, hint=item.hint
        )
        letter = LETTERS[(right - rotation) % len(options)]
        prompts.append(
            Prompt(
                item_id=item.id,
                instruction=instruction.name,
                text=text,
                rotation=rotation,
                options=rotated,
                answer=letter,
            )
        )
    return prompts


_registry: dict[str, Recipe] = {}


def recipe_register(*, recipe: Recipe) -> Recipe:
    """Make a recipe findable by name; registering an equal recipe again is harmless, a different one
    under a taken name is refused."""
    known = _registry.get(recipe.name)
    if known is not None and known != recipe:
        raise RecipeError([f"A different recipe named {recipe.name!r} is already registered."])
    _registry[recipe.name] = recipe
    return recipe


def recipe_get(*, name: str) -> Recipe:
    try:
        return _registry[name]
    except KeyError:
        raise UnknownRecipe([f"There is no recipe named {name!r}."]) from None


def recipes_all() -> tuple[Recipe, ...]:
    """Every registered recipe, by name."""
    return tuple(_registry[name] for name in sorted(_registry))


def recipe_load(*, path: str | os.PathLike[str]) -> Recipe:
    """A recipe from a JSON file (the layout of `Recipe.to_dict`), validated."""
    origin = str(path)
    try:
        data = json.loads(Path(path).read_bytes())
    except OSError as error:
        raise RecipeError([f"{origin} cannot be read: {error.strerror or error}."]) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RecipeError([f"{origin} is not valid JSON ({error})."]) from None
    return recipe_from_dict(data=data, origin=origin)


def recipe_from_dict(*, data: object, origin: str = "The recipe") -> Recipe:
    """A recipe from decoded JSON; every problem found is reported at once, each as a sentence."""
    if not isinstance(data, Mapping):
        raise RecipeError([f"{origin} must be a JSON object."])
    problems = []
    known = set(Recipe.__dataclass_fields__)
    for key in sorted(set(data) - known, key=str):
        problems.append(f"{origin}: {key!r} is not a recipe field.")
    for key in ("name", "benchmark", "instructions", "inferencer", "metrics"):
        if key not in data:
            problems.append(f"{origin}: {key!r} is missing.")
    text_fields = ("name", "benchmark", "inferencer", "description", "general_task")
    for key in text_fields:
        if key in data and not isinstance(data[key], str):
            problems.append(f"{origin}: {key!r} must be a string.")
    for key in ("max_new_tokens", "seed"):
        if key in data and (isinstance(data[key], bool) or not isinstance(data[key], int)):
            problems.append(f"{origin}: {key!r} must be a whole number.")
    if "temperature" in data and (
        isinstance(data["temperature"], bool) or not isinstance(data["temperature"], int | float)
    ):
        problems.append(f"{origin}: 'temperature' must be a number.")
    for key in ("length_normalised", "judge"):
        if key in data and not isinstance(data[key], bool):
            problems.append(f"{origin}: {key!r} must be true or false.")
    metrics = data.get("metrics")
    if "metrics" in data and (not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics)):
        problems.append(f"{origin}: 'metrics' must be a list of metric names.")
    instructions: list[Instruction] = []
    raw_instructions = data.get("instructions")
    if "instructions" in data and not isinstance(raw_instructions, list):
        problems.append(f'{origin}: \'instructions\' must be a list of {{"name", "template"}} objects.')
    for index, raw in enumerate(raw_instructions if isinstance(raw_instructions, list) else []):
        label = f"{origin}: instruction {index + 1}"
        if (
            not isinstance(raw, Mapping)
            or set(raw) != {"name", "template"}
            or not all(isinstance(raw[key], str) for key in ("name", "template"))
        ):
            problems.append(
                f"{label} must be an object with exactly a string 'name' and a string 'template'."
            )
            continue
        try:
            instructions.append(Instruction(name=raw["name"], template=raw["template"]))
        except RecipeError as error:
            problems.extend(f"{origin}: {problem}" for problem in error.problems)
    if problems:
        raise RecipeError(problems)
    fields = {key: data[key] for key in known if key in data}
    fields["instructions"] = tuple(instructions)
    fields["metrics"] = tuple(cast(list[str], metrics))
    try:
        return Recipe(**fields)
    except RecipeError as error:
        raise RecipeError([f"{origin}: {problem}" for problem in error.problems]) from None


def _fields(line: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(line) if name is not None]


def _instruction_problems(instruction: Instruction) -> list[str]:
    label = f"Instruction {instruction.name!r}"
    problems = []
    if not isinstance(instruction.name, str) or not instruction.name.strip():
        problems.append("An instruction needs a name.")
    if not isinstance(instruction.template, str):
        return [*problems, f"{label}'s template must be a string."]
    names: set[str] = set()
    for line in instruction.template.split("\n"):
        try:
            parsed = list(string.Formatter().parse(line))
        except ValueError:
            problems.append(
                f"{label}'s template has an unmatched brace; write {{{{ or }}}} for a literal one."
            )
            continue
        for _, name, spec, conversion in parsed:
            if name is None:
                continue
            if name not in PLACEHOLDERS:
                allowed = ", ".join("{" + placeholder + "}" for placeholder in PLACEHOLDERS)
                problems.append(f"{label} uses {{{name}}}, which is not one of {allowed}.")
            elif spec or conversion:
                problems.append(f"{label} writes {{{name}}} with a format; placeholders take none.")
            names.add(name)
    if "question" not in names:
        problems.append(f"{label}'s template does not contain {{question}}.")
    return problems


def _recipe_problems(recipe: Recipe) -> list[str]:
    problems = []
    if not isinstance(recipe.name, str) or not recipe.name.strip():
        problems.append("A recipe needs a name.")
    label = f"Recipe {recipe.name!r}"
    if not isinstance(recipe.benchmark, str) or not recipe.benchmark.strip():
        problems.append(f"{label} needs the benchmark (scenario) it runs on.")
    if recipe.inferencer not in INFERENCERS:
        problems.append(
            f"{label}: {recipe.inferencer!r} is not an inferencer; use one of {', '.join(INFERENCERS)}."
        )
    if not isinstance(recipe.instructions, tuple) or not recipe.instructions:
        problems.append(f"{label} needs at least one instruction.")
    else:
        names = [instruction.name for instruction in recipe.instructions]
        for name in sorted({name for name in names if names.count(name) > 1}):
            problems.append(f"{label} has two instructions named {name!r}.")
        if recipe.inferencer in _OPTIONS_SHOWN:
            for instruction in recipe.instructions:
                if "options" not in instruction.placeholders:
                    problems.append(
                        f"{label}: instruction {instruction.name!r} does not show {{options}}, "
                        f"which the {recipe.inferencer} inferencer needs."
                    )
    if not isinstance(recipe.metrics, tuple) or not recipe.metrics:
        problems.append(f"{label} needs at least one metric.")
    else:
        for metric in recipe.metrics:
            if metric not in METRICS:
                problems.append(
                    f"{label}: {metric!r} is not a metric; use one of {', '.join(sorted(METRICS))}."
                )
            elif metric in _METRIC_INFERENCERS and recipe.inferencer not in _METRIC_INFERENCERS[metric]:
                suits = " or ".join(sorted(_METRIC_INFERENCERS[metric]))
                problems.append(f"{label}: the {metric} metric needs the {suits} inferencer.")
        for metric in sorted({m for m in recipe.metrics if recipe.metrics.count(m) > 1}):
            problems.append(f"{label} lists the {metric} metric twice.")
    if (
        isinstance(recipe.max_new_tokens, bool)
        or not isinstance(recipe.max_new_tokens, int)
        or not 1 <= recipe.max_new_tokens <= MAX_NEW_TOKENS_LIMIT
    ):
        problems.append(f"{label}: max_new_tokens must be a whole number from 1 to {MAX_NEW_TOKENS_LIMIT}.")
    if (
        isinstance(recipe.temperature, bool)
        or not isinstance(recipe.temperature, int | float)
        or not math.isfinite(recipe.temperature)
        or recipe.temperature < 0
    ):
        problems.append(f"{label}: temperature must be a number of at least 0.")
    if isinstance(recipe.seed, bool) or not isinstance(recipe.seed, int) or recipe.seed < 0:
        problems.append(f"{label}: seed must be a whole number of at least 0.")
    if recipe.length_normalised and recipe.inferencer != "likelihood":
        problems.append(f"{label}: length_normalised applies only to the likelihood inferencer.")
    if recipe.judge and recipe.inferencer not in _OPTIONS_SHOWN:
        problems.append(f"{label}: the LLM judge reads multiple-choice answers only (choice or circular).")
    if recipe.general_task:
        problems.extend(_general_task_problems(label, recipe.general_task))
    return problems


_GENERAL_MODALITIES: Final = ("image", "video", "audio", "3d", "nlp")
_GENERAL_GROUPS: Final = ("comprehension", "generation")


def _general_task_problems(label: str, task: object) -> list[str]:
    parts = task.split("/", 2) if isinstance(task, str) else []
    shape = f"{label}: general_task must read modality/group/name, as image/comprehension/MMBench"
    if len(parts) != 3 or not parts[2].strip():
        return [f"{shape}."]
    modality, group, _ = parts
    if modality not in _GENERAL_MODALITIES:
        return [f"{shape}; the modality is one of {', '.join(_GENERAL_MODALITIES)}, not {modality!r}."]
    if modality == "nlp" and group != "-":
        return [f"{label}: a language (nlp) task has no group; write nlp/-/<name>."]
    if modality != "nlp" and group not in _GENERAL_GROUPS:
        return [f"{shape}; the group is comprehension or generation, not {group!r}."]
    return []


def _choice_item_check(*, item: PromptSource, recipe: Recipe) -> None:
    count = len(item.options)
    if count < 2:
        raise RecipeError(
            [f"Item {item.id!r} has fewer than two options; the {recipe.inferencer} inferencer needs them."]
        )
    if count > len(LETTERS):
        raise RecipeError([f"Item {item.id!r} has {count} options; at most {len(LETTERS)} can be lettered."])
    if item.answer not in tuple(LETTERS[:count]):
        raise RecipeError(
            [
                f"Item {item.id!r} answers {item.answer!r}, "
                f"which is not one of its option letters A-{LETTERS[count - 1]}."
            ]
        )
