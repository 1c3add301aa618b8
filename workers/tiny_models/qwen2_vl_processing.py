"""Qwen2-VL processing without the video processor, which needs torchvision.

`save_pretrained` copies this file into each tiny Qwen2-VL-style model directory and names it in
`auto_map`, so `AutoProcessor.from_pretrained(dir, trust_remote_code=True)` finds it anywhere; the
stock `Qwen2VLProcessor` insists on loading a video processor. It must only import transformers.
"""

from __future__ import annotations

from typing import Any

from transformers import Qwen2VLProcessor
from transformers.processing_utils import ProcessorMixin

IMAGE_PAD, VIDEO_PAD = "<|image_pad|>", "<|video_pad|>"


class TinyQwen2VLProcessor(Qwen2VLProcessor):
    def __init__(
        self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None, **kwargs: Any
    ):
        # Qwen2VLProcessor.__init__ would pass a video processor on; its attributes are set here instead.
        self.image_token = IMAGE_PAD
        self.video_token = VIDEO_PAD
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template, **kwargs)


TinyQwen2VLProcessor.register_for_auto_class()
