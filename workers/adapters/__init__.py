"""Model adapters: one interface (`base.ModelAdapter`) over every way of running a model.

Importing this package loads no ML library; the local adapter imports torch when first built.
"""

from workers.adapters.base import (
    AdapterConfigError,
    AdapterError,
    AudioPart,
    ContentPart,
    GenerationParams,
    GenerationStats,
    ImagePart,
    Message,
    ModelAdapter,
    TextPart,
    VideoPart,
)
from workers.adapters.registry import (
    adapter_cache_clear,
    adapter_config_validate,
    adapter_forget,
    adapter_get,
)
from workers.adapters.settings import ADAPTER_KINDS

__all__ = [
    "ADAPTER_KINDS",
    "AdapterConfigError",
    "AdapterError",
    "AudioPart",
    "ContentPart",
    "GenerationParams",
    "GenerationStats",
    "ImagePart",
    "Message",
    "ModelAdapter",
    "TextPart",
    "VideoPart",
    "adapter_cache_clear",
    "adapter_config_validate",
    "adapter_forget",
    "adapter_get",
]
