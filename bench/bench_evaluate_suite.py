"""What the full evaluation suite costs against the basic evaluate, on the same images, model and threads.

- **basic**: the six methods at ``--speed fast`` with the metrics camlib had before the suite (Average
  Drop / Increase, insertion / deletion AUC): ``camlib evaluate --methods all --metrics basic``.
- **full**: the six methods at ``--speed fast``, the three baselines and every metric (fixed-area drops,
  Complexity, Coherency with its second map, ADCC, sparseness): ``camlib evaluate --methods all,baselines
  --metrics all``.

Both run in this process through :func:`camlib.evaluate.evaluate_folder` on the first N images of the
folder (default 4), after one warm-up image, alternating basic and full ``--repeats`` times; the ratio
is of the summed wall times. Issue 10 asks for a ratio of at most 2.

    OMP_NUM_THREADS=2 PYTHONPATH=. python bench/bench_evaluate_suite.py ../shared/imagenet-sample --limit 4
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from camlib.backbones import load_backbone
from camlib.baselines import BASELINES
from camlib.evaluate import evaluate_folder
from camlib.methods import METHODS, speed_params

RUNS = {
    "basic": {"methods": list(METHODS), "metrics": "basic"},
    "full": {"methods": [*METHODS, *BASELINES], "metrics": "all"},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images_dir", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared" / "imagenet-sample"))
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--layer", default=None)
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    backbone = load_backbone(args.backbone, device=args.device, allow_download=False)
    params = {key: speed_params(key, "fast") for key in METHODS}
    seconds = {name: 0.0 for name in RUNS}
    with tempfile.TemporaryDirectory() as scratch:
        for name, run in RUNS.items():  # warm-up: first calls, allocator, caches
            evaluate_folder(backbone, args.images_dir, out=Path(scratch) / f"warm-{name}.csv", limit=1, method_params=params, **run)
        for repeat in range(args.repeats):
            for name, run in RUNS.items():
                start = time.perf_counter()
                evaluate_folder(
                    backbone, args.images_dir, out=Path(scratch) / f"{name}-{repeat}.csv", limit=args.limit, method_params=params, **run
                )
                if backbone.device.type == "cuda":
                    torch.cuda.synchronize()
                seconds[name] += time.perf_counter() - start
    images = args.limit * args.repeats
    print(f"{backbone.spec.display_name}, layer {args.layer or backbone.spec.default_layer}, {args.device}, "
          f"{torch.get_num_threads()} threads, {args.limit} images × {args.repeats} repeats")
    print("| run | seconds per image |")
    print("|---|---|")
    for name in RUNS:
        print(f"| {name} | {seconds[name] / images:.2f} |")
    ratio = seconds["full"] / seconds["basic"]
    print(f"\nfull / basic = {ratio:.2f} (target ≤ 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
