"""The one error family the General-Level scorer raises for bad input."""

from __future__ import annotations


class GeneralLevelInputError(ValueError):
    """Input a person must fix; the message names the task, model, sheet or row at fault."""


class MetricValueError(GeneralLevelInputError):
    """A raw value outside what its metric can take (e.g. a negative FID)."""
