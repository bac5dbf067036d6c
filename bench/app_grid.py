"""Seconds for the app's six-method grid on one image: every method, cheapest first, as the app runs them.

    python bench/app_grid.py                                   # EfficientNet-Lite0, fast and exact settings
    python bench/app_grid.py --backbone resnet50 --speed fast  # random weights where none are installed

Each setting runs once to warm up, then ``--repeats`` times; the table gives the median seconds of each
method and of the whole grid, and when the cheap methods were all done. On CUDA each method's time
includes copying its map back to the host, as in the app. The last two columns compare, in the same run
and on the same image, model and threads, the peers' exact Score-CAM alone with camlib's whole grid
(ratios above 1× mean camlib's six maps come sooner than the peer's one); ``--no-peers`` skips them.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys

import torch
from bench_methods import peer_scorecam_seconds
from PIL import Image

from camlib.backbones import load_backbone
from camlib.errors import WeightsUnavailableError
from camlib.explain import run_method
from camlib.methods import METHODS, SPEED_SETTINGS, speed_params


def grid_seconds(backbone, inputs, target: int, speed: str) -> dict[str, float]:
    """Seconds of each method of the grid, in the app's order (cheapest first)."""
    order = sorted(METHODS, key=lambda key: METHODS[key].relative_cost)
    seconds = {}
    for key in order:
        result = run_method(key, backbone, inputs, target, params=speed_params(key, speed))
        seconds[key] = result.seconds
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--speed", default=",".join(SPEED_SETTINGS), help="comma-separated speed settings")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        backbone = load_backbone(args.backbone, device=device)
        weights = "real weights"
    except WeightsUnavailableError:
        backbone = load_backbone(args.backbone, device=device, pretrained=False)
        weights = "random weights"
    from skimage import data

    inputs = backbone.preprocess(Image.fromarray(data.chelsea()))
    target = int(backbone.probabilities(inputs).argmax())
    device_name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU ({platform.machine()}), {torch.get_num_threads()} threads"
    print(f"{backbone.spec.display_name} ({weights}), layer {backbone.spec.default_layer}, chelsea 224², {device_name}, torch {torch.__version__}")
    peers = {} if args.no_peers else peer_scorecam_seconds(backbone, inputs, target, args.repeats, device)
    if peers:
        print("Peers' exact Score-CAM alone: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in peers.items()))
    names = " | ".join(METHODS[key].display_name for key in sorted(METHODS, key=lambda k: METHODS[k].relative_cost))
    peer_headers = "".join(f" {name} Score-CAM / grid |" for name in peers)
    print(f"| setting | {names} | cheap methods done | grid |{peer_headers}")
    print("|---" * (len(METHODS) + 3 + len(peers)) + "|")
    for speed in args.speed.split(","):
        grid_seconds(backbone, inputs, target, speed)
        runs = [grid_seconds(backbone, inputs, target, speed) for _ in range(args.repeats)]
        medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        cheap = statistics.median(sum(s for k, s in run.items() if not METHODS[k].scores_masked_inputs) for run in runs)
        total = statistics.median(sum(run.values()) for run in runs)
        ratios = "".join(f" {seconds / total:.1f}× |" for seconds in peers.values())
        print(f"| {speed} | " + " | ".join(f"{medians[key]:.3f}" for key in medians) + f" | {cheap:.2f} | **{total:.2f}** |{ratios}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
