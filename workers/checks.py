"""Checks of a submitted model before it may be queued: an endpoint's test request, a checkpoint's files.

The portal's tasks call these and show `reason` to the submitter; each returns a result, never raises
for a problem with what was submitted. `checkpoint_inspect` imports transformers and torch when called,
so importing this module stays cheap.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import struct
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import httpx

from workers.adapters.base import AdapterError, GenerationParams, GenerationStats, Message, TextPart
from workers.adapters.openai_http import (
    EndpointConnectError,
    EndpointIncompatible,
    EndpointStatusError,
    EndpointTimeout,
    OpenAIHttpAdapter,
)
from workers.adapters.public_network import PrivateAddressRefused
from workers.adapters.settings import OpenAISettings
from workers.secrets import SecretError

ProbeFailure = Literal[
    "timeout", "connect", "http_status", "not_compatible", "refused_address", "secret", "error"
]

PROBE_PROMPT: Final = "Reply with one word: hello."
PROBE_PARAMS: Final = GenerationParams(max_new_tokens=8, temperature=0.0, top_p=1.0)
_ANSWER_KEPT_CHARS: Final = 200
_REASON_MAX_CHARS: Final = 300


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    reason: str  # a sentence for the submitter, on success too
    failure: ProbeFailure | None  # None when ok
    elapsed_s: float
    status_code: int | None = None  # the HTTP status of an error answer
    answer: str = ""  # the start of what the model answered


def endpoint_probe(*, settings: OpenAISettings, timeout_s: float) -> ProbeResult:
    """Sends one tiny chat completion through the OpenAI adapter (its address guard and key handling
    included) and says whether a usable answer came back within `timeout_s` seconds."""
    probe_settings = dataclasses.replace(
        settings,
        connect_timeout=min(settings.connect_timeout, timeout_s),
        read_timeout=timeout_s,
        max_retries=0,  # the submitter wants to know now, not after a backoff
    )
    started = time.monotonic()

    def result(failure: ProbeFailure | None, reason: str, **extra: Any) -> ProbeResult:
        return ProbeResult(
            ok=failure is None,
            reason=reason,
            failure=failure,
            elapsed_s=round(time.monotonic() - started, 3),
            **extra,
        )

    adapter = OpenAIHttpAdapter(settings=probe_settings)
    stats = GenerationStats()
    chunks: list[str] = []
    try:
        conversation = [Message(role="user", content=(TextPart(PROBE_PROMPT),))]
        for chunk in adapter.stream(conversation, PROBE_PARAMS, stats=stats):
            chunks.append(chunk)
            # The read timeout bounds each wait; this bounds a server that trickles forever.
            if time.monotonic() - started > timeout_s:
                return result(
                    "timeout", f"The endpoint did not finish the test answer within {timeout_s:g} seconds."
                )
    except PrivateAddressRefused as exc:
        return result("refused_address", str(exc))
    except SecretError as exc:
        return result("secret", str(exc))
    except EndpointStatusError as exc:
        return result("http_status", f"The test request failed: {exc}", status_code=exc.status_code)
    except EndpointTimeout:
        return result(
            "timeout", f"The endpoint did not answer the test request within {timeout_s:g} seconds."
        )
    except EndpointConnectError as exc:
        if isinstance(exc.__cause__, httpx.ConnectTimeout):
            return result("timeout", f"The endpoint could not be reached within {timeout_s:g} seconds.")
        return result("connect", str(exc))
    except EndpointIncompatible as exc:
        return result("not_compatible", f"The endpoint is not OpenAI-compatible: {exc}")
    except AdapterError as exc:
        return result("error", f"The test request failed: {exc}")
    finally:
        adapter.close()
    answer = "".join(chunks)
    if not answer and stats.completion_tokens is None:
        return result(
            "not_compatible",
            "The endpoint answered, but not as an OpenAI-compatible chat completion: "
            "no text and no token usage came back.",
        )
    return result(
        None,
        f"The endpoint answered the test request in {time.monotonic() - started:.1f} seconds.",
        answer=answer[:_ANSWER_KEPT_CHARS],
    )


# --- checkpoints ---------------------------------------------------------------------------------------

_WEIGHT_SUFFIXES_UNSAFE: Final = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".h5", ".msgpack")
# safetensors' own limit on a header; a larger one is not a real checkpoint.
_SAFETENSORS_HEADER_MAX: Final = 100_000_000
_REVISION_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")
_COMMIT_PATTERN: Final = re.compile(r"^[0-9a-f]{40}$")
_SAFETENSORS_DTYPES: Final = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16"}
# Where a checkpoint names classes of its own; loading it as it means then runs that code.
_CODE_DECLARING_FILES: Final = (
    "config.json",
    "processor_config.json",
    "preprocessor_config.json",
    "tokenizer_config.json",
    "video_preprocessor_config.json",
)
REMOTE_CODE_REFUSAL: Final = (
    "The checkpoint needs its own Python code to load (trust_remote_code); submitted checkpoints must "
    "load with the code in transformers itself."
)


@dataclass(frozen=True)
class CheckpointReport:
    ok: bool
    reason: str  # a sentence for the submitter, on success too
    path: str | None = None  # the directory inspected: the snapshot's for a hub id
    commit: str | None = None  # the exact hub commit the revision resolved to; None for a local directory
    architecture: str | None = None  # e.g. "LlavaForConditionalGeneration"
    model_type: str | None = None
    parameters: int | None = None  # of the model the config describes, counted on the meta device
    stored_parameters: int | None = None  # of the tensors in the safetensors files
    modalities: tuple[str, ...] = ()
    dtype: str | None = None


class _Refused(Exception):
    pass


def _shorten(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= _REASON_MAX_CHARS else text[: _REASON_MAX_CHARS - 1] + "…"


def _looks_local(source: str) -> bool:
    return os.path.isabs(source) or source.startswith((".", "~")) or os.path.exists(source)


def _needs_remote_code(exc: BaseException) -> bool:
    return "trust_remote_code" in str(exc)


def _snapshot_resolve(
    *, repo_id: str, revision: str | None, cache_dir: str | Path | None
) -> tuple[Path, str]:
    """The cached snapshot directory of `repo_id` at `revision` and its commit, with no network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    wanted = revision or "main"
    # A ref is a file under refs/; ".." would read outside the cache.
    if not _REVISION_PATTERN.match(wanted) or ".." in wanted.split("/"):
        raise _Refused(f"'{wanted}' is not a valid revision (a branch, tag or commit hash).")
    try:
        folder = Path(snapshot_download(repo_id, revision=wanted, cache_dir=cache_dir, local_files_only=True))
    except HFValidationError:
        raise _Refused(f"'{repo_id}' is neither a model directory on the worker nor a hub id.") from None
    except (LocalEntryNotFoundError, OSError):
        raise _Refused(
            f"The revision '{wanted}' of {repo_id} is not in this site's model cache; models are not "
            "downloaded at submission, so ask an operator to fetch it first."
        ) from None
    commit = folder.name
    if not _COMMIT_PATTERN.match(commit):
        raise _Refused(f"The cached snapshot of {repo_id} at '{wanted}' names no commit.")
    return folder, commit


