"""What each adapter kind accepts in its configuration.

Checked here with no ML library imported, so the web process (the submission portal) can validate a
configuration cheaply; the adapters themselves only ever receive parsed, valid settings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final
from urllib.parse import urlsplit

from workers.adapters.base import AdapterConfigError

DTYPES: Final = ("auto", "float32", "float16", "bfloat16")
_DEVICE_PATTERN: Final = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")
_ENV_NAME_PATTERN: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SCRIPTED_CHUNKS: Final = ("word", "char")
# How a video reaches the model: as a video (its own token layout, with timestamps) or as its frames,
# one image each, for models or servers without a video input.
TRANSFORMERS_VIDEO_MODES: Final = ("video", "images")
OPENAI_VIDEO_MODES: Final = ("video_url", "images")
SCRIPTED_DEFAULT_TEXT: Final = (
    "This is a scripted answer, not a model's. It streams chunk by chunk at the pace its configuration "
    "sets, so battles, streaming and benchmarks can be tried without loading any model."
)
# The adapter owns these request fields; letting extra_body replace them would break streaming.
_RESERVED_BODY_KEYS: Final = frozenset({"model", "messages", "stream"})


@dataclass(frozen=True)
class TransformersSettings:
    path: str
    device: str | None = None  # None: cuda when available, else cpu
    dtype: str | None = None  # None: bfloat16 on cuda, float32 elsewhere
    trust_remote_code: bool = False
    video_mode: str = "video"  # one of TRANSFORMERS_VIDEO_MODES


@dataclass(frozen=True)
class OpenAISettings:
    base_url: str  # without a trailing slash, e.g. "http://host:8000/v1"
    model: str
    api_key_env: str | None = None
    # A Fernet token (workers/secrets.py), decrypted only right before each request; out of reprs.
    api_key_encrypted: str | None = field(default=None, repr=False)
    # Set by the portal for submitted endpoints: every connection must reach public addresses only
    # (unless PORTAL_ALLOW_PRIVATE_ENDPOINTS), checked at connect time (public_network.py).
    public_only: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_retries: int = 2
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    # Some servers reject `stream_options`; usage is then simply not reported.
    include_usage: bool = True
    # "video_url": vLLM's pre-sampled frames (`data:video/jpeg;base64,...`); "images": one image_url each.
    video_mode: str = "video_url"


@dataclass(frozen=True)
class ScriptedSettings:
    text: str = SCRIPTED_DEFAULT_TEXT
    tokens_per_s: float | None = None  # None: every chunk at once, no waiting
    first_token_delay_s: float = 0.0
    chunk: str = "word"  # one of SCRIPTED_CHUNKS
    echo: bool = False  # append the last user message, so answers differ per prompt
    fail: str | None = None  # raise this message after the text


AdapterSettings = TransformersSettings | OpenAISettings | ScriptedSettings


class _ConfigReader:
    """Reads typed values out of an untrusted mapping, collecting every problem instead of stopping at one."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.problems: list[str] = []

    def unknown_reject(self, *, allowed: tuple[str, ...]) -> None:
        for key in sorted(set(self.config) - set(allowed)):
            self.problems.append(f"Unknown setting '{key}' (allowed: {', '.join(allowed)}).")

    def text(self, key: str, *, required: bool, strip: bool = True) -> str | None:
        value = self.config.get(key)
        if value is None:
            if required:
                self.problems.append(f"'{key}' is required.")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problems.append(f"'{key}' must be a non-empty string.")
            return None
        return value.strip() if strip else value

    def number(self, key: str, *, default: float, minimum: float, inclusive: bool = False) -> float:
        value = self.config.get(key, default)
        bound = "of at least" if inclusive else "greater than"
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problems.append(f"'{key}' must be a number {bound} {minimum:g}.")
            return default
        # Python's json reads NaN and Infinity: NaN slips past every comparison; an infinite wait never ends.
        if not math.isfinite(value):
            self.problems.append(f"'{key}' must be a finite number, not {value}.")
            return default
        if value < minimum or (value == minimum and not inclusive):
            self.problems.append(f"'{key}' must be a number {bound} {minimum:g}.")
            return default
        return float(value)

    def integer(self, key: str, *, default: int, low: int, high: int) -> int:
        value = self.config.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problems.append(f"'{key}' must be a whole number from {low} to {high}.")
            return default
        return value

    def flag(self, key: str, *, default: bool) -> bool:
        value = self.config.get(key, default)
        if not isinstance(value, bool):
            self.problems.append(f"'{key}' must be true or false.")
            return default
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.config.get(key, {})
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            self.problems.append(f"'{key}' must be an object with string keys.")
            return {}
        return dict(value)


def _device_check(reader: _ConfigReader, device: str | None) -> None:
    if device is not None and not _DEVICE_PATTERN.match(device):
        reader.problems.append(f"'device' must be 'cpu', 'mps', 'cuda' or 'cuda:N', not '{device}'.")


def _dtype_check(reader: _ConfigReader, dtype: str | None) -> None:
    if dtype is not None and dtype not in DTYPES:
        reader.problems.append(f"'dtype' must be one of {', '.join(DTYPES)}, not '{dtype}'.")


def _choice(reader: _ConfigReader, key: str, *, choices: tuple[str, ...]) -> str:
    value = reader.text(key, required=False) or choices[0]
    if value not in choices:
        reader.problems.append(f"'{key}' must be one of {', '.join(choices)}, not '{value}'.")
        return choices[0]
    return value


