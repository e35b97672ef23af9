"""Product pictures for the demo catalogue: recognisable fashion silhouettes drawn with Pillow.

Each kind is a few shapes in a 256 x 256 design space (drawn at 2x and downsampled, for smooth
edges). The coloured parts are cut from a full-canvas pattern layer through the shape's mask, so the
pattern is clipped to the silhouette; every part then gets a dark outline. Small per-picture
variation (scale, offset, background tint, pattern spacing and phase) keeps two products with the
same attributes from being pixel-identical, as two real listings never are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw

SIZE = 256  # output side in pixels (Study B resizes to 224)
SS = 2  # supersampling factor

COLOUR_RGB: dict[str, tuple[int, int, int]] = {
    "red": (200, 32, 44),
    "blue": (38, 84, 196),
    "green": (38, 142, 72),
    "yellow": (242, 202, 40),
    "black": (32, 32, 36),
    "white": (246, 246, 244),
    "pink": (240, 138, 182),
    "purple": (118, 58, 160),
}

OUTLINE = (45, 42, 48)
Point = tuple[float, float]


def _mix(a: Sequence[int], b: Sequence[int], t: float) -> tuple[int, int, int]:
    return tuple(int(round(x * (1 - t) + y * t)) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def accent_for(rgb: Sequence[int]) -> tuple[int, int, int]:
    """The pattern's second colour: a light tint on dark colours, a darker shade on light ones,
    so the item still reads as its main colour."""
    luminance = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    if luminance < 150:
        return _mix(rgb, (255, 255, 255), 0.72)
    return _mix(rgb, (0, 0, 0), 0.42)


def pattern_layer(rgb: Sequence[int], pattern: str, spacing: float, phase: float) -> Image.Image:
    """A full canvas (at supersampled size) filled with the colour and the pattern."""
    n = SIZE * SS
    layer = Image.new("RGB", (n, n), tuple(rgb))
    if pattern == "solid":
        return layer
    draw = ImageDraw.Draw(layer)
    acc = accent_for(rgb)
    sp = spacing * SS
    off = phase * sp
    if pattern == "stripes":
        y = -sp + off
        while y < n:
            draw.rectangle([0, y, n, y + sp * 0.45], fill=acc)
            y += sp
    elif pattern == "dots":
        r = sp * 0.23
        for row, y in enumerate(np.arange(-sp + off, n + sp, sp)):
            shift = sp / 2 if row % 2 else 0.0
            for x in np.arange(-sp + off + shift, n + sp, sp):
                draw.ellipse([x - r, y - r, x + r, y + r], fill=acc)
    elif pattern == "checks":
        for i, y in enumerate(np.arange(-sp + off, n, sp)):
            for j, x in enumerate(np.arange(-sp + off, n, sp)):
                if (i + j) % 2:
                    draw.rectangle([x, y, x + sp, y + sp], fill=acc)
    else:
        raise ValueError(f"unknown pattern {pattern!r}")
    return layer


class _Painter:
    """Paints parts in z order onto the supersampled canvas; coordinates are in design space."""

    def __init__(self, img: Image.Image, layer: Image.Image, scale: float, dx: float, dy: float):
        self.img, self.layer = img, layer
        self.scale, self.dx, self.dy = scale, dx, dy
        self.draw = ImageDraw.Draw(img)

    def pt(self, p: Point) -> Point:
        x, y = p
        return (
            (SIZE / 2 + (x - SIZE / 2) * self.scale + self.dx) * SS,
            (SIZE / 2 + (y - SIZE / 2) * self.scale + self.dy) * SS,
        )

    def box(self, b: Sequence[float]) -> list[float]:
        (x0, y0), (x1, y1) = self.pt((b[0], b[1])), self.pt((b[2], b[3]))
        return [x0, y0, x1, y1]

    def w(self, width: float) -> int:
        return max(1, int(round(width * self.scale * SS)))

    def _fill(self, shape: Callable[[ImageDraw.ImageDraw, object], None], fill: object) -> None:
        if fill == "layer" or fill is None:
            mask = Image.new("L", self.img.size, 0)
            shape(ImageDraw.Draw(mask), 255)
            self.img.paste(self.layer, (0, 0), mask)
        else:
            shape(self.draw, fill)

    def polygon(self, pts: Sequence[Point], fill: object = "layer", outline: bool = True) -> None:
        xy = [self.pt(p) for p in pts]
        self._fill(lambda d, f: d.polygon(xy, fill=f), fill)
        if outline:
            self.draw.line(xy + [xy[0]], fill=OUTLINE, width=self.w(2.2), joint="curve")

    def ellipse(self, b: Sequence[float], fill: object = "layer", outline: bool = True) -> None:
        xy = self.box(b)
        self._fill(lambda d, f: d.ellipse(xy, fill=f), fill)
        if outline:
            self.draw.ellipse(xy, outline=OUTLINE, width=self.w(2.2))

    def rounded(self, b: Sequence[float], r: float, fill: object = "layer", outline: bool = True) -> None:
        xy, rr = self.box(b), r * self.scale * SS
        self._fill(lambda d, f: d.rounded_rectangle(xy, rr, fill=f), fill)
        if outline:
            self.draw.rounded_rectangle(xy, rr, outline=OUTLINE, width=self.w(2.2))

    def line(self, pts: Sequence[Point], width: float = 2.0, fill: object = OUTLINE) -> None:
        self.draw.line([self.pt(p) for p in pts], fill=fill, width=self.w(width), joint="curve")

    def arc(self, b: Sequence[float], start: float, end: float, width: float, fill: object = OUTLINE) -> None:
        self.draw.arc(self.box(b), start, end, fill=fill, width=self.w(width))


def _curve(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 12) -> list[Point]:
    """Points on an elliptical arc (degrees, Pillow's clockwise-from-east convention)."""
    t = np.radians(np.linspace(a0, a1, n))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in t]


