"""Reusable layers shared by several methods."""

from methods.layers.adapter import Bottleneck
from methods.layers.lowrank import LoRALinear
from methods.layers.scale_shift import ScaleShift

__all__ = ["Bottleneck", "LoRALinear", "ScaleShift"]
