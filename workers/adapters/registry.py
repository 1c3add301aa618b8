"""Builds adapters from a model's kind and configuration, and keeps each one for the life of the process."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from workers.adapters.base import ModelAdapter
from workers.adapters.settings import (
    AdapterSettings,
    OpenAISettings,
    ScriptedSettings,
    TransformersSettings,
    settings_parse,
    settings_problems,
)


@dataclass(frozen=True)
class _Entry:
    fingerprint: str
    adapter: ModelAdapter


_entries: dict[str, _Entry] = {}
_key_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()  # protects the two dicts above, never held while a model loads


def _fingerprint(settings: AdapterSettings) -> str:
    return json.dumps({"type": type(settings).__name__, **asdict(settings)}, sort_keys=True, default=str)


def _adapter_build(settings: AdapterSettings) -> ModelAdapter:
    # Imported here: the web process validates configurations without importing torch or transformers.
    if isinstance(settings, TransformersSettings):
        from workers.adapters.transformers_local import TransformersLocalAdapter

        return TransformersLocalAdapter(settings=settings)
    if isinstance(settings, OpenAISettings):
        from workers.adapters.openai_http import OpenAIHttpAdapter

        return OpenAIHttpAdapter(settings=settings)
    if isinstance(settings, ScriptedSettings):
        from workers.adapters.scripted import ScriptedAdapter

        return ScriptedAdapter(settings=settings)
    raise TypeError(f"no adapter for {type(settings).__name__}")


def adapter_config_validate(*, kind: str, config: object) -> list[str]:
    """Every reason `config` cannot run a model of `kind`, as sentences for the submitter; [] if valid."""
    return settings_problems(kind=kind, config=config)


def adapter_get(
    *,
    key: str,
    kind: str,
    config: Mapping[str, Any],
    device: str | None = None,
    dtype: str | None = None,
) -> ModelAdapter:
    """The adapter for `key`, built (and its model loaded) on first use, then shared by every thread.

    A different configuration under the same key replaces the kept adapter. `device` and `dtype` are
    the worker's and win over the configuration's. Raises `AdapterConfigError` (an `AdapterError`
    and a `ValueError`) for an unknown kind or bad configuration, `AdapterError` when loading fails;
    failures are not kept, so the next call tries again.
    """
    settings = settings_parse(kind=kind, config=config, device=device, dtype=dtype)
    fingerprint = _fingerprint(settings)
    with _guard:
        entry = _entries.get(key)
        if entry is not None and entry.fingerprint == fingerprint:
            return entry.adapter
        key_lock = _key_locks.setdefault(key, threading.Lock())
    # One load per key at a time; other keys keep loading and serving in parallel.
    with key_lock:
        with _guard:
            entry = _entries.get(key)
        if entry is not None and entry.fingerprint == fingerprint:
            return entry.adapter  # another thread loaded it while this one waited
        adapter = _adapter_build(settings)
        with _guard:
            _entries[key] = _Entry(fingerprint=fingerprint, adapter=adapter)
        return adapter


def adapter_forget(*, key: str) -> bool:
    """Drops the adapter kept for `key`, freed once no generation still uses it; True if there was one."""
    with _guard:
        return _entries.pop(key, None) is not None


def adapter_cache_clear() -> None:
    with _guard:
        _entries.clear()
