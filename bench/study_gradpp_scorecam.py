"""Study Grad++ScoreCAM's parameters on the TUNING half of a folder: channels scored, combination, the
fast idea, and the perturbation resolution. One CSV per configuration, one row per image.

The tuning half is the even 0-based indices of the name-sorted images (``--half tuning``, the default);
never tune on the report half. For each image it runs the forward and backward pass once, measures the
masked-input score C_k of **every** channel once per perturbation size, and derives every configuration
from those scores exactly as :class:`camlib.methods.GradPPScoreCAM` would:

- ``top_k=k`` scores the k channels with the largest Grad-CAM++ weight, i.e. a prefix of one ranking, and
  a channel's score does not depend on which others are scored; ``top_k=all`` is the paper's own form
  (with ``combination=softmax`` it is exact Score-CAM);
- ``combination`` is one of ``softmax_w``, ``softmax``, ``relu_w`` and ``linear:λ``
  (λ·Ĉ_k + (1−λ)·ŵ_k, both normalised to their maximum; see GradPPScoreCAM);
- ``sampled=m`` is the ``fast`` idea: of the chosen channels, m are measured and the others predicted by
  the surrogate fit, through the same :func:`camlib.methods.score.sampled_channel_scores` the class calls,
  whose measurements are looked up in the scores already taken;
- ``--sizes`` are the perturbation resolutions (``full`` = the backbone's input size).

On the first image a few configurations are also run through the class itself, and the largest
difference between its maps and the derived ones is printed (it should be ~1e-6; float16 differs more).

Columns of each CSV: file, target, base_score (Y), masked_score (O), average_drop (100·max(0, Y−O)/Y;
its mean over images is Average Drop), average_increase (100·[O > Y + 1e-5], camlib.metrics.INCREASE_TOLERANCE; its mean is Average Increase),
insertion_auc, deletion_auc, masked_passes, and seconds: what the configuration costs by itself on this
device, estimated as the forward-backward pass + masked_passes × this image's measured seconds per
masked pass at that size (+ the surrogate fits for ``sampled``). The metric computation is one function,
:func:`image_metrics`, to swap for camlib.evaluate's when the suite gains metrics.

Runtime: one line per image with the projected total goes to stdout, and one summary line per
configuration at the end. ``--max-seconds`` stops before an image that would end past that budget (the
CSVs hold every finished image); run the same command with ``--resume`` to go on. CUDA is used when
available; ``--mixed-precision`` runs the masked passes in float16 on CUDA.

    python bench/study_gradpp_scorecam.py ../shared/imagenet-sample --backbone efficientnet_lite0 --layer bn2 \\
        --top-ks 16,32,64,128,256,512,all --combinations softmax_w,softmax,relu_w,linear:0.25,linear:0.5,linear:0.75 \\
        --sampled 64,128,256 --sizes full,112 --out-dir study/lite0_bn2 --max-seconds 540

With ``--top-ks ...,all`` and ``--combinations softmax`` the row ``topk-all_softmax`` is exact Score-CAM.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from study_summary import read_rows, summary_rows  # bench/, beside this script
from torch import Tensor

from camlib.backbones import Backbone, load_backbone
from camlib.dataset import list_images
from camlib.images import load_image
from camlib.methods import GradPPScoreCAM, masked_input_scores, normalize_maps
from camlib.methods.score import COMBINATIONS, combine_scores, sampled_channel_scores
from camlib.methods.gradpp_weights import gradcampp_weights
from camlib.metrics import (
    FIXED_AREAS,
    average_drop,
    average_increase,
    class_scores,
    complexity,
    confidence_pair,
    deletion_insertion_auc,
    top_area_masks,
)

HALVES = {"tuning": (0, 2), "report": (1, 2), "all": (0, 1)}
FIELDS = [
    "file", "target", "base_score", "masked_score", "average_drop", "average_increase",
    "insertion_auc", "deletion_auc", "masked_passes", "seconds", *(f"drop_{p}" for p in FIXED_AREAS), "complexity",
]  # fmt: skip


@dataclass(frozen=True)
class Config:
    size: int | None  # perturbation size; None = the input's
    top_k: int | None  # None = every channel (the paper's form)
    combination: str
    linear_weight: float = 0.5
    sampled: int | None = None  # the fast idea: channels measured among the chosen ones

    @property
    def name(self) -> str:
        parts = [f"size-{self.size or 'full'}", f"topk-{self.top_k or 'all'}"]
        if self.sampled:
            parts.append(f"sampled-{self.sampled}")
        parts.append(f"linear-{self.linear_weight:g}" if self.combination == "linear" else self.combination)
        return "_".join(parts)

    def class_params(self) -> dict:
        """The GradPPScoreCAM parameters of this configuration."""
        return {
            "top_k": self.top_k,
            "combination": self.combination,
            "linear_weight": self.linear_weight,
            "sampled_channels": self.sampled,
            "perturbation_size": self.size,
        }


def parse_grid(args, input_size: int) -> list[Config]:
    sizes = [None if s in ("full", str(input_size)) else int(s) for s in args.sizes.split(",")]
    top_ks = [None if k == "all" else int(k) for k in args.top_ks.split(",")]
    combinations = []
    for text in args.combinations.split(","):
        name, _, weight = text.partition(":")
        if name not in COMBINATIONS:
            raise SystemExit(f"Unknown combination '{name}'; choose from {', '.join(COMBINATIONS)} (linear:λ).")
        combinations.append((name, float(weight) if weight else 0.5))
    sampled = [int(m) for m in args.sampled.split(",")] if args.sampled else []
    channel_choices = [(k, None) for k in top_ks] + [(args.sampled_top_k, m) for m in sampled]
    return [
        Config(size, top_k, name, weight, m) for size, (top_k, m), (name, weight) in product(sizes, channel_choices, combinations)
    ]


def image_metrics(backbone: Backbone, inputs: Tensor, maps: Tensor, target: int, steps: int) -> list[dict]:
    """Per-image metrics of each map (V, H, W) for one image (1, 3, H, W), from camlib.metrics: the Average
    Drop / Increase terms, insertion / deletion AUCs, the drops keeping the top 10 / 25 / 50 % of pixels,
    and Complexity. Coherency and ADCC need each configuration's map recomputed on the masked image, so
    the shortlist is scored with ``camlib evaluate`` instead (bench/choose_gradpp_defaults.py)."""
    pair = confidence_pair(backbone.model, inputs.expand(len(maps), -1, -1, -1), maps, [target] * len(maps))
    rows = []
    for saliency, base, masked in zip(maps, pair.base, pair.masked):
        insertion, deletion = deletion_insertion_auc(backbone.model, inputs, saliency, target, steps=steps)
        areas = top_area_masks(saliency).to(device=inputs.device, dtype=inputs.dtype)
        kept = class_scores(backbone.model, inputs * areas[:, None], target)
        rows.append(
            {
                **{f"drop_{p}": f"{average_drop([base], [score]):.4f}" for p, score in zip(FIXED_AREAS, kept)},
                "complexity": f"{complexity(saliency):.6f}",
                "base_score": f"{base:.6f}",
                "masked_score": f"{masked:.6f}",
                "average_drop": f"{average_drop([base], [masked]):.4f}",
                "average_increase": f"{average_increase([base], [masked]):.1f}",
                "insertion_auc": f"{insertion:.6f}",
                "deletion_auc": f"{deletion:.6f}",
            }
        )
    return rows


class ScoreLookup:
    """Stands in for the masked passes in :func:`sampled_channel_scores`: its 'measurements' are the scores
    already taken for every channel of the current image."""

    def __init__(self, scores: Tensor) -> None:
        self.scores = scores  # (K,)
        self.looked_up = 0

    def score(self, inputs, activations, targets, channels: Tensor, score="logit", progress_range=None) -> Tensor:
        self.looked_up += channels.shape[1]
        return self.scores[channels]


def maps_from_weights(weights: Tensor, activations: Tensor, size: tuple[int, int]) -> Tensor:
    """BaseCAM.compute's last steps: ReLU(Σ_k weights_k A_k), upsampled, min-max normalised; (V, H, W)."""
    low = F.relu(torch.einsum("vk,khw->vhw", weights.float(), activations[0].float()))
    return normalize_maps(F.interpolate(low[:, None], size=size, mode="bilinear", align_corners=False)[:, 0])


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def derive_configs(probe, inputs, capture, target, configs, args) -> tuple[dict[Config, Tensor], dict[Config, tuple[int, float]]]:
    """Every configuration's channel weights (1, K) and (masked passes, estimated seconds) for one image."""
    device = inputs.device
    grad = capture.gradients
    gradient_weights = gradcampp_weights(capture.activations, grad, grad.pow(2), grad.pow(3))
    channel_count = gradient_weights.shape[1]
    ranking = gradient_weights.topk(channel_count, dim=1).indices  # (1, K), as topk(k) orders its first k
    largest = gradient_weights.amax(dim=1, keepdim=True)
    acts = capture.activations
    varies = ((acts.amax(dim=(2, 3)) - acts.amin(dim=(2, 3))) > 0)[0]
    weights, costs = {}, {}

    def keep(config: Config) -> int:
        return channel_count if config.top_k is None else min(config.top_k, channel_count)

    for size in dict.fromkeys(c.size for c in configs):
        at_size = [c for c in configs if c.size == size]
        scored = ranking[:, : max(keep(c) for c in at_size)]  # every configuration reads a prefix of the ranking
        synchronize(device)
        start = time.perf_counter()
        scores = masked_input_scores(
            probe, inputs, acts, target, scored, batch_size=args.batch_size, perturbation_size=size,
            mixed_precision=args.mixed_precision,
        )[0]  # fmt: skip
        synchronize(device)
        per_pass = (time.perf_counter() - start) / max(1, int(varies[scored[0]].sum()))
        by_channel = torch.zeros(channel_count, device=scores.device).index_copy(0, scored[0], scores)
        for config in at_size:
            chosen = ranking[:, : keep(config)]
            extra = 0.0
            if config.sampled is None or config.sampled >= keep(config):
                chosen_scores = by_channel[chosen]
                passes = int(varies[chosen[0]].sum())
            else:
                lookup = ScoreLookup(by_channel)
                began = time.perf_counter()
                chosen_scores = sampled_channel_scores(lookup, inputs, acts, target, 0, chosen[0], config.sampled, args.seed)[
                    None
                ]
                extra, passes = time.perf_counter() - began, lookup.looked_up
            alpha = combine_scores(
                chosen_scores, gradient_weights.gather(1, chosen), largest, config.combination, config.linear_weight
            )
            weights[config] = torch.zeros_like(gradient_weights).scatter(1, chosen, alpha)
            costs[config] = (passes, passes * per_pass + extra)
    return weights, costs


