"""Tiny randomly initialised CLIP, DistilBERT and ResNet folders, saved once per session.

The encoders then load them through the same ``from_pretrained(folder)`` call users make with real
checkpoints (no network, no real weights needed).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _clip_folder(folder: Path) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor, CLIPTokenizer

    folder.mkdir(parents=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in LETTERS:
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tokenizer,
    )
    config = CLIPConfig(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 32,
            "bos_token_id": 0,
            "eos_token_id": 1,
            "pad_token_id": 1,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _distilbert_folder(folder: Path) -> Path:
    import torch
    from transformers import BertTokenizer, DistilBertConfig, DistilBertModel

    folder.mkdir(parents=True)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *LETTERS, "red", "blue", "shirt", "bag", "tee"]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    config = DistilBertConfig(
        vocab_size=len(words), dim=24, n_layers=1, n_heads=2, hidden_dim=40, max_position_embeddings=128
    )
    torch.manual_seed(0)
    DistilBertModel(config).save_pretrained(folder)
    return folder


def _resnet_folder(folder: Path) -> Path:
    import torch
    from transformers import ConvNextImageProcessorPil, ResNetConfig, ResNetModel

    folder.mkdir(parents=True)
    config = ResNetConfig(embedding_size=8, hidden_sizes=[8, 12], depths=[1, 1], layer_type="basic")
    torch.manual_seed(0)
    ResNetModel(config).save_pretrained(folder)
    ConvNextImageProcessorPil(size={"shortest_edge": 32}, crop_pct=0.875).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """``{"clip": folder, "distilbert": folder, "resnet": folder}`` of tiny random models."""
    root = tmp_path_factory.mktemp("tiny-models")
    return {
        "clip": _clip_folder(root / "clip"),
        "distilbert": _distilbert_folder(root / "distilbert"),
        "resnet": _resnet_folder(root / "resnet"),
    }


def draw_item(kind: str, colour: tuple[int, int, int], size: int = 96, stripes: bool = False) -> Image.Image:
    """A simple product picture on white: a t-shirt silhouette or a handbag, optionally striped."""
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    s = size / 96
    if kind == "tshirt":
        body = [(30, 20), (42, 14), (54, 14), (66, 20), (84, 34), (74, 44), (66, 38), (66, 86), (30, 86), (30, 38), (22, 44), (12, 34)]
    else:  # handbag: a trapezoid body and a handle
        body = [(20, 40), (76, 40), (84, 84), (12, 84)]
        draw.arc([30 * s, 16 * s, 66 * s, 60 * s], 180, 360, fill=colour, width=max(1, int(5 * s)))
    draw.polygon([(x * s, y * s) for x, y in body], fill=colour)
    if stripes:
        for y in range(0, size, max(2, size // 12)):
            draw.line([(0, y), (size, y)], fill="white", width=max(1, size // 48))
    return image


@pytest.fixture(scope="session")
def pictures() -> dict[str, Image.Image]:
    return {
        "red_tshirt": draw_item("tshirt", (200, 20, 25)),
        "red_tshirt_2": draw_item("tshirt", (215, 35, 30), size=120),
        "blue_bag": draw_item("handbag", (25, 40, 190)),
        "green_bag": draw_item("handbag", (30, 160, 60), size=80),
    }
