"""Exact Score-CAM's seconds and peak memory at each batch size of its masked passes, and camlib's choice.

    python bench/scorecam_batch_size.py                                # EfficientNet-Lite0, CPU sizes
    python bench/scorecam_batch_size.py --backbones efficientnet_lite0,resnet50,vgg16 --sizes 64,128,256,512

"auto" is ``batch_size=None``: camlib's own choice (timed candidates on the CPU, a fixed size on CUDA).
Memory is the CUDA maximum allocated on a GPU and the peak RSS on the CPU. Random weights except
EfficientNet-Lite0, which is fine for timing.
"""

from __future__ import annotations

import argparse
import sys

import torch
from bench_methods import measure
from PIL import Image

from camlib.backbones import load_backbone
from camlib.methods import ScoreCAM


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", default="efficientnet_lite0")
    parser.add_argument("--sizes", default="2,4,8,16,32", help="comma-separated batch sizes besides auto")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    from skimage import data

    image = Image.fromarray(data.chelsea())
    print(f"device: {torch.cuda.get_device_name() if device.type == 'cuda' else 'CPU'}; threads {torch.get_num_threads()}")
    print("| backbone | batch size | seconds | peak MB |")
    print("|---|---|---|---|")
    for key in args.backbones.split(","):
        backbone = load_backbone(key, pretrained=(key == "efficientnet_lite0"), device=device)
        inputs = backbone.preprocess(image)
        target = int(backbone.probabilities(inputs).argmax())
        for size in [None, *(int(text) for text in args.sizes.split(","))]:
            method = ScoreCAM(backbone.model, backbone.spec.default_layer, batch_size=size)
            seconds, rss, cuda_mb = measure(lambda: method(inputs, [target]), args.repeats, device)  # noqa: B023
            memory = cuda_mb if device.type == "cuda" else rss
            print(f"| {key} | {'auto' if size is None else size} | {seconds:.3f} | {memory:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