def verify_against_class(backbone, inputs, target, configs, weights, acts, args) -> None:
    """Run a few configurations through GradPPScoreCAM itself and print how far the derived maps are."""
    checked = {}
    for config in configs:  # the first configuration of each (size, kind of channel choice, combination)
        checked.setdefault((config.size, config.sampled is not None, config.top_k is None, config.combination), config)
    for config in checked.values():
        method = GradPPScoreCAM(backbone.model, args.layer, batch_size=args.batch_size, mixed_precision=args.mixed_precision,
                                seed=args.seed, **config.class_params())  # fmt: skip
        synchronize(inputs.device)
        start = time.perf_counter()
        reference = method.compute(inputs, target)
        synchronize(inputs.device)
        seconds = time.perf_counter() - start
        derived = maps_from_weights(weights[config], acts, tuple(inputs.shape[-2:]))
        difference = float((reference - derived).abs().max())
        print(
            f"check {config.name}: largest difference to GradPPScoreCAM {difference:.2e}; the class took {seconds:.2f} s",
            flush=True,
        )


def warm_up(probe, backbone: Backbone, path: Path, configs: list[Config], args) -> None:
    """One untimed pass of each kind (and the batch-size choice on the CPU), so the first image's
    seconds are not start-up costs."""
    inputs = backbone.preprocess(load_image(path))
    capture = probe.capture(inputs, None, with_gradients=True)
    channels = torch.arange(capture.activations.shape[1], device=inputs.device)[None]
    for size in dict.fromkeys(c.size for c in configs):
        masked_input_scores(probe, inputs, capture.activations, capture.logits.argmax(dim=1), channels[:, :64],
                            batch_size=args.batch_size, perturbation_size=size, mixed_precision=args.mixed_precision)  # fmt: skip
    synchronize(inputs.device)


