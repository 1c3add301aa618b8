"""Uploaded media: verified by decoding, rebuilt from its pixels (no metadata survives), checked against
the banned images and the optional classifier (a video's frames too: image_screen), stored once per
content hash.

The content hash names the file on disk only: pictures are served under their attachments' random
names (`TurnAttachment.public_id`), to those who may see the battle (arena.visibility).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import imagehash
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from arena.models import BannedImage, MediaAsset
from core.errors import InvalidInput, NotAllowed, NotFound, PayloadTooLarge, Unavailable, UnsupportedMedia
from core.guards import upload_size_check

logger = logging.getLogger(__name__)

ACCEPTED_IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    # Video and audio originals, remuxed without their metadata (arena.media_av).
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/webm": "weba",
}
_FOLDERS = {"image": "images", "video": "videos", "audio": "audio"}


def media_path(*, sha256: str, mime_type: str) -> Path:
    folder = _FOLDERS[mime_type.split("/")[0]]
    return Path(settings.MEDIA_ROOT) / folder / sha256[:2] / f"{sha256}.{_EXTENSIONS[mime_type]}"


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


_SRGB: ImageCms.ImageCmsProfile | None = None


def _srgb_profile() -> ImageCms.ImageCmsProfile:
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _SRGB


def _to_srgb(image: Image.Image, *, icc: bytes, mode: str) -> Image.Image | None:
    """`image` converted from its embedded profile to sRGB in `mode`, or None when that cannot be done
    (a broken profile, or one for another colour space): the pixels are then kept as they are."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(image, source, _srgb_profile(), outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def _image_pixels(image: Image.Image) -> Image.Image:
    """The picture as the viewer sees it, rebuilt from its pixels alone: EXIF orientation applied,
    the long side bounded, colours in sRGB, and nothing else of the file (no EXIF, XMP, ICC profile,
    comments or text chunks: Pillow would copy `info` into the saved file)."""
    icc = image.info.get("icc_profile")
    image = ImageOps.exif_transpose(image)
    max_side = settings.ARENA_IMAGE_MAX_SIDE
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info)
    mode = "RGBA" if has_alpha else "RGB"
    converted = None
    if icc:
        # A CMYK or greyscale profile applies to the pixels in their own mode; an RGB one to RGB(A).
        source = image if image.mode in {"CMYK", "L", "RGB", "RGBA"} else image.convert(mode)
        converted = _to_srgb(source, icc=icc, mode=mode)
    pixels = converted if converted is not None else image.convert(mode)
    return Image.frombytes(mode, pixels.size, pixels.tobytes())


def _image_encode(image: Image.Image, *, source_format: str | None) -> tuple[bytes, str]:
    out = io.BytesIO()
    if source_format == "JPEG" and image.mode == "RGB":
        image.save(out, format="JPEG", quality=92)
        return out.getvalue(), "image/jpeg"
    image.save(out, format="PNG", optimize=False)
    return out.getvalue(), "image/png"


def image_phash(*, image: Image.Image) -> str:
    """The perceptual hash (pHash) of a picture, 16 hex digits: near copies (resized, re-encoded,
    slightly recoloured) differ from it in a few of its 64 bits."""
    return str(imagehash.phash(image))


def _phash_distance(first: str, second: str) -> int:
    return int(imagehash.hex_to_hash(first) - imagehash.hex_to_hash(second))


# What a refusal says, by what was uploaded: an image, or a video one of whose frames was refused.
_REFUSED = {
    "image": (
        "This image cannot be used here: it matches an image the moderators removed.",
        "This image cannot be used here: {reason}",
        "Images cannot be checked right now, so none are accepted; please try again later, "
        "or ask without an image.",
    ),
    "video": (
        "This video cannot be used here: one of its frames matches an image the moderators removed.",
        "This video cannot be used here: {reason}",
        "Videos cannot be checked right now, so none are accepted; please try again later, "
        "or ask without a video.",
    ),
}


def image_ban_check(*, sha256: str, phash: str, what: str = "image") -> None:
    """Refuse a picture that is a banned one, or within ARENA_IMAGE_BAN_DISTANCE bits of one; `what`
    ("image" or "video") is what the refusal names."""
    refused = NotAllowed(_REFUSED[what][0])
    if BannedImage.objects.filter(sha256=sha256).exists():
        raise refused
    distance = settings.ARENA_IMAGE_BAN_DISTANCE
    if distance < 0 or not phash:
        return
    # Every banned hash is compared in Python: moderators ban hundreds of images, not millions.
    for banned in BannedImage.objects.exclude(phash="").values_list("phash", flat=True).iterator():
        if _phash_distance(banned, phash) <= distance:
            raise refused


