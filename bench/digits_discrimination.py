"""Are the example digits model's maps class-discriminative? Two held-out digits side by side, one map per class.

Each picture shows two digits of different classes from load_digits' held-out test split (the 360
images bench/train_digits.py never trains on), left and right on the 32-px canvas
(camlib.examples.digits.pair_pictures). For each of camlib's methods, a map is made for the left
digit's class and one for the right digit's class; the score of a pair is the share of the maps' mass
on the correct half, averaged over the two maps:

    score = ((1 − right share of the left class's map) + right share of the right class's map) / 2

A map that knows nothing of the classes (the same map for both, a centred blob) scores exactly 0.5; a
perfectly discriminative one scores 1. Means carry 95 % bootstrap intervals over the pairs; "discriminative"
only where the interval's low end is above 0.51 (an interval that excludes 0.5 by less, as random weights'
near-identical maps for two classes can, is reported as not discriminative). The same run on the
architecture with random weights is the control. Also writes the demo picture assets/digits_pair.png
(--write-demo): the first held-out image of class 3 on the left, of class 8 on the right, 256 px.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python bench/digits_discrimination.py --pairs 400
    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python bench/digits_discrimination.py --write-demo   # the demo picture too
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from camlib.examples import digits as ex
from camlib.methods import CAM, GradCAM, GradCAMpp, GradPPScoreCAM, ScoreCAM, SmoothGradCAMpp

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_PATH = REPO_ROOT / "assets" / "digits_pair.png"
DEMO_CLASSES = (3, 8)  # left, right: the first held-out image of each class
DEMO_SIZE = 256
MIN_EFFECT = 0.01  # a share of the mass this close to 0.5 tells a user nothing, however narrow its interval


def methods(model: torch.nn.Module) -> dict[str, object]:
    layer = ex.TARGET_LAYER
    return {
        "CAM": CAM(model, layer, classifier_layer=ex.CLASSIFIER_LAYER),
        "Grad-CAM": GradCAM(model, layer),
        "Grad-CAM++": GradCAMpp(model, layer),
        "SmoothGrad-CAM++": SmoothGradCAMpp(model, layer),
        "Score-CAM": ScoreCAM(model, layer),
        "Grad++ScoreCAM": GradPPScoreCAM(model, layer),
    }


def right_share(maps: np.ndarray) -> np.ndarray:
    """Share of each map's mass in the right half of the picture; 0.5 for an all-zero map."""
    width = maps.shape[-1]
    total = maps.sum(axis=(1, 2))
    right = maps[:, :, width // 2 :].sum(axis=(1, 2))
    return np.where(total > 0, right / np.maximum(total, 1e-12), 0.5)


def pair_scores(method, inputs: torch.Tensor, left: np.ndarray, right: np.ndarray, batch: int = 50) -> np.ndarray:
    scores = []
    for start in range(0, len(inputs), batch):
        chunk = slice(start, start + batch)
        left_maps = method(inputs[chunk], targets=left[chunk].tolist())
        right_maps = method(inputs[chunk], targets=right[chunk].tolist())
        scores.append(((1 - right_share(left_maps)) + right_share(right_maps)) / 2)
    return np.concatenate(scores)


def bootstrap(values: np.ndarray, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    means = np.random.default_rng(seed).choice(values, size=(resamples, len(values))).mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(values.mean()), float(low), float(high)


def verdict_of(low: float, high: float) -> str:
    """A verdict only where the interval excludes 0.5, and a useful one only where it excludes 0.5 ± MIN_EFFECT."""
    if low > 0.5 + MIN_EFFECT:
        return "discriminative"
    if high < 0.5 - MIN_EFFECT:
        return "anti-discriminative"
    if low > 0.5 or high < 0.5:
        return f"within {MIN_EFFECT} of 0.5: not discriminative"
    return "indistinguishable from 0.5"


def draw_pairs(x_test: np.ndarray, y_test: np.ndarray, count: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Indices (left, right) of ``count`` held-out pairs with different classes."""
    rng = np.random.default_rng(seed)
    left, right = [], []
    while len(left) < count:
        i, j = rng.integers(0, len(y_test), size=2)
        if y_test[i] != y_test[j]:
            left.append(i)
            right.append(j)
    return np.array(left), np.array(right)


def write_demo(x_test: np.ndarray, y_test: np.ndarray) -> None:
    first = [int(np.flatnonzero(y_test == label)[0]) for label in DEMO_CLASSES]
    picture = ex.pair_pictures(x_test[first[:1]], x_test[first[1:]], size=DEMO_SIZE)[0]
    Image.fromarray(np.round(picture * 255).astype(np.uint8)).convert("RGB").save(DEMO_PATH, optimize=True)
    print(f"wrote {DEMO_PATH.relative_to(REPO_ROOT)}: held-out test images {first} (classes {DEMO_CLASSES})")


def report(name: str, model: torch.nn.Module, inputs: torch.Tensor, left: np.ndarray, right: np.ndarray) -> None:
    with torch.inference_mode():
        top2 = model(inputs).topk(2, dim=1).indices.numpy()
    both = np.mean([{a, b} == set(t) for a, b, t in zip(left, right, top2)])
    print(f"\n{name}: both digits' classes are the model's top 2 on {both:.3f} of the pairs")
    print(f"  {'method':<18} {'correct-half share [95 % CI]':<30} {'pairs > 0.5':>11}  verdict")
    for label, method in methods(model).items():
        started = time.perf_counter()
        scores = pair_scores(method, inputs, left, right)
        mean, low, high = bootstrap(scores)
        verdict = verdict_of(low, high)
        print(f"  {label:<18} {mean:.4f} [{low:.4f}, {high:.4f}]{'':<6} {np.mean(scores > 0.5):>11.3f}  {verdict}"
              f"  ({time.perf_counter() - started:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=400)
    parser.add_argument("--weights", type=Path, default=ex.WEIGHTS_PATH)
    parser.add_argument("--write-demo", action="store_true", help=f"also write {DEMO_PATH.relative_to(REPO_ROOT)}")
    args = parser.parse_args()
    torch.set_num_threads(1)
    _, x_test, _, y_test = ex.heldout_split()
    if args.write_demo:
        write_demo(x_test, y_test)
    left_index, right_index = draw_pairs(x_test, y_test, args.pairs)
    inputs = ex.to_inputs(ex.pair_pictures(x_test[left_index], x_test[right_index]))
    left, right = y_test[left_index], y_test[right_index]
    print(f"{args.pairs} pairs of held-out test digits (load_digits, stratified 80/20, seed 0), different classes, pair seed 1")
    print("a map that knows nothing of the class (the same map for both classes, a centred blob) scores 0.5")
    trained = ex.build()
    trained.load_state_dict(load_file(str(args.weights)))
    report("trained weights (camlib/examples/digits.safetensors)", trained.eval(), inputs, left, right)
    torch.manual_seed(0)
    report("control: the same architecture with random weights (seed 0)", ex.build().eval(), inputs, left, right)


if __name__ == "__main__":
    main()