def _transformers_read(reader: _ConfigReader) -> TransformersSettings | None:
    reader.unknown_reject(allowed=("path", "device", "dtype", "trust_remote_code", "video_mode"))
    path = reader.text("path", required=True)
    device = reader.text("device", required=False)
    dtype = reader.text("dtype", required=False)
    _device_check(reader, device)
    _dtype_check(reader, dtype)
    trust_remote_code = reader.flag("trust_remote_code", default=False)
    video_mode = _choice(reader, "video_mode", choices=TRANSFORMERS_VIDEO_MODES)
    if path is None:
        return None
    return TransformersSettings(
        path=path, device=device, dtype=dtype, trust_remote_code=trust_remote_code, video_mode=video_mode
    )


def _openai_read(reader: _ConfigReader) -> OpenAISettings | None:
    reader.unknown_reject(
        allowed=(
            "base_url",
            "model",
            "api_key_env",
            "api_key_encrypted",
            "public_only",
            "connect_timeout",
            "read_timeout",
            "max_retries",
            "extra_body",
            "include_usage",
            "video_mode",
        )
    )
    base_url = reader.text("base_url", required=True)
    if base_url is not None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            reader.problems.append(
                f"'base_url' must be an http(s) URL such as http://host:8000/v1, not '{base_url}'."
            )
    model = reader.text("model", required=True)
    api_key_env = reader.text("api_key_env", required=False)
    if api_key_env is not None and not _ENV_NAME_PATTERN.match(api_key_env):
        reader.problems.append(
            "'api_key_env' must be the name of an environment variable, not the key itself."
        )
    api_key_encrypted = reader.text("api_key_encrypted", required=False)
    if api_key_env is not None and api_key_encrypted is not None:
        reader.problems.append("Set either 'api_key_env' or 'api_key_encrypted', not both.")
    extra_body = reader.mapping("extra_body")
    for key in sorted(_RESERVED_BODY_KEYS & set(extra_body)):
        reader.problems.append(f"'extra_body' may not set '{key}'.")
    settings = OpenAISettings(
        base_url=(base_url or "").rstrip("/"),
        model=model or "",
        api_key_env=api_key_env,
        api_key_encrypted=api_key_encrypted,
        public_only=reader.flag("public_only", default=False),
        connect_timeout=reader.number("connect_timeout", default=5.0, minimum=0),
        read_timeout=reader.number("read_timeout", default=60.0, minimum=0),
        max_retries=reader.integer("max_retries", default=2, low=0, high=10),
        extra_body=extra_body,
        include_usage=reader.flag("include_usage", default=True),
        video_mode=_choice(reader, "video_mode", choices=OPENAI_VIDEO_MODES),
    )
    return settings if base_url is not None and model is not None else None


def _scripted_read(reader: _ConfigReader) -> ScriptedSettings | None:
    reader.unknown_reject(allowed=("text", "tokens_per_s", "first_token_delay_s", "chunk", "echo", "fail"))
    # Kept as written, spaces and line breaks included: its chunks must join back to exactly this text.
    text = reader.text("text", required=False, strip=False)
    tokens_per_s = (
        reader.number("tokens_per_s", default=1.0, minimum=0)
        if reader.config.get("tokens_per_s") is not None
        else None
    )
    chunk = reader.text("chunk", required=False) or "word"
    if chunk not in SCRIPTED_CHUNKS:
        reader.problems.append(f"'chunk' must be one of {', '.join(SCRIPTED_CHUNKS)}, not '{chunk}'.")
    return ScriptedSettings(
        text=text or SCRIPTED_DEFAULT_TEXT,
        tokens_per_s=tokens_per_s,
        first_token_delay_s=reader.number("first_token_delay_s", default=0.0, minimum=0, inclusive=True),
        chunk=chunk,
        echo=reader.flag("echo", default=False),
        fail=reader.text("fail", required=False),
    )


_READERS: Final[Mapping[str, Callable[[_ConfigReader], AdapterSettings | None]]] = {
    "transformers": _transformers_read,
    "openai": _openai_read,
    "scripted": _scripted_read,
}
ADAPTER_KINDS: Final = tuple(_READERS)


def _settings_read(*, kind: str, config: object) -> tuple[AdapterSettings | None, list[str]]:
    if kind not in ADAPTER_KINDS:
        return None, [f"Unknown adapter kind '{kind}' (known: {', '.join(ADAPTER_KINDS)})."]
    if not isinstance(config, Mapping):
        return None, ["The configuration must be an object."]
    reader = _ConfigReader(config)
    settings = _READERS[kind](reader)
    return settings, reader.problems


def settings_problems(*, kind: str, config: object) -> list[str]:
    """Every reason `config` cannot run a model of `kind`, one readable sentence each; empty when it can."""
    return _settings_read(kind=kind, config=config)[1]


def settings_parse(
    *, kind: str, config: object, device: str | None = None, dtype: str | None = None
) -> AdapterSettings:
    """Valid settings for `kind`, or `AdapterConfigError` listing all problems.

    `device` and `dtype` are the worker's own choice (where its accelerator is) and win over the
    model's configuration; they only apply to local models.
    """
    settings, problems = _settings_read(kind=kind, config=config)
    if isinstance(settings, TransformersSettings) and (device or dtype):
        reader = _ConfigReader({})
        _device_check(reader, device or None)
        _dtype_check(reader, dtype or None)
        problems += reader.problems
        settings = replace(settings, device=device or settings.device, dtype=dtype or settings.dtype)
    if problems or settings is None:
        raise AdapterConfigError(problems)
    return settings