def _image_classify(image: Image.Image, *, what: str = "image") -> None:
    """The configured classifier's verdict (ARENA_IMAGE_CLASSIFIER), if there is one: a reason refuses."""
    path = settings.ARENA_IMAGE_CLASSIFIER
    if not path:
        return
    try:
        classifier: Callable[[Image.Image], str | None] = import_string(path)
        reason = classifier(image.copy())
    except Exception:
        logger.exception("the image classifier %s failed", path)
        if settings.ARENA_IMAGE_CLASSIFIER_FAIL_CLOSED:
            raise Unavailable(_REFUSED[what][2]) from None
        return
    if reason:
        raise NotAllowed(_REFUSED[what][1].format(reason=reason))


def image_screen(*, image: Image.Image, sha256: str = "", what: str = "image") -> str:
    """Refuse a picture that is banned (exactly, by `sha256` if given, or perceptually) or that the
    classifier refuses, naming `what` was uploaded: an image, or a video this is one of the frames of
    (arena.video screens every frame it derives). The picture's perceptual hash."""
    phash = image_phash(image=image)
    image_ban_check(sha256=sha256, phash=phash, what=what)
    _image_classify(image, what=what)
    return phash


def image_asset_create(*, data: bytes) -> MediaAsset:
    """Validate an uploaded image and store it, unless it is banned or the classifier refuses it;
    the same picture is stored once."""
    if not data:
        raise InvalidInput("The uploaded image is empty.")
    upload_size_check(size=len(data), what="image")
    decoded = _image_decode(data)
    image = _image_pixels(decoded)
    encoded, mime_type = _image_encode(image, source_format=decoded.format)
    sha256 = hashlib.sha256(encoded).hexdigest()
    phash = image_screen(image=image, sha256=sha256)
    path = media_path(sha256=sha256, mime_type=mime_type)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(encoded)
        tmp.replace(path)
    try:
        with transaction.atomic():
            asset, created = MediaAsset.objects.get_or_create(
                sha256=sha256,
                defaults={
                    "kind": MediaAsset.Kind.IMAGE,
                    "mime_type": mime_type,
                    "size_bytes": len(encoded),
                    "width": image.width,
                    "height": image.height,
                    "phash": phash,
                },
            )
    except IntegrityError:
        asset, created = MediaAsset.objects.get(sha256=sha256), False
    if not created and not asset.phash:
        # Stored before perceptual hashes were kept.
        MediaAsset.objects.filter(pk=asset.pk).update(phash=phash)
        asset.phash = phash
    return asset


def image_ban(*, asset_or_sha256: MediaAsset | str, reason: str) -> BannedImage:
    """Ban a stored picture (a MediaAsset, or its sha256): later uploads of it or of a near copy are
    refused. A hash that names no stored picture bans exact copies only (no perceptual hash)."""
    if not reason.strip():
        raise InvalidInput("Say why the image is banned.")
    if isinstance(asset_or_sha256, MediaAsset):
        asset: MediaAsset | None = asset_or_sha256
        sha256 = asset_or_sha256.sha256
    else:
        sha256 = asset_or_sha256.strip().lower()
        if re.fullmatch(r"[0-9a-f]{64}", sha256) is None:
            raise InvalidInput("An image's hash is 64 hexadecimal digits (its sha256).")
        asset = MediaAsset.objects.filter(sha256=sha256).first()
    phash = ""
    if asset is not None:
        phash = asset.phash
        path = media_path(sha256=asset.sha256, mime_type=asset.mime_type)
        if not phash and path.exists():
            with Image.open(path) as stored:
                phash = image_phash(image=stored)
    banned, _ = BannedImage.objects.update_or_create(
        sha256=sha256, defaults={"phash": phash, "reason": reason.strip()}
    )
    return banned


def media_asset_read(*, asset: MediaAsset) -> bytes:
    try:
        return media_path(sha256=asset.sha256, mime_type=asset.mime_type).read_bytes()
    except FileNotFoundError:
        # Erased (arena.retention) between the lookup and the read.
        raise NotFound("There is no such image.") from None
