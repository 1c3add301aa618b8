import io
import random

import pytest
from django.test import override_settings
from PIL import Image

from arena.media import image_asset_create, media_asset_read
from core.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from tests.factories import image_bytes

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_accepted_formats_are_stored(fmt, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    asset = image_asset_create(data=image_bytes(fmt=fmt))
    assert asset.kind == "image"
    assert (asset.width, asset.height) == (64, 48)
    assert Image.open(io.BytesIO(media_asset_read(asset=asset))).size == (64, 48)


def test_same_picture_is_stored_once(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    first = image_asset_create(data=image_bytes())
    second = image_asset_create(data=image_bytes())
    assert first.sha256 == second.sha256
    assert len(list(tmp_path.rglob("*.png"))) == 1


def test_animated_gif_keeps_its_first_frame(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    frames = [Image.new("RGB", (20, 20), color) for color in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:])
    asset = image_asset_create(data=out.getvalue())
    pixel = Image.open(io.BytesIO(media_asset_read(asset=asset))).convert("RGB").getpixel((5, 5))
    assert pixel[0] > 200 and pixel[2] < 50


def test_text_file_renamed_png_is_refused(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(UnsupportedMedia, match="not an image"):
        image_asset_create(data=b"just some text, named picture.png")


def test_truncated_image_is_refused_with_a_message():
    data = image_bytes(size=(200, 200), fmt="PNG")
    with pytest.raises((InvalidInput, UnsupportedMedia)):
        image_asset_create(data=data[: len(data) // 2])


def test_bmp_is_refused_as_unsupported():
    with pytest.raises(UnsupportedMedia, match="PNG, JPEG, WebP or GIF"):
        image_asset_create(data=image_bytes(fmt="BMP"))


def test_empty_upload_is_refused():
    with pytest.raises(InvalidInput, match="empty"):
        image_asset_create(data=b"")


@override_settings(ARENA_MAX_UPLOAD_BYTES=1000)
def test_upload_over_byte_limit_is_refused():
    noise = Image.frombytes("RGB", (100, 100), random.Random(0).randbytes(30_000))
    out = io.BytesIO()
    noise.save(out, format="PNG")
    assert len(out.getvalue()) > 1000
    with pytest.raises(PayloadTooLarge, match="limit is"):
        image_asset_create(data=out.getvalue())


@override_settings(ARENA_MAX_IMAGE_PIXELS=10_000)
def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(PayloadTooLarge, match="pixels"):
        image_asset_create(data=image_bytes(size=(200, 200)))


@override_settings(ARENA_IMAGE_MAX_SIDE=100)
def test_long_side_is_downscaled(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    asset = image_asset_create(data=image_bytes(size=(400, 200), fmt="JPEG"))
    assert (asset.width, asset.height) == (100, 50)
    assert asset.mime_type == "image/jpeg"


def test_exif_orientation_is_applied(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    image = Image.new("RGB", (60, 30), "green")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    asset = image_asset_create(data=out.getvalue())
    assert (asset.width, asset.height) == (30, 60)


def test_transparency_is_kept_as_png(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    asset = image_asset_create(data=image_bytes(fmt="WEBP", alpha=True))
    assert asset.mime_type == "image/png"
