"""Reusable layers shared by several methods."""

from .adapter import Bottleneck
from .lowrank import LoRALinear
from .scale_shift import ScaleShift

__all__ = ["Bottleneck", "LoRALinear", "ScaleShift"]