def _tshirt(p: _Painter, rgb: Sequence[int]) -> None:
    body = [(102, 38), (70, 48), (28, 88), (50, 118), (78, 102), (80, 220), (176, 220), (178, 102),
            (206, 118), (228, 88), (186, 48), (154, 38)]
    p.polygon(body + _curve(128, 38, 26, 22, 0, 180)[1:-1])  # the neckline dips between the shoulders
    p.line(_curve(128, 38, 26, 22, 0, 180), width=5, fill=_mix(rgb, (0, 0, 0), 0.25))
    p.line([(50, 118), (78, 102)], width=2)
    p.line([(178, 102), (206, 118)], width=2)
    p.line([(38, 96), (58, 112)], width=1.4)
    p.line([(218, 96), (198, 112)], width=1.4)


def _dress(p: _Painter, rgb: Sequence[int]) -> None:
    bodice = [(104, 28), (112, 28), (116, 46), (128, 56), (140, 46), (144, 28), (152, 28), (156, 60),
              (166, 82), (156, 112), (100, 112), (90, 82), (100, 60)]
    hem = _curve(128, 208, 84, 16, 0, 180)
    skirt = [(100, 110), (156, 110), (212, 208)] + hem + [(44, 208)]
    p.polygon(skirt)
    p.polygon(bodice)
    p.line([(100, 112), (156, 112)], width=4, fill=_mix(rgb, (0, 0, 0), 0.35))
    for x0, x1 in ((118, 96), (138, 160)):
        p.line([(x0, 118), (x1, 208)], width=1.2, fill=_mix(rgb, (0, 0, 0), 0.3))


