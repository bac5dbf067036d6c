"""How close and how fast each speed setting of Score-CAM is against exact Score-CAM, and Grad++ScoreCAM's speed.

For the first N images of a folder (default 20) it computes Score-CAM under every named speed setting
(exact, fast, lowres) and Grad++ScoreCAM at its defaults, on the same model and thread count, and prints
each variant's mean Pearson correlation with exact Score-CAM, its speed-up, and its Average Drop /
Increase on those images.

    python bench/fast_vs_exact.py ../shared/imagenet-sample --limit 20 --layer conv_head
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from camlib.backbones import load_backbone
from camlib.evaluate import list_images
from camlib.explain import build_method
from camlib.images import load_image
from camlib.methods import SPEED_SETTINGS, speed_params
from camlib.metrics import confidence_pair


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images_dir")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--layer", default=None)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--half", default="report", choices=["tuning", "report"], help="which half of the folder (default: report)")
    args = parser.parse_args()

    backbone = load_backbone(args.backbone)
    variants = {
        f"scorecam {speed}": build_method("scorecam", backbone, layer=args.layer, **speed_params("scorecam", speed))
        for speed in SPEED_SETTINGS
    }
    variants["gradpp_scorecam default"] = build_method("gradpp_scorecam", backbone, layer=args.layer)
    seconds = {name: 0.0 for name in variants}
    pairs = {name: ([], []) for name in variants}
    correlations: dict[str, list[float]] = {name: [] for name in variants}
    files = list_images(args.images_dir, limit=args.limit, half=args.half)
    for number, path in enumerate(files, start=1):
        inputs = backbone.preprocess(load_image(path))
        target = [int(backbone.probabilities(inputs).argmax())]
        maps = {}
        for name, method in variants.items():
            start = time.perf_counter()
            maps[name] = method.compute(inputs, target)
            if inputs.is_cuda:
                torch.cuda.synchronize()
            seconds[name] += time.perf_counter() - start
            pair = confidence_pair(backbone.model, inputs, maps[name], target)
            pairs[name][0].append(pair.base[0])
            pairs[name][1].append(pair.masked[0])
        exact = maps["scorecam exact"].cpu().numpy().ravel()
        for name, saliency in maps.items():
            other = saliency.cpu().numpy().ravel()
            correlations[name].append(float(np.corrcoef(exact, other)[0, 1]) if exact.std() > 0 and other.std() > 0 else float("nan"))
        sys.stderr.write(f"\r{number}/{len(files)}")
    sys.stderr.write("\n")

    from camlib.metrics import average_drop, average_increase

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    layer = args.layer or backbone.spec.default_layer
    print(f"{backbone.spec.display_name}, layer {layer}, {len(files)} images of the {args.half} half, {device}")
    print("| variant | s / image | speed-up vs exact | correlation with exact: mean (min) | Average Drop % | Average Increase % |")
    print("|---|---|---|---|---|---|")
    for name in variants:
        base, masked = pairs[name]
        print(
            f"| {name} | {seconds[name] / len(files):.2f} | {seconds['scorecam exact'] / seconds[name]:.1f}× | "
            f"{np.nanmean(correlations[name]):.3f} ({np.nanmin(correlations[name]):.3f}) | "
            f"{average_drop(base, masked):.2f} | {average_increase(base, masked):.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
