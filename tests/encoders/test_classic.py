"""The no-weights baseline, checked against hand-made inputs with known answers."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from mmrec_core.encoders.classic import ClassicEncoder, colour_histogram, edge_histogram


def test_pure_red_lands_in_one_hue_bin():
    hist = colour_histogram(Image.new("RGB", (40, 30), (255, 0, 0)))
    assert hist.shape == (128,) and np.isclose(hist.sum(), 1.0)
    assert hist.max() == 1.0 and hist.argmax() // 16 == 0  # hue bin 0 (red), full saturation and value


def test_stripes_give_one_orientation():
    image = Image.new("L", (64, 64), 255)
    draw = ImageDraw.Draw(image)
    for x in range(0, 64, 8):
        draw.rectangle([x, 0, x + 3, 63], fill=0)  # vertical stripes: horizontal gradients
    hist = edge_histogram(image.convert("RGB"))
    assert hist.argmax() == 0 and hist[0] > 0.9
    rotated = edge_histogram(image.rotate(90).convert("RGB"))
    assert rotated.argmax() == 8  # 90 degrees: the middle bin


def test_text_shares_words_and_is_deterministic():
    enc = ClassicEncoder()
    v = enc.encode_texts(["red cotton t-shirt", "red cotton tee", "leather handbag", "red cotton t-shirt"])
    assert v[0] @ v[1] > v[0] @ v[2]
    np.testing.assert_array_equal(v[0], v[3])


def test_empty_text_is_a_zero_row():
    v = ClassicEncoder().encode_texts(["", "a b"])
    assert not v[0].any() and np.isclose(np.linalg.norm(v[1]), 1.0)


def test_colour_separates_pictures(pictures):
    v = ClassicEncoder().encode_images([pictures["red_tshirt"], pictures["red_tshirt_2"], pictures["blue_bag"]])
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