def done_files(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    with open(path, newline="") as handle:
        return {row["file"] for row in csv.DictReader(handle)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images_dir")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--layer", default=None, help="target layer (default: the backbone's default layer)")
    parser.add_argument("--half", choices=list(HALVES), default="tuning", help="even (tuning) or odd (report) indices")
    parser.add_argument("--limit", type=int, default=None, help="at most this many images of the half")
    parser.add_argument("--top-ks", default="16,64,256,all", help="channels scored; 'all' is the paper's form")
    parser.add_argument("--combinations", default="softmax_w,softmax,relu_w,linear:0.5", help="linear:λ sets λ")
    parser.add_argument("--sampled", default="", help="the fast idea: channels measured, e.g. 64,128 (empty: none)")
    parser.add_argument("--sampled-top-k", default=None, type=int, help="top_k of the sampled configurations (default all)")
    parser.add_argument("--sizes", default="full", help="perturbation sizes, e.g. full,112,56")
    parser.add_argument("--steps", type=int, default=16, help="insertion/deletion steps")
    parser.add_argument("--batch-size", type=int, default=None, help="masked images per pass (default: camlib's)")
    parser.add_argument("--mixed-precision", action="store_true", help="float16 masked passes on CUDA")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampled channels")
    parser.add_argument("--device", default=None, help="default: cuda when available")
    parser.add_argument("--out-dir", default=None, help="default: study/<backbone>_<layer>_<half>")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop before an image that would end past this")
    parser.add_argument("--resume", action="store_true", help="keep the CSVs' rows and skip the images they hold")
    parser.add_argument("--no-check", action="store_true", help="skip the comparison with GradPPScoreCAM on the first image")
    args = parser.parse_args()

    began = time.perf_counter()
    backbone = load_backbone(args.backbone, device=args.device)
    args.layer = args.layer or backbone.spec.default_layer
    configs = parse_grid(args, backbone.spec.input_size)
    out_dir = Path(args.out_dir or f"study/{args.backbone}_{args.layer}_{args.half}")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {config: out_dir / f"{config.name}.csv" for config in configs}
    files = list_images(args.images_dir, shard=HALVES[args.half])[: args.limit]
    finished = set.intersection(*(done_files(p) for p in paths.values())) if args.resume else set()
    for config, path in paths.items():
        if not args.resume or not path.is_file():
            with open(path, "w", newline="") as handle:
                csv.DictWriter(handle, fieldnames=FIELDS).writeheader()
    pending = [path for path in files if path.name not in finished]
    print(
        f"{backbone.spec.display_name} at {args.layer} on {backbone.device}; {args.half} half: {len(files)} images, "
        f"{len(pending)} to do; {len(configs)} configurations -> {out_dir}",
        flush=True,
    )
    probe = GradPPScoreCAM(backbone.model, args.layer)
    if pending:
        warm_up(probe, backbone, pending[0], configs, args)
    image_seconds = []
    for number, path in enumerate(pending, start=1):
        elapsed = time.perf_counter() - began
        if args.max_seconds and image_seconds and elapsed + max(image_seconds[-3:]) > args.max_seconds:
            print(
                f"stopping at {elapsed:.0f} s before image {number} of {len(pending)} (--max-seconds); --resume goes on",
                flush=True,
            )
            break
        start = time.perf_counter()
        inputs = backbone.preprocess(load_image(path))
        synchronize(backbone.device)
        capture_start = time.perf_counter()
        capture = probe.capture(inputs, None, with_gradients=True)
        synchronize(backbone.device)
        capture_seconds = time.perf_counter() - capture_start
        target = capture.logits.argmax(dim=1)
        weights, costs = derive_configs(probe, inputs, capture, target, configs, args)
        if number == 1 and not args.no_check:
            verify_against_class(backbone, inputs, target, configs, weights, capture.activations, args)
        maps = maps_from_weights(torch.cat([weights[c] for c in configs]), capture.activations, tuple(inputs.shape[-2:]))
        metric_rows = image_metrics(backbone, inputs, maps, int(target[0]), args.steps)
        for config, metrics in zip(configs, metric_rows):
            passes, seconds = costs[config]
            row = {"file": path.name, "target": int(target[0]), **metrics, "masked_passes": passes,
                   "seconds": f"{capture_seconds + seconds:.4f}"}  # fmt: skip
            with open(paths[config], "a", newline="") as handle:
                csv.DictWriter(handle, fieldnames=FIELDS).writerow(row)
        image_seconds.append(time.perf_counter() - start)
        projected = time.perf_counter() - began + np.mean(image_seconds[-5:]) * (len(pending) - number)
        print(
            f"image {number}/{len(pending)} {path.name[:40]} {image_seconds[-1]:.1f} s; projected total {projected:.0f} s",
            flush=True,
        )

    for row in summary_rows({config.name: read_rows(path) for config, path in paths.items()}):
        print(
            f"{row['configuration']}: {row['images']} images, Avg Drop {row['average_drop']:.1f} %, "
            f"ins-del {row['insertion_minus_deletion']:.3f}, drop@25% {row['average_drop_25']:.1f}, "
            f"{row['masked_passes']:.0f} masked passes, {row['seconds']:.2f} s/image",
            flush=True,
        )
    print(f"done in {time.perf_counter() - began:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
