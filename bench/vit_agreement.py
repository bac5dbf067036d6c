"""Print the Pearson correlations behind tests/test_methods_vit.py: camlib against pytorch-grad-cam 1.5.7 on timm's
ViT, distilled DeiT, register-token ViT and Swin (random weights, seed 0, one 224 × 224 input), and each planted
reshape against the same peer map. The test asserts only the threshold; this shows the margins.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python bench/vit_agreement.py     # about a minute on one core
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import test_methods_vit as vit  # noqa: E402 - the test's models, peer reshapes and planted errors, one definition
from conftest import pearson  # noqa: E402
from test_methods_agreement import _UpsampleHalfPixel  # noqa: E402

from camlib.methods import GradCAM, GradCAMpp, ScoreCAM  # noqa: E402


def row(label: str, method_class, model, layer: str, image, peer_reshape, planted, **peer_attributes) -> None:
    theirs = vit.peer_map(method_class, model, layer, image, peer_reshape, **peer_attributes)
    options = {"batch_size": 64} if method_class is ScoreCAM else {}
    ours = pearson(method_class(model, layer, **options)(image, [vit.TARGET])[0], theirs)
    wrong = [pearson(method_class(model, layer, reshape=bad, **options)(image, [vit.TARGET])[0], theirs) for bad in planted]
    print(f"{label:<34} {ours:8.5f}   planted: {', '.join(f'{value:.3f}' for value in wrong)}")


def main() -> None:
    image = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    print(f"{'model / method':<34} {'Pearson':>8}   (threshold {vit.THRESHOLD})")
    for case, (_name, _extra, layer, peer_reshape, planted) in vit.CASES.items():
        for scale in (1.0, vit.HEAD_SCALE[case]):  # x1: the peer's epsilon dominates Grad-CAM++'s g²
            model = vit.make_model(case, head_scale=scale)
            for method_class in (GradCAM, GradCAMpp):
                row(f"{case} {method_class.__name__} head x{scale:g}", method_class, model, layer, image, peer_reshape, planted)
    for case in ("vit", "deit_distilled", "swin"):
        _name, _extra, _layer, peer_reshape, planted = vit.CASES[case]
        model, layer = vit.make_model(case, narrow=True), vit.NARROW_LAYERS[case]
        row(f"{case} (narrow) ScoreCAM, peer as is", ScoreCAM, model, layer, image, peer_reshape, planted, batch_size=64)
        original = torch.nn.UpsamplingBilinear2d
        torch.nn.UpsamplingBilinear2d = _UpsampleHalfPixel
        try:
            row(f"{case} (narrow) ScoreCAM, half-pixel", ScoreCAM, model, layer, image, peer_reshape, planted, batch_size=64)
        finally:
            torch.nn.UpsamplingBilinear2d = original


if __name__ == "__main__":
    main()
