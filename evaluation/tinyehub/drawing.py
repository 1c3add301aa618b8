"""Drawing for tiny-ehub: named colours, shapes on integer coordinates, text, PNG bytes.

Every image is the same bytes on every machine with the same Pillow build: shapes are polygons whose
vertices come from integer tables (no floating-point trigonometry to round differently), nothing is
anti-aliased (Pillow's shape drawing never is; text is drawn with `fontmode = "1"`), and text uses the
font Pillow ships (`ImageFont.load_default(size=...)`), so no system font is looked up.
"""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageDraw, ImageFont

SIZE = 224
WHITE = (255, 255, 255)
Colour = tuple[int, int, int]
Point = tuple[int, int]

# Far apart in hue and lightness, so each is one name to a person and no two can be confused.
COLOURS: dict[str, Colour] = {
    "red": (220, 20, 20),
    "green": (20, 150, 40),
    "blue": (20, 60, 220),
    "yellow": (245, 205, 0),
    "orange": (245, 125, 0),
    "purple": (130, 40, 170),
    "black": (0, 0, 0),
}
SHAPES = ("circle", "square", "triangle", "star", "cross")
SHAPE_PLURALS = {"circle": "circles", "square": "squares", "triangle": "triangles", "star": "stars"}

# Unit vertices scaled by 100 (y grows downwards), starting at the top and going clockwise.
_STAR = (
    (0, -100), (24, -32), (95, -31), (38, 12), (59, 81),
    (0, 40), (-59, 81), (-38, 12), (-95, -31), (-24, -32),
)  # fmt: skip
_TRIANGLE = ((0, -100), (87, 50), (-87, 50))
_OCTAGON = ((38, -92), (92, -38), (92, 38), (38, 92), (-38, 92), (-92, 38), (-92, -38), (-38, -92))
# A clock's twelve directions, hour 0 (12 o'clock) first: (sin, -cos) of 30-degree steps, scaled by 1000.
CLOCK_DIRECTIONS = (
    (0, -1000), (500, -866), (866, -500), (1000, 0), (866, 500), (500, 866),
    (0, 1000), (-500, 866), (-866, 500), (-1000, 0), (-866, -500), (-500, -866),
)  # fmt: skip


def canvas_new(*, background: Colour = WHITE, size: int = SIZE) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A blank RGB square and the pen that draws on it (text without anti-aliasing)."""
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    return image, draw


def polygon_points(*, table: tuple[Point, ...], centre: Point, radius: int, scale: int = 100) -> list[Point]:
    """The table's unit vertices scaled to `radius` around `centre`, in integers."""
    x, y = centre
    return [(x + dx * radius // scale, y + dy * radius // scale) for dx, dy in table]


def shape_draw(*, draw: ImageDraw.ImageDraw, shape: str, centre: Point, radius: int, colour: Colour) -> None:
    """A filled shape (one of SHAPES) that fits in the circle of `radius` around `centre`."""
    x, y = centre
    if shape == "circle":
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    elif shape == "square":
        half = radius * 4 // 5
        draw.rectangle((x - half, y - half, x + half, y + half), fill=colour)
    elif shape == "triangle":
        draw.polygon(polygon_points(table=_TRIANGLE, centre=centre, radius=radius), fill=colour)
    elif shape == "star":
        draw.polygon(polygon_points(table=_STAR, centre=centre, radius=radius), fill=colour)
    elif shape == "cross":
        arm = radius // 3
        draw.rectangle((x - radius, y - arm, x + radius, y + arm), fill=colour)
        draw.rectangle((x - arm, y - radius, x + arm, y + radius), fill=colour)
    else:
        raise ValueError(f"tiny-ehub cannot draw a {shape!r}")


def octagon_draw(*, draw: ImageDraw.ImageDraw, centre: Point, radius: int, colour: Colour) -> None:
    draw.polygon(polygon_points(table=_OCTAGON, centre=centre, radius=radius), fill=colour)


def inverted_triangle_draw(*, draw: ImageDraw.ImageDraw, centre: Point, radius: int, colour: Colour) -> None:
    """A triangle standing on its tip (a give-way sign's outline)."""
    flipped = tuple((dx, -dy) for dx, dy in _TRIANGLE)
    draw.polygon(polygon_points(table=flipped, centre=centre, radius=radius), fill=colour)


@functools.cache
def font_sized(*, size: int) -> ImageFont.FreeTypeFont:
    """Pillow's own font at `size` pixels; refuses a Pillow without FreeType (its fallback has one size)."""
    font = ImageFont.load_default(size=size)
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise RuntimeError("tiny-ehub needs Pillow built with FreeType to render its text")
    return font


def text_draw(*, draw: ImageDraw.ImageDraw, text: str, centre: Point, size: int, colour: Colour) -> None:
    """`text` centred on `centre`, `size` pixels high."""
    draw.text(centre, text, font=font_sized(size=size), fill=colour, anchor="mm")


def png_encode(*, image: Image.Image) -> bytes:
    """PNG bytes with fixed settings and no metadata, so the same pixels give the same bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=9)
    return buffer.getvalue()
