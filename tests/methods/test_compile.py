"""Issue 13 item 6: every registered method's model compiles with torch.compile and computes what eager computes.

Backend: inductor (torch.compile's default) where a C++ compiler is found, as on the CI runner (ubuntu-latest has
g++). Inductor's CPU code generation needs one; a bare container (e.g. python:3.x-slim, no g++) cannot run it, so
there the test still traces and partitions the model with dynamo and AOTAutograd through the "aot_eager" backend
(everything but the C++ kernels) instead of failing on a missing tool.

One forward of the tiny ViT in eval mode per method; each method compiles a fresh graph, so the test is slow.
Measured on a shared 2-core machine at load ~15-20 (so an idle runner is several times faster): all 22 methods
with "aot_eager" 529 s (11-58 s each); with inductor (g++) all 22 pass in about 1,170 s together, 3-200 s per method
(full 13 s, VPT-Shallow 37 s, FacT 70 s, Mona 73 s, Convpass 139 s, GLoRA and SSF 397 s together).
"""

from __future__ import annotations

import os
import shutil

import pytest
import torch
from vpeft import methods

from tests.methods.conftest import make_input, make_vit

# VPEFT_COMPILE_BACKEND overrides the choice (e.g. "aot_eager" for a quick check of tracing on a busy machine)
BACKEND = os.environ.get("VPEFT_COMPILE_BACKEND") or ("inductor" if shutil.which("g++") or shutil.which("c++") else
                                                      "aot_eager")


@pytest.mark.slow
@pytest.mark.parametrize("method_id", methods.available())
def test_compiled_model_equals_eager(method_id: str) -> None:
    torch._dynamo.reset()  # a fresh cache per method: the graphs differ and the cache limit is per code object
    model = methods.apply(make_vit(), method_id).eval()
    x = make_input()
    with torch.no_grad():
        model(x)  # GLoRA fills its eval cache: compiled and eager must agree with it too
        eager = model(x)
        compiled = torch.compile(model, backend=BACKEND)(x)
    torch.testing.assert_close(compiled, eager, atol=1e-5, rtol=1e-5)
