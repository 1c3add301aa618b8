"""Qwen2-VL and Qwen2.5-Omni processing whose video path needs only PIL and numpy (the stock one
imports torchvision).

`save_pretrained` copies this file into each tiny Qwen2-VL-style and Omni-style model directory and
names it in `auto_map`, so `AutoProcessor.from_pretrained(dir, trust_remote_code=True)` finds it
anywhere; the stock processors insist on loading a torchvision video processor. It must only import
transformers, numpy and PIL, all in this one file.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image
from transformers import BatchFeature, Qwen2_5OmniProcessor, Qwen2VLProcessor
from transformers.processing_utils import ProcessorMixin
from transformers.video_processing_utils import VideoProcessorMixin

IMAGE_PAD, VIDEO_PAD = "<|image_pad|>", "<|video_pad|>"
OMNI_TOKENS = {
    "image_token": "<|IMAGE|>",
    "video_token": "<|VIDEO|>",
    "audio_token": "<|AUDIO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
}
# CLIP's normalisation, which Qwen2-VL's vision tower was trained with.
_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def _frames_array(video: Any) -> np.ndarray:
    """(frames, height, width, 3) uint8 from a list of PIL images or an array of frames."""
    frames = [Image.fromarray(frame) for frame in video] if isinstance(video, np.ndarray) else list(video)
    return np.stack([np.asarray(frame.convert("RGB")) for frame in frames])


class TinyVideoProcessor(VideoProcessorMixin):
    """Frames already sampled by the caller, resized and cut into Qwen2-VL's 3D patches."""

    model_input_names = ["pixel_values_videos", "video_grid_thw"]

    def __init__(
        self, *, patch_size: int, merge_size: int, temporal_patch_size: int, longest_edge: int, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.patch_size = patch_size
        self.merge_size = merge_size
        self.temporal_patch_size = temporal_patch_size
        self.longest_edge = longest_edge

    def _size(self, height: int, width: int) -> tuple[int, int]:
        factor = self.patch_size * self.merge_size
        scale = min(1.0, self.longest_edge / max(height, width))

        def side(value: int) -> int:
            return max(factor, round(value * scale / factor) * factor)

        return side(height), side(width)

    def preprocess(self, videos: Any, **kwargs: Any) -> BatchFeature:
        del kwargs  # sampling and metadata are the caller's: frames arrive already chosen
        if not isinstance(videos, list | tuple) or (videos and isinstance(videos[0], Image.Image)):
            videos = [videos]
        flattened: list[Any] = []
        for item in videos:  # a batch of conversations is a list of lists of videos
            if isinstance(item, list | tuple) and item and isinstance(item[0], list | tuple | np.ndarray):
                flattened.extend(item)
            else:
                flattened.append(item)
        pixel_values, grids = [], []
        for video in flattened:
            frames = _frames_array(video)
            height, width = self._size(frames.shape[1], frames.shape[2])
            resized = np.stack(
                [
                    np.asarray(Image.fromarray(frame).resize((width, height), Image.Resampling.BICUBIC))
                    for frame in frames
                ]
            )
            # Frames come in pairs (temporal patches): an odd count repeats the last frame.
            remainder = len(resized) % self.temporal_patch_size
            if remainder:
                pad = np.repeat(resized[-1:], self.temporal_patch_size - remainder, axis=0)
                resized = np.concatenate([resized, pad])
            normalised = ((resized.astype(np.float32) / 255.0 - _MEAN) / _STD).transpose(0, 3, 1, 2)
            t = len(normalised) // self.temporal_patch_size
            gh, gw = height // self.patch_size, width // self.patch_size
            m, p, tp = self.merge_size, self.patch_size, self.temporal_patch_size
            patches = normalised.reshape(t, tp, 3, gh // m, m, p, gw // m, m, p)
            patches = patches.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8).reshape(t * gh * gw, 3 * tp * p * p)
            pixel_values.append(patches)
            grids.append([t, gh, gw])
        return BatchFeature(
            data={"pixel_values_videos": np.concatenate(pixel_values), "video_grid_thw": np.array(grids)},
            tensor_type="pt",
        )


class TinyQwen2VLProcessor(Qwen2VLProcessor):
    def __init__(
        self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None, **kwargs: Any
    ):
        # Qwen2VLProcessor.__init__ would load a torchvision video processor; its attributes are set here.
        self.image_token = IMAGE_PAD
        self.video_token = VIDEO_PAD
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template, **kwargs)
        self.video_processor = _video_processor(image_processor)


def _video_processor(image_processor: Any) -> TinyVideoProcessor:
    # Built from the image processor's geometry rather than saved, so loading needs nothing more.
    return TinyVideoProcessor(
        patch_size=image_processor.patch_size,
        merge_size=image_processor.merge_size,
        temporal_patch_size=image_processor.temporal_patch_size,
        longest_edge=int(image_processor.size.longest_edge**0.5),
    )


def _sampled_fps(metadata: Any) -> float | None:
    """Frames per second among the sampled frames (what Omni's time positions count), from the source
    fps and the frame indices; None when there is nothing to measure."""
    if not isinstance(metadata, dict):
        metadata = getattr(metadata, "__dict__", {})
    indices, fps = metadata.get("frames_indices"), metadata.get("fps")
    if not fps or indices is None or len(indices) < 2 or indices[-1] <= indices[0]:
        return None
    return float(fps) * (len(indices) - 1) / (indices[-1] - indices[0])


class TinyQwen2_5OmniProcessor(Qwen2_5OmniProcessor):
    def __init__(
        self,
        image_processor: Any = None,
        feature_extractor: Any = None,
        tokenizer: Any = None,
        chat_template: Any = None,
        **kwargs: Any,
    ):
        # Qwen2_5OmniProcessor.__init__ would load a torchvision video processor and read the token
        # names off a Qwen tokenizer; both are set here instead.
        for name, token in OMNI_TOKENS.items():
            setattr(self, name, token)
        for name in ("image_token", "video_token", "audio_token"):
            setattr(self, f"{name}_id", tokenizer.convert_tokens_to_ids(OMNI_TOKENS[name]))
        ProcessorMixin.__init__(
            self, image_processor, feature_extractor, tokenizer, chat_template=chat_template, **kwargs
        )
        self.video_processor = _video_processor(image_processor)

    def _process_videos(
        self,
        videos: Any,
        audio: Any = None,
        processed_audio: dict[Any, Any] | None = None,
        video_to_audio_indices: list[Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        # Omni spaces video positions by the sampled frame rate ("fps", else 2): the real one is derived
        # from each video's metadata, so a 1 fps sample is not placed as if it were 2 fps.
        videos_kwargs = dict(kwargs["videos_kwargs"])
        metadata = videos_kwargs.get("video_metadata") or []
        rates = {_sampled_fps(item) for item in metadata} - {None}
        if len(rates) == 1 and videos_kwargs.get("fps") is None:
            videos_kwargs["fps"] = rates.pop()
        return super()._process_videos(
            videos,
            audio,
            processed_audio,
            video_to_audio_indices,
            **{**kwargs, "videos_kwargs": videos_kwargs},
        )


TinyQwen2VLProcessor.register_for_auto_class()
TinyQwen2_5OmniProcessor.register_for_auto_class()
