"""Time the nine added methods in camlib against the faster of the peer implementations (pytorch-grad-cam
1.5.7, torchcam 0.5.0) in one run: the same model, photo, device and thread count; print peer / camlib.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python bench/bench_extra_methods.py   # a few minutes on one core

The model is EfficientNet-Lite0 with its offline ImageNet weights, the photo scikit-image's ``chelsea``.
The gradient methods and Eigen-CAM run at the default layer ``bn2`` (1280 channels) on the 224-pixel
input. The methods that run a pass per channel (Ablation-CAM, SS-CAM, IS-CAM) run in a SMALL setting so the
bench takes minutes: the photo at 128 × 128 and the layer ``blocks.4`` (112 channels, 8 × 8), SS-CAM and IS-CAM
with 3 samples per channel. (At ``bn2`` on 224 pixels pytorch-grad-cam's AblationCAM takes about 5 minutes a
map on one core, 1280 whole passes; ``--full`` adds that row, once.)
Each library runs at its default batch size (torchcam 32, pytorch-grad-cam's AblationCAM 32, camlib's
own choice). Recipro-CAM and Group-CAM are in no peer library: their row compares them with camlib's
Score-CAM at the same layer, the method they mean to make cheaper. Each time is the median of
``--repeats`` calls after one warm-up call; a peer's time includes the forward pass it needs.
Pass: camlib's time at most 1.5 × the faster peer's (ratio peer / camlib at least 0.67).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("TQDM_DISABLE", "1")  # pytorch-grad-cam's AblationCAM draws a progress bar

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchcam.methods as torchcam
from PIL import Image
from pytorch_grad_cam import AblationCAM, EigenCAM, HiResCAM, LayerCAM, XGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from skimage import data

from camlib.backbones import load_backbone
from camlib.methods import METHODS

LIMIT = 1.5
GRAD_CAM = {"hirescam": HiResCAM, "xgradcam": XGradCAM, "layercam": LayerCAM, "eigencam": EigenCAM, "ablationcam": AblationCAM}
TORCHCAM = {"xgradcam": torchcam.XGradCAM, "layercam": torchcam.LayerCAM, "sscam": torchcam.SSCAM, "iscam": torchcam.ISCAM}
GRADIENT_SCORES = {"xgradcam", "layercam"}  # torchcam needs the scores of the forward pass

# (method, layer, input size, camlib parameters, torchcam parameters)
CASES = [
    ("hirescam", "bn2", 224, {}, {}),
    ("xgradcam", "bn2", 224, {}, {}),
    ("layercam", "bn2", 224, {}, {}),
    ("eigencam", "bn2", 224, {}, {}),
    ("ablationcam", "blocks.4", 128, {}, {}),
    ("sscam", "blocks.4", 128, {"n_samples": 3}, {"num_samples": 3, "std": 2.0}),
    ("iscam", "blocks.4", 128, {"n_samples": 3}, {"num_samples": 3}),
    ("reciprocam", "bn2", 224, {}, {}),
    ("reciprocam", "blocks.4", 128, {}, {}),
    ("groupcam", "bn2", 224, {}, {}),
    ("groupcam", "blocks.4", 128, {}, {}),
]


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def camlib_call(model, key: str, layer: str, inputs: torch.Tensor, target: int, params: dict) -> Callable[[], object]:
    method = METHODS[key].method_class(model, layer, **params)
    return lambda: method(inputs, [target])


def grad_cam_call(model, key: str, layer: str, inputs: torch.Tensor, target: int) -> Callable[[], object]:
    cam = GRAD_CAM[key](model, [model.get_submodule(layer)])
    return lambda: cam(inputs, [ClassifierOutputTarget(target)])


def torchcam_call(model, key: str, layer: str, inputs: torch.Tensor, target: int, params: dict) -> Callable[[], object]:
    extractor = TORCHCAM[key](model, layer, input_shape=tuple(inputs.shape[1:]), **params)

    def call():
        if key in GRADIENT_SCORES:
            return extractor(target, model(inputs))
        with torch.no_grad():
            model(inputs)
        return extractor(target)

    return call


_SCORECAM_SECONDS: dict[tuple[str, int], float] = {}


def run_case(backbone, photo: Image.Image, case, target: int, repeats: int) -> tuple[str, str, float, dict[str, float]]:
    key, layer, size, params, peer_params = case
    inputs = backbone.to_tensor(np.asarray(photo.resize((size, size))))
    peer_model = copy.deepcopy(backbone.model).requires_grad_(True)
    ours = median_seconds(camlib_call(backbone.model, key, layer, inputs, target, params), repeats)
    peers = {}
    if key in GRAD_CAM:
        peers["pytorch-grad-cam"] = median_seconds(grad_cam_call(peer_model, key, layer, inputs, target), repeats)
    if key in TORCHCAM:
        peers["torchcam"] = median_seconds(torchcam_call(peer_model, key, layer, inputs, target, peer_params), repeats)
    if not peers:  # no peer library has the method: camlib's Score-CAM at the same layer, for scale
        if (layer, size) not in _SCORECAM_SECONDS:
            _SCORECAM_SECONDS[layer, size] = median_seconds(camlib_call(backbone.model, "scorecam", layer, inputs, target, {}), 1)
        peers["camlib Score-CAM (no peer)"] = _SCORECAM_SECONDS[layer, size]
    setting = f"{layer}, {size} px" + (f", {params}" if params else "")
    return key, setting, ours, peers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", default=",".join(dict.fromkeys(case[0] for case in CASES)))
    parser.add_argument("--full", action="store_true", help="add Ablation-CAM at bn2 on 224 pixels (minutes per peer map)")
    args = parser.parse_args()
    cases = CASES + ([("ablationcam", "bn2", 224, {}, {})] if args.full else [])
    chosen = set(args.methods.split(","))
    backbone = load_backbone("efficientnet_lite0", device="cpu")
    photo = Image.fromarray(data.chelsea())
    target = backbone.top_predictions(backbone.preprocess(photo), k=1)[0][0]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), EfficientNet-Lite0 (offline weights), "
          f"chelsea, class {target}, median of {args.repeats} after a warm-up")  # fmt: skip
    print("\n| method | setting | camlib s | peer s | faster peer | peer / camlib | within 1.5× |")
    print("|---|---|---|---|---|---|---|")
    for case in cases:
        if case[0] not in chosen:
            continue
        key, setting, ours, peers = run_case(backbone, photo, case, target, args.repeats)
        name, fastest = min(peers.items(), key=lambda item: item[1])
        others = "; ".join(f"{peer} {seconds:.3f}" for peer, seconds in peers.items() if peer != name)
        verdict = "n/a" if "no peer" in name else ("yes" if ours <= LIMIT * fastest else "NO")
        shown = name + (f" (other: {others})" if others else "")
        cells = [METHODS[key].display_name, setting, f"{ours:.3f}", f"{fastest:.3f}", shown, f"{fastest / ours:.2f}", verdict]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
