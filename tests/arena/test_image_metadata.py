"""An uploaded picture is stored as its pixels alone: no EXIF (GPS included), XMP, ICC profile, JPEG
comment or PNG text chunk survives, and every stored file still decodes (arena.media)."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from arena.media import image_asset_create, media_asset_read

pytestmark = pytest.mark.django_db

# Strings planted in every kind of metadata; none may be found in a stored file.
PLANTED = {
    "comment": b"leak-comment-ada@example.org",
    "artist": b"leak-exif-artist",
    "gps": b"leak-gps-area",
    "xmp": b"leak-xmp-secret",
    "png_text": b"leak-png-text",
    "png_itxt": b"leak-png-itxt",
}
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + PLANTED["xmp"] + b"</x:xmpmeta>"
# Markers of metadata structures, whatever they hold: JPEG's comment and APP1 (EXIF, XMP) and ICC APP2
# segments, an ICC profile's signature, PNG's text, EXIF and profile chunks, WebP's EXIF and XMP chunks.
MARKERS = [
    b"\xff\xfe",
    b"Exif\x00\x00",
    b"http://ns.adobe.com/xap/1.0/",
    b"ICC_PROFILE",
    b"acsp",
    b"tEXt",
    b"iTXt",
    b"zTXt",
    b"eXIf",
    b"iCCP",
    b"XMP ",
    b"EXIF",
]


def _exif(*, orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x013B] = PLANTED["artist"].decode()  # Artist
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"  # GPSLatitudeRef
    gps[2] = (51.0, 30.0, 12.0)  # GPSLatitude
    gps[27] = b"ASCII\x00\x00\x00" + PLANTED["gps"]  # GPSAreaInformation
    return exif


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def _swapped_icc() -> bytes:
    """An ICC v2 RGB profile whose red is sRGB's green and whose green is sRGB's red (linear curves):
    a pixel (255, 0, 0) tagged with it is green in sRGB, so its stored colour shows whether the
    profile was applied before it was dropped."""
    curve = b"curv" + b"\0" * 4 + struct.pack(">I", 0)
    tags = [
        (b"rXYZ", _xyz(0.3851, 0.7169, 0.0971)),
        (b"gXYZ", _xyz(0.4361, 0.2225, 0.0139)),
        (b"bXYZ", _xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body + b"\0" * (-len(body) % 4)
    header = (
        struct.pack(">I", offset + len(data))
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 28
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + b"\0" * 48
    )
    return header + struct.pack(">I", len(tags)) + table + data


def _jpeg(*, size: tuple[int, int] = (60, 40), color: str = "red", **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG", **save)
    return out.getvalue()


def _png_with_everything() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", PLANTED["png_text"].decode())
    info.add_itxt("XML:com.adobe.xmp", PLANTED["png_itxt"].decode() + XMP.decode())
    info.add_text("Author", "leak-png-ztxt, compressed", zip=True)
    out = io.BytesIO()
    Image.new("RGB", (60, 40), "blue").save(
        out, format="PNG", pnginfo=info, exif=_exif(), icc_profile=_srgb_icc()
    )
    return out.getvalue()


def _webp_with_everything() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), "yellow").save(
        out, format="WEBP", exif=_exif(), xmp=XMP, icc_profile=_srgb_icc(), lossless=True
    )
    return out.getvalue()


def _gif_with_a_comment() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), "green").save(out, format="GIF", comment=PLANTED["comment"])
    return out.getvalue()


def _jpeg_with_everything() -> bytes:
    return _jpeg(comment=PLANTED["comment"], exif=_exif(), xmp=XMP, icc_profile=_srgb_icc())


def _assert_clean(stored: bytes) -> Image.Image:
    for name, planted in PLANTED.items():
        assert planted not in stored, f"the {name} survived"
    for marker in MARKERS:
        assert marker not in stored, f"{marker!r} survived"
    decoded = Image.open(io.BytesIO(stored))
    decoded.load()
    assert not decoded.getexif(), "no EXIF"
    assert not {"icc_profile", "comment", "exif", "xmp", "XML:com.adobe.xmp"} & set(decoded.info)
    assert not getattr(decoded, "text", {}), "no PNG text"
    return decoded


CRAFTED = {
    "JPEG with a comment, EXIF with GPS, XMP and an ICC profile": (_jpeg_with_everything, "image/jpeg"),
    "PNG with tEXt, iTXt, zTXt, eXIf and iCCP": (_png_with_everything, "image/png"),
    "WebP with EXIF, XMP and ICCP": (_webp_with_everything, "image/png"),
    "GIF with a comment": (_gif_with_a_comment, "image/png"),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_no_metadata_survives_the_store_and_the_picture_still_decodes(case, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    make, mime_type = CRAFTED[case]
    upload = make()
    planted = [value for value in PLANTED.values() if value in upload]
    assert planted, "the crafted file carries what the test looks for"

    asset = image_asset_create(data=upload)
    stored = media_asset_read(asset=asset)

    assert asset.mime_type == mime_type
    decoded = _assert_clean(stored)
    assert decoded.size == (60, 40) == (asset.width, asset.height)


def test_the_exif_orientation_is_applied_before_the_exif_goes(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # Orientation 6: the camera was turned; the picture is shown rotated a quarter turn.
    upload = _jpeg(size=(60, 40), exif=_exif(orientation=6), comment=PLANTED["comment"])

    asset = image_asset_create(data=upload)

    decoded = _assert_clean(media_asset_read(asset=asset))
    assert decoded.size == (40, 60) == (asset.width, asset.height)


def test_a_colour_profile_is_applied_to_the_pixels_then_dropped(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (255, 0, 0)).save(out, format="PNG", icc_profile=_swapped_icc())

    asset = image_asset_create(data=out.getvalue())

    decoded = _assert_clean(media_asset_read(asset=asset))
    red, green, blue = decoded.convert("RGB").getpixel((10, 10))
    assert green > 240 and red < 15 and blue < 15, "the tagged red is sRGB green"


def test_a_broken_colour_profile_is_dropped_and_the_pixels_kept(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (255, 0, 0)).save(
        out, format="PNG", icc_profile=b"acsp, but no profile at all"
    )

    asset = image_asset_create(data=out.getvalue())

    decoded = _assert_clean(media_asset_read(asset=asset))
    assert decoded.convert("RGB").getpixel((10, 10)) == (255, 0, 0)


def test_a_cmyk_jpeg_is_stored_as_rgb_without_its_metadata(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    out = io.BytesIO()
    Image.new("CMYK", (30, 20), (0, 255, 255, 0)).save(out, format="JPEG", comment=PLANTED["comment"])

    asset = image_asset_create(data=out.getvalue())

    decoded = _assert_clean(media_asset_read(asset=asset))
    assert decoded.mode == "RGB" and decoded.size == (30, 20)
