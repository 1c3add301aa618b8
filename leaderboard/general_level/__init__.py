"""General-Level scorer (arXiv 2505.04620, "On Path to Multimodal Generalist").

Pure Python: no Django here. Start with `general_level_load_json` or `general_level_load_xlsx`
for files, or `task_build` + `general_level_score` for data already in hand; then
`GeneralLevelReport.to_dict()` (CLI contract), `.to_api_dict()` (API) and
`general_level_explain` (worked example for the explanation page).
"""

from leaderboard.general_level.errors import GeneralLevelInputError, MetricValueError
from leaderboard.general_level.import_result import (
    GeneralLevelImport,
    ImportReport,
    ScoredModel,
    SkipKind,
    Skipped,
)
from leaderboard.general_level.json_loader import (
    general_level_load_json,
    general_level_parse_json,
)
from leaderboard.general_level.level_scoring import general_level_score, task_score
from leaderboard.general_level.metric_normalisation import (
    MetricRule,
    metric_explain,
    metric_normalise,
    metric_resolve,
)
from leaderboard.general_level.report import (
    GeneralLevelReport,
    GroupScore,
    LanguageScore,
    ModalityScore,
    TaskScore,
)
from leaderboard.general_level.tasks import Task, task_build
from leaderboard.general_level.taxonomy import NON_LANGUAGE_MODALITIES, Group, Modality
from leaderboard.general_level.worked_example import (
    FormulaStep,
    LanguageExample,
    ModalityExample,
    NormalisedTask,
    WorkedExample,
    general_level_explain,
)
from leaderboard.general_level.xlsx_loader import general_level_load_xlsx

__all__ = [
    "NON_LANGUAGE_MODALITIES",
    "FormulaStep",
    "GeneralLevelImport",
    "GeneralLevelInputError",
    "GeneralLevelReport",
    "Group",
    "GroupScore",
    "ImportReport",
    "LanguageExample",
    "LanguageScore",
    "MetricRule",
    "MetricValueError",
    "Modality",
    "ModalityExample",
    "ModalityScore",
    "NormalisedTask",
    "ScoredModel",
    "SkipKind",
    "Skipped",
    "Task",
    "TaskScore",
    "WorkedExample",
    "general_level_explain",
    "general_level_load_json",
    "general_level_load_xlsx",
    "general_level_parse_json",
    "general_level_score",
    "metric_explain",
    "metric_normalise",
    "metric_resolve",
    "task_build",
    "task_score",
]
