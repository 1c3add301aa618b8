"""Turning the image bytes of a conversation into what models and model servers take."""

from __future__ import annotations

import base64
import io

from PIL import Image, UnidentifiedImageError

from workers.adapters.base import AdapterError, ImagePart


def image_decode(*, part: ImagePart) -> Image.Image:
    """The image as an RGB PIL image; `AdapterError` when the bytes are not a readable image."""
    try:
        with Image.open(io.BytesIO(part.data)) as opened:
            opened.load()
            return opened.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise AdapterError(f"An attached image ({part.mime_type}) could not be read.") from exc


def image_data_url(*, part: ImagePart) -> str:
    """A `data:` URL, the way OpenAI-compatible servers take inline images."""
    if not part.mime_type.startswith("image/"):
        raise AdapterError(f"An attachment of type '{part.mime_type}' is not an image.")
    return f"data:{part.mime_type};base64,{base64.b64encode(part.data).decode('ascii')}"
