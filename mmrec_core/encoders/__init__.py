"""Encoders: one interface (``encode_texts`` / ``encode_images`` -> unit-norm float32 rows) and a registry.

Importing this package is cheap: torch and transformers load on an encoder's first use.
"""

from mmrec_core.encoders.base import Availability, Encoder, l2_normalise, pick_device
from mmrec_core.encoders.registry import (
    ENCODERS,
    EncoderSpec,
    EncoderUnavailable,
    create_encoder,
    list_encoders,
)

__all__ = [
    "ENCODERS",
    "Availability",
    "Encoder",
    "EncoderSpec",
    "EncoderUnavailable",
    "create_encoder",
    "l2_normalise",
    "list_encoders",
    "pick_device",
]
