"""Top-1 and top-5 accuracy of backbones on a labelled folder of images, at each backbone's native input size.

Two preprocessings per backbone: ``resize``, camlib's own (the whole image resized, shorter side at the
input size and the shape kept, no crop: what every map is computed on), and ``crop``, the usual ImageNet evaluation (shorter side
resized to input / 0.875, then the central square of the input size). Labels come from the folder's
``labels.csv`` (columns ``file``, ``class_index``). ``--half tuning`` / ``report`` keeps the even / odd
0-based indices of the name-sorted files.

    python bench/backbone_accuracy.py ../shared/imagenet-sample --backbones efficientnet_lite0,efficientnet_lite1,efficientnet_lite2

``--out`` writes one row per image, backbone and preprocessing (hit at top-1 and top-5), the committed output that
``bench/readme_figures.py`` reads: ``--out docs/results/backbone_accuracy.csv``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from camlib.backbones import Backbone, load_backbone
from camlib.dataset import LabelLookup, list_images
from camlib.images import load_image

HALVES = {"all": (0, 1), "tuning": (0, 2), "report": (1, 2)}
CROP_FRACTION = 0.875


def centre_crop(image: Image.Image, size: int) -> Image.Image:
    """Shorter side to ``size / 0.875``, then the central ``size`` square (the standard evaluation crop)."""
    image = image.convert("RGB")
    scale = size / CROP_FRACTION / min(image.size)
    resized = image.resize(
        (max(size, round(image.width * scale)), max(size, round(image.height * scale))), Image.Resampling.BILINEAR
    )
    left, top = (resized.width - size) // 2, (resized.height - size) // 2
    return resized.crop((left, top, left + size, top + size))


def batch_tensor(backbone: Backbone, images: list[Image.Image], mode: str) -> torch.Tensor:
    size = backbone.spec.input_size
    if mode == "resize":
        return torch.cat([backbone.preprocess(image) for image in images])
    return torch.cat([backbone.to_tensor(np.asarray(centre_crop(image, size))) for image in images])


def hits(
    backbone: Backbone, images: list[Image.Image], labels: np.ndarray, mode: str, batch: int = 25
) -> tuple[np.ndarray, np.ndarray]:
    """Per image: whether the label is the top-1 class, and whether it is among the top 5."""
    top5 = []
    batch = 1 if mode == "resize" else batch  # camlib keeps each image's shape, so its inputs differ in size
    for start in range(0, len(images), batch):
        probabilities = backbone.probabilities(batch_tensor(backbone, images[start : start + batch], mode))
        top5.append(probabilities.topk(5, dim=1).indices.cpu().numpy())
    predicted = np.concatenate(top5)
    return predicted[:, 0] == labels, (predicted == labels[:, None]).any(axis=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images_dir")
    parser.add_argument("--backbones", default="efficientnet_lite0,efficientnet_lite1,efficientnet_lite2")
    parser.add_argument("--half", choices=list(HALVES), default="all")
    parser.add_argument("--labels", default=None, help="labels CSV (default: images_dir/labels.csv)")
    parser.add_argument("--out", default=None, help="write the per-image hits to this CSV")
    args = parser.parse_args()
    rows = []

    files = list_images(args.images_dir, shard=HALVES[args.half])
    lookup = LabelLookup(Path(args.images_dir), args.labels)
    labels = np.array([lookup(path) for path in files])
    images = [load_image(path) for path in files]
    print(f"{len(files)} images of {args.images_dir} ({args.half}); torch threads {torch.get_num_threads()}")
    print("| backbone | input | top-1 resize (camlib) | top-5 resize | top-1 centre crop | top-5 centre crop | s |")
    print("|---|---|---|---|---|---|---|")
    for key in args.backbones.split(","):
        backbone = load_backbone(key)
        start = time.perf_counter()
        measured = {mode: hits(backbone, images, labels, mode) for mode in ("resize", "crop")}
        seconds = time.perf_counter() - start
        (resize_1, resize_5), (crop_1, crop_5) = ((top1.mean(), top5.mean()) for top1, top5 in measured.values())
        for mode, (top1, top5) in measured.items():
            rows += [{"file": path.name, "backbone": key, "mode": mode, "label": int(label), "top1": int(one), "top5": int(five)}
                     for path, label, one, five in zip(files, labels, top1, top5)]  # fmt: skip
        print(
            f"| {backbone.spec.display_name} | {backbone.spec.input_size} | {100 * resize_1:.1f} % | {100 * resize_5:.1f} % "
            f"| {100 * crop_1:.1f} % | {100 * crop_5:.1f} % | {seconds:.0f} |",
            flush=True,
        )
    if args.out:
        with open(args.out, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