def _sneaker(p: _Painter, rgb: Sequence[int]) -> None:
    upper = [(38, 170), (32, 142), (36, 116), (50, 102), (66, 104), (84, 114), (98, 100), (104, 86),
             (118, 82), (130, 98), (150, 118), (176, 134), (204, 144), (224, 152), (234, 164), (232, 172)]
    p.polygon(upper)
    light = _mix(rgb, (255, 255, 255), 0.4)
    p.polygon([(188, 140), (204, 144), (224, 152), (234, 164), (232, 172), (186, 172)], fill=light)
    p.polygon([(38, 170), (32, 142), (36, 124), (60, 130), (62, 170)], fill=light)
    p.rounded((26, 164, 240, 188), 11, fill=(238, 236, 232))
    p.line([(30, 177), (236, 177)], width=1.5, fill=(160, 158, 160))
    for i in range(5):
        x, y = 116 + i * 13, 94 + i * 9
        p.line([(x - 10, y + 4), (x + 8, y - 8)], width=3.0, fill=(250, 250, 250))
        p.ellipse((x - 13, y + 2, x - 7, y + 8), fill=(70, 70, 70), outline=False)
    p.line([(70, 150), (110, 140), (150, 150), (176, 134)], width=2)


def _handbag(p: _Painter, rgb: Sequence[int]) -> None:
    dark = _mix(rgb, (0, 0, 0), 0.45)
    p.arc((82, 46, 174, 150), 180, 360, width=11, fill=OUTLINE)
    p.arc((84, 48, 172, 148), 180, 360, width=7, fill=dark)
    p.polygon([(62, 104), (194, 104), (214, 212), (42, 212)])
    p.polygon([(62, 104), (194, 104), (188, 148), (128, 160), (68, 148)])
    p.rounded((119, 146, 137, 164), 3, fill=(212, 175, 55))


def _hat(p: _Painter, rgb: Sequence[int]) -> None:
    p.ellipse((28, 146, 228, 196))
    crown = _curve(128, 160, 58, 80, 180, 360, 16) + [(186, 172), (70, 172)]
    p.polygon(crown)
    p.polygon([(70, 144), (186, 144), (186, 172), (70, 172)], fill=_mix(rgb, (0, 0, 0), 0.55))
    p.line(_curve(128, 160, 58, 80, 180, 360, 16), width=2.2)
    p.line([(128, 82), (128, 110)], width=1.2, fill=_mix(rgb, (0, 0, 0), 0.3))


def _sunglasses(p: _Painter, rgb: Sequence[int]) -> None:
    p.line([(40, 104), (14, 90)], width=7)
    p.line([(216, 104), (242, 90)], width=7)
    p.arc((112, 96, 144, 124), 200, 340, width=6)
    lens = ((34, 92, 120, 168), (136, 92, 222, 168))
    for b in lens:
        p.rounded(b, 30)
    tint = _mix(rgb, (20, 20, 28), 0.62)
    for x0, y0, x1, y1 in lens:
        p.rounded((x0 + 12, y0 + 12, x1 - 12, y1 - 12), 20, fill=tint)
        p.line([(x0 + 22, y0 + 24), (x0 + 36, y0 + 18)], width=3, fill=_mix(tint, (255, 255, 255), 0.5))


DRAWERS: dict[str, Callable[[_Painter, Sequence[int]], None]] = {
    "t-shirt": _tshirt,
    "dress": _dress,
    "sneaker": _sneaker,
    "handbag": _handbag,
    "hat": _hat,
    "sunglasses": _sunglasses,
}


def render(kind: str, colour: str, pattern: str, rng: np.random.Generator) -> Image.Image:
    """Draw one product picture (RGB, :data:`SIZE` square) of ``kind`` in ``colour`` with ``pattern``.

    ``rng`` supplies the per-picture variation; the same generator state gives the same picture.
    """
    rgb = COLOUR_RGB[colour]
    tint = rng.uniform(-6, 6, 3)
    bg = tuple(int(v) for v in np.clip(238 + tint + rng.uniform(-5, 5), 222, 252))
    scale = float(rng.uniform(0.86, 1.02))
    dx, dy = (float(v) for v in rng.uniform(-9, 9, 2))
    spacing = float(rng.uniform(14, 22) if kind != "sunglasses" else rng.uniform(11, 15))
    layer = pattern_layer(rgb, pattern, spacing, float(rng.uniform(0, 1)))
    img = Image.new("RGB", (SIZE * SS, SIZE * SS), bg)
    DRAWERS[kind](_Painter(img, layer, scale, dx, dy), rgb)
    return img.reduce(SS)  # box-filter downsampling: smooth edges at a fraction of LANCZOS's cost
