"""Banned images (exact and perceptual) and the image classifier hook: a refused upload gets a 4xx
sentence and nothing is stored (arena.media)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from arena.media import image_asset_create, image_ban
from arena.models import BannedImage, Battle, MediaAsset
from core.errors import InvalidInput, NotAllowed, Unavailable
from tests.factories import voter_client

pytestmark = pytest.mark.django_db

CLASSIFIER_CALLS: list[tuple[int, int]] = []


def _picture(seed: int, *, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A photo-like picture (smooth shapes from seeded noise): perceptual hashes of flat colours say
    little, so the tests ban pictures with structure."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (size[1] // 16, size[0] // 16, 3), dtype=np.uint8)
    return Image.fromarray(noise).resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(4))


def _encoded(image: Image.Image, fmt: str = "PNG", **save: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def _stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()]


def refuse_everything(image: Image.Image) -> str | None:
    CLASSIFIER_CALLS.append(image.size)
    return "it shows something this site does not accept."


def accept_everything(image: Image.Image) -> str | None:
    CLASSIFIER_CALLS.append(image.size)
    return None


def broken_classifier(image: Image.Image) -> str | None:
    raise ConnectionError("the classifier service is down")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    CLASSIFIER_CALLS.clear()
    return tmp_path


def test_every_stored_image_keeps_its_perceptual_hash():
    asset = image_asset_create(data=_encoded(_picture(1)))

    assert len(asset.phash) == 16 and int(asset.phash, 16) >= 0
    assert MediaAsset.objects.get(pk=asset.pk).phash == asset.phash


def test_an_exact_copy_of_a_banned_image_is_refused_and_nothing_is_stored(media_root):
    upload = _encoded(_picture(2))
    banned = image_ban(asset_or_sha256=image_asset_create(data=upload), reason="Reported: personal data")
    MediaAsset.objects.all().delete()
    for path in _stored_files(media_root):
        path.unlink()

    with pytest.raises(NotAllowed, match="matches an image the moderators removed"):
        image_asset_create(data=upload)

    assert banned.phash and banned.reason == "Reported: personal data"
    assert not MediaAsset.objects.exists()
    assert _stored_files(media_root) == []


@pytest.mark.parametrize(
    "change",
    ["resized to 60%", "re-encoded as a low-quality JPEG", "slightly brighter", "resized and re-encoded"],
)
def test_a_near_copy_of_a_banned_image_is_refused(change, settings):
    original = _picture(3)
    image_ban(asset_or_sha256=image_asset_create(data=_encoded(original)), reason="Abusive")
    if change == "resized to 60%":
        copy = _encoded(original.resize((192, 144)))
    elif change == "re-encoded as a low-quality JPEG":
        copy = _encoded(original, "JPEG", quality=40)
    elif change == "slightly brighter":
        copy = _encoded(original.point(lambda value: min(255, value + 12)))
    else:
        copy = _encoded(original.resize((240, 180)), "JPEG", quality=55)

    with pytest.raises(NotAllowed, match="matches an image the moderators removed"):
        image_asset_create(data=copy)
    settings.ARENA_IMAGE_BAN_DISTANCE = -1
    assert image_asset_create(data=copy).phash, "with near copies let through, only exact ones are refused"


def test_unrelated_images_pass_a_ban_list():
    for seed in (10, 11, 12):
        image_ban(asset_or_sha256=image_asset_create(data=_encoded(_picture(seed))), reason="Abusive")

    for seed in (20, 21, 22, 23):
        assert image_asset_create(data=_encoded(_picture(seed))).phash


def test_a_hash_of_no_stored_picture_bans_exact_copies_only():
    banned = image_ban(asset_or_sha256="AB" * 32, reason="From another site's list")

    assert (banned.sha256, banned.phash) == ("ab" * 32, "")
    with pytest.raises(InvalidInput, match="64 hexadecimal digits"):
        image_ban(asset_or_sha256="not-a-hash", reason="x")
    with pytest.raises(InvalidInput, match="Say why"):
        image_ban(asset_or_sha256="ab" * 32, reason="  ")
    assert image_asset_create(data=_encoded(_picture(30))).phash


def test_banning_again_updates_the_reason_and_keeps_one_row():
    asset = image_asset_create(data=_encoded(_picture(4)))
    image_ban(asset_or_sha256=asset, reason="first")
    image_ban(asset_or_sha256=asset.sha256, reason="second")

    assert list(BannedImage.objects.values_list("sha256", "phash", "reason")) == [
        (asset.sha256, asset.phash, "second")
    ]


def test_a_banned_upload_to_the_api_gets_a_403_sentence_and_starts_nothing(media_root):
    upload = _encoded(_picture(5))
    image_ban(asset_or_sha256=image_asset_create(data=upload), reason="Abusive")
    client, token = voter_client()

    response = client.post(
        "/api/v1/battles",
        data={"prompt": "What is this?", "image": io.BytesIO(_encoded(_picture(5), "JPEG", quality=70))},
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 403, response.content
    assert "matches an image the moderators removed" in response.json()["detail"]
    assert not Battle.objects.exists()
    assert MediaAsset.objects.count() == 1, "only the banned original"


# ---- The classifier hook ----


def test_with_no_classifier_set_none_is_asked():
    assert image_asset_create(data=_encoded(_picture(6)))
    assert CLASSIFIER_CALLS == []


def test_the_classifier_sees_the_stored_pixels_and_its_reason_refuses_the_upload(settings, media_root):
    settings.ARENA_IMAGE_CLASSIFIER = "tests.arena.test_image_bans.refuse_everything"

    with pytest.raises(NotAllowed, match="it shows something this site does not accept"):
        image_asset_create(data=_encoded(_picture(7, size=(2000, 1000))))

    assert CLASSIFIER_CALLS == [(1024, 512)], "the picture as it would be stored"
    assert not MediaAsset.objects.exists() and _stored_files(media_root) == []


def test_a_classifier_that_finds_nothing_lets_the_upload_through(settings):
    settings.ARENA_IMAGE_CLASSIFIER = "tests.arena.test_image_bans.accept_everything"

    assert image_asset_create(data=_encoded(_picture(8)))
    assert len(CLASSIFIER_CALLS) == 1


@pytest.mark.parametrize(
    "path",
    ["tests.arena.test_image_bans.broken_classifier", "tests.arena.test_image_bans.no_such_classifier"],
)
def test_a_failing_classifier_lets_uploads_through_unless_it_fails_closed(path, settings, media_root):
    settings.ARENA_IMAGE_CLASSIFIER = path

    assert image_asset_create(data=_encoded(_picture(9))), "fails open by default"
    settings.ARENA_IMAGE_CLASSIFIER_FAIL_CLOSED = True
    with pytest.raises(Unavailable, match="cannot be checked right now"):
        image_asset_create(data=_encoded(_picture(19)))
    assert MediaAsset.objects.count() == 1


def test_a_classifier_failing_closed_answers_the_api_503_with_a_sentence(settings):
    settings.ARENA_IMAGE_CLASSIFIER = "tests.arena.test_image_bans.broken_classifier"
    settings.ARENA_IMAGE_CLASSIFIER_FAIL_CLOSED = True
    client, token = voter_client()

    response = client.post(
        "/api/v1/battles",
        data={"prompt": "What is this?", "image": io.BytesIO(_encoded(_picture(40)))},
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 503
    assert "cannot be checked right now" in response.json()["detail"]
    assert not Battle.objects.exists() and not MediaAsset.objects.exists()