def _safetensors_read(files: list[Path]) -> tuple[int, Counter[str]]:
    """The tensors' element count and elements per dtype, from the files' headers only."""
    total = 0
    per_dtype: Counter[str] = Counter()
    for path in files:
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise _Refused(f"The weights file {path.name} is not a safetensors file.")
            (size,) = struct.unpack("<Q", prefix)
            if size > _SAFETENSORS_HEADER_MAX:
                raise _Refused(f"The weights file {path.name} has an implausibly large header.")
            try:
                header = json.loads(handle.read(size))
            except ValueError:
                raise _Refused(f"The weights file {path.name} is not a safetensors file.") from None
        if not isinstance(header, dict):
            raise _Refused(f"The weights file {path.name} is not a safetensors file.")
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            shape = entry.get("shape") if isinstance(entry, dict) else None
            if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
                raise _Refused(f"The weights file {path.name} describes the tensor {name} badly.")
            count = 1
            for n in shape:
                count *= n
            total += count
            per_dtype[str(entry.get("dtype"))] += count
    return total, per_dtype


def _weights_check(folder: Path) -> tuple[int, Counter[str]]:
    names = [path for path in folder.rglob("*") if path.is_file() or path.is_symlink()]
    safetensors = sorted(path for path in names if path.name.endswith(".safetensors"))
    if safetensors:
        return _safetensors_read(safetensors)
    unsafe = sorted({path.suffix for path in names if path.name.endswith(_WEIGHT_SUFFIXES_UNSAFE)})
    if unsafe:
        raise _Refused(
            f"The weights are only in {', '.join(unsafe)} files, which run code when loaded; "
            "submitted checkpoints must have .safetensors weights."
        )
    raise _Refused("The checkpoint has no weights: no .safetensors file was found.")


