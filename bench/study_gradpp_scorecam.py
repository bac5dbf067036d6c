"""Study Grad++ScoreCAM's parameters on a folder of images: top-k, combination and perturbation size.

For each image it runs the Grad-CAM++ pass once, scores the ``--max-k`` channels with the highest
Grad-CAM++ weight once per perturbation size, and derives every (top-k, combination) variant from those
scores, exactly as :class:`camlib.methods.GradPPScoreCAM` would (a check against the class itself is
printed for the default variant). Each variant's map then gets Average Drop and Average Increase.

    python bench/study_gradpp_scorecam.py ../shared/imagenet-sample --layer conv_head --out docs/results/study_conv_head.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from itertools import product

import numpy as np
import torch
import torch.nn.functional as F

from camlib.backbones import load_backbone
from camlib.evaluate import list_images
from camlib.images import load_image
from camlib.methods import GradPPScoreCAM, masked_input_scores, normalize_maps
from camlib.methods.score import combine_scores
from camlib.methods.weights import gradcampp_weights
from camlib.metrics import average_drop, average_increase, confidence_pair

TOP_KS = (8, 16, 32, 64, 128, 256)
COMBINATIONS = ("softmax_w", "softmax", "relu_w")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images_dir")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--layer", default="conv_head")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--sizes", default="224,112,56", help="perturbation sizes; the input size means full resolution")
    parser.add_argument("--max-k", type=int, default=max(TOP_KS))
    parser.add_argument("--out", default="study.csv")
    args = parser.parse_args()

    backbone = load_backbone(args.backbone)
    model = backbone.model
    sizes = [int(s) for s in args.sizes.split(",")]
    probe = GradPPScoreCAM(model, args.layer)
    rows = []
    files = list_images(args.images_dir, limit=args.limit)
    seconds = {size: 0.0 for size in sizes}
    for number, path in enumerate(files, start=1):
        inputs = backbone.preprocess(load_image(path))
        capture = probe.capture(inputs, None, with_gradients=True)
        target = capture.logits.argmax(dim=1)
        grad = capture.gradients
        weights = gradcampp_weights(capture.activations, grad, grad.pow(2), grad.pow(3))
        chosen_weights, chosen = weights.topk(min(args.max_k, weights.shape[1]), dim=1)
        largest = weights.amax(dim=1, keepdim=True)
        for size in sizes:
            start = time.perf_counter()
            perturbation = None if size == backbone.spec.input_size else size
            scores = masked_input_scores(
                probe, inputs, capture.activations, target, chosen, batch_size=32, perturbation_size=perturbation
            )
            seconds[size] += time.perf_counter() - start
            variants = [(k, c) for k, c in product(TOP_KS, COMBINATIONS) if k <= chosen.shape[1]]
            variant_weights = torch.cat(
                [
                    torch.zeros_like(weights).scatter(
                        1, chosen[:, :top_k], combine_scores(scores[:, :top_k], chosen_weights[:, :top_k], largest, combination)
                    )
                    for top_k, combination in variants
                ]
            )
            activations = capture.activations.expand(len(variants), -1, -1, -1)
            low = F.relu(torch.einsum("nk,nkhw->nhw", variant_weights, activations))
            maps = normalize_maps(F.interpolate(low[:, None], size=inputs.shape[-2:], mode="bilinear", align_corners=False)[:, 0])
            pair = confidence_pair(model, inputs.expand(len(variants), -1, -1, -1), maps, target.expand(len(variants)))
            for (top_k, combination), base, masked in zip(variants, pair.base, pair.masked):
                rows.append(
                    {"file": path.name, "size": size, "top_k": top_k, "combination": combination, "base": float(base), "masked": float(masked)}
                )
        sys.stderr.write(f"\r{number}/{len(files)} {path.name[:40]:<40s}")
    sys.stderr.write("\n")

    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    print(f"{backbone.spec.display_name}, layer {args.layer}, {len(files)} images; drop % / increase %")
    print("| perturbation size | top-k | " + " | ".join(COMBINATIONS) + " |")
    print("|---|---|" + "---|" * len(COMBINATIONS))
    for size, top_k in product(sizes, TOP_KS):
        cells = []
        for combination in COMBINATIONS:
            chosen_rows = [r for r in rows if r["size"] == size and r["top_k"] == top_k and r["combination"] == combination]
            if not chosen_rows:
                continue
            base = np.array([r["base"] for r in chosen_rows])
            masked = np.array([r["masked"] for r in chosen_rows])
            cells.append(f"{average_drop(base, masked):.1f} / {average_increase(base, masked):.1f}")
        if cells:
            print(f"| {size} | {top_k} | " + " | ".join(cells) + " |")
    print("\nseconds per image scoring the top", args.max_k, "channels:", {s: round(t / len(files), 2) for s, t in seconds.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
