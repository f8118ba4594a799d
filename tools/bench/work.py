"""The work of a train step, counted rather than timed: FLOPs of one forward and backward.

Times on a shared machine move with its load; a count of floating-point operations does not. torch's
`FlopCounterMode` counts the matrix products, convolutions and attention kernels that run (elementwise ops, norms
and the optimizer step are not counted), including the backward ops autograd runs: a frozen weight's gradient is
never computed, so the count shows what a method saves. Two models whose counts and saved-activation bytes are equal
do the same work; a difference in their measured times is the machine's, not theirs.
"""

from __future__ import annotations

from torch.utils.flop_counter import FlopCounterMode


def counter() -> FlopCounterMode:
    """A context that counts the FLOPs run inside it (`.get_total_flops()` after); prints nothing."""
    return FlopCounterMode(display=False)