def _config_load(folder: Path) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(folder, trust_remote_code=False, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - transformers raises many types for a bad config, all alike
        if _needs_remote_code(exc):
            raise _Refused(REMOTE_CODE_REFUSAL) from None
        raise _Refused(f"The checkpoint's config.json could not be read: {_shorten(exc)}") from None


def _declares_own_code(folder: Path) -> bool:
    """Whether a config file names classes of the checkpoint's own (`auto_map`)."""
    for name in _CODE_DECLARING_FILES:
        try:
            declared = json.loads((folder / name).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(declared, dict) and declared.get("auto_map"):
            return True
    return False


def _processor_load(folder: Path, config: Any) -> Any:
    """The processor; for a text-only model (no vision config), the tokenizer will do."""
    from transformers import AutoProcessor, AutoTokenizer

    try:
        return AutoProcessor.from_pretrained(folder, trust_remote_code=False, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - as for the config: any failure is the submitter's to fix
        # Without its own code a processor may fail in other ways (a class transformers lacks).
        if _needs_remote_code(exc) or _declares_own_code(folder):
            raise _Refused(REMOTE_CODE_REFUSAL) from None
        if hasattr(config, "vision_config"):
            raise _Refused(f"The checkpoint's processor could not be loaded: {_shorten(exc)}") from None
        failure = exc
    try:
        return AutoTokenizer.from_pretrained(folder, trust_remote_code=False, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - as above
        if _needs_remote_code(exc):
            raise _Refused(REMOTE_CODE_REFUSAL) from None
        raise _Refused(f"Neither a processor nor a tokenizer could be loaded: {_shorten(failure)}") from None


def _parameters_count(config: Any) -> tuple[int, str]:
    """The parameters of the model the config describes, and the auto class that builds it.

    Built on the meta device: every module and parameter shape as the worker would create them, no
    memory for values and no weights read. This counts what a worker would allocate, which is what the
    limit protects; summing the safetensors headers instead would trust files that may hold fewer (or
    other) tensors than the config makes the worker build.
    """
    import torch
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForImageTextToText

    failure: BaseException | None = None
    for auto_class in (AutoModelForImageTextToText, AutoModelForCausalLM, AutoModel):
        try:
            with torch.device("meta"):
                model = auto_class.from_config(config, trust_remote_code=False)
        except ValueError as exc:  # this auto class does not know the config
            failure = failure or exc
            continue
        except Exception as exc:  # noqa: BLE001 - a config transformers accepts but cannot build from
            raise _Refused(f"The model could not be built from its config: {_shorten(exc)}") from None
        return sum(parameter.numel() for parameter in model.parameters()), auto_class.__name__
    raise _Refused(f"transformers cannot build this architecture: {_shorten(failure or ValueError())}")


def _dtype_name(config: Any, per_dtype: Counter[str]) -> str | None:
    configured = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    if configured is not None:
        return str(configured).removeprefix("torch.")
    if per_dtype:
        stored = per_dtype.most_common(1)[0][0]
        return _SAFETENSORS_DTYPES.get(stored, stored.lower())
    return None


def _modalities(config: Any, processor: Any) -> tuple[str, ...]:
    vision = getattr(processor, "image_processor", None) is not None or hasattr(config, "vision_config")
    return ("image", "text") if vision else ("text",)


def checkpoint_inspect(
    *, source: str, revision: str | None, max_params: int, cache_dir: str | Path | None = None
) -> CheckpointReport:
    """Whether a transformers checkpoint may be hosted, checked offline without loading its weights.

    `source` is a directory on this machine or a hub id looked up in the local hub cache (`cache_dir`,
    by default huggingface_hub's), where `revision` (a branch, tag or commit; None: main) is pinned to
    its commit. The config and the processor (or, for text-only models, the tokenizer) must load
    without remote code, the weights must be safetensors, and the model must have at most
    `max_params` parameters.
    """
    found: dict[str, Any] = {}
    try:
        if _looks_local(source):
            if revision:
                raise _Refused("A revision applies to hub ids only, not to a directory.")
            folder = Path(os.path.expanduser(source))
            if not folder.is_dir():
                raise _Refused(f"The model directory '{source}' does not exist.")
        else:
            folder, found["commit"] = _snapshot_resolve(
                repo_id=source, revision=revision, cache_dir=cache_dir
            )
        found["path"] = str(folder)
        config = _config_load(folder)
        architectures = getattr(config, "architectures", None) or []
        found["architecture"] = architectures[0] if architectures else None
        found["model_type"] = getattr(config, "model_type", None) or None
        processor = _processor_load(folder, config)
        found["modalities"] = _modalities(config, processor)
        found["stored_parameters"], per_dtype = _weights_check(folder)
        found["dtype"] = _dtype_name(config, per_dtype)
        limit = f"this site's limit of {max_params:,}"
        if found["stored_parameters"] > max_params:
            raise _Refused(f"The weights hold {found['stored_parameters']:,} parameters, above {limit}.")
        found["parameters"], _ = _parameters_count(config)
        if found["parameters"] > max_params:
            raise _Refused(f"The model has {found['parameters']:,} parameters, above {limit}.")
    except _Refused as refusal:
        return CheckpointReport(ok=False, reason=str(refusal), **found)
    name = found["architecture"] or found["model_type"] or "The model"
    return CheckpointReport(
        ok=True,
        reason=f"{name} with {found['parameters']:,} parameters loads without remote code.",
        **found,
    )
