"""Uploaded media: verified by decoding, normalised, stored once per content hash."""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from arena.models import MediaAsset
from core.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from core.guards import upload_size_check

ACCEPTED_IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def media_path(*, sha256: str, mime_type: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "images" / sha256[:2] / f"{sha256}.{_EXTENSIONS[mime_type]}"


def _image_decode(data: bytes) -> Image.Image:
    max_pixels = settings.ARENA_MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image_format = image.format
            if image_format not in ACCEPTED_IMAGE_FORMATS:
                raise UnsupportedMedia(
                    f"This image type ({image_format or 'unknown'}) is not supported. "
                    "Please upload a PNG, JPEG, WebP or GIF image."
                )
            if image.width * image.height > max_pixels:
                raise PayloadTooLarge(
                    f"This image is {image.width}×{image.height} pixels; the limit is "
                    f"{max_pixels:,} pixels. Please upload a smaller image."
                )
            image.seek(0)  # the first frame of an animated GIF or WebP
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnsupportedMedia(
            "That file is not an image we can read. Please upload a PNG, JPEG, WebP or GIF image."
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(
            f"The image could not be decoded ({exc}). It may be truncated or corrupt."
        ) from None
    return image


def _image_normalise(image: Image.Image) -> tuple[bytes, str, int, int]:
    """Apply EXIF orientation, bound the long side, and re-encode without metadata."""
    source_format = image.format
    image = ImageOps.exif_transpose(image)
    max_side = settings.ARENA_IMAGE_MAX_SIDE
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info)
    out = io.BytesIO()
    if source_format == "JPEG" and not has_alpha:
        image.convert("RGB").save(out, format="JPEG", quality=92)
        mime_type = "image/jpeg"
    else:
        image.convert("RGBA" if has_alpha else "RGB").save(out, format="PNG", optimize=False)
        mime_type = "image/png"
    return out.getvalue(), mime_type, image.width, image.height


def image_asset_create(*, data: bytes) -> MediaAsset:
    """Validate an uploaded image and store it; the same picture is stored once."""
    if not data:
        raise InvalidInput("The uploaded image is empty.")
    upload_size_check(size=len(data), what="image")
    encoded, mime_type, width, height = _image_normalise(_image_decode(data))
    sha256 = hashlib.sha256(encoded).hexdigest()
    path = media_path(sha256=sha256, mime_type=mime_type)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(encoded)
        tmp.replace(path)
    try:
        with transaction.atomic():
            asset, _ = MediaAsset.objects.get_or_create(
                sha256=sha256,
                defaults={
                    "kind": MediaAsset.Kind.IMAGE,
                    "mime_type": mime_type,
                    "size_bytes": len(encoded),
                    "width": width,
                    "height": height,
                },
            )
    except IntegrityError:
        asset = MediaAsset.objects.get(sha256=sha256)
    return asset


def media_asset_read(*, asset: MediaAsset) -> bytes:
    return media_path(sha256=asset.sha256, mime_type=asset.mime_type).read_bytes()
