"""The figures in camlib/timings.py: seconds per map for the app's settings and resolutions, on this machine.

    OMP_NUM_THREADS=2 python -m bench.app_timings --repeats 3 --out docs/results/app_timings.json

writes the file that camlib/timings.py reads (the app's labels and the README's figures); without ``--out`` it
only prints the figures.

EfficientNet-Lite0 (offline weights) at its default layer, on the CPU unless CUDA is present, on the
scikit-image photo "chelsea" (451 × 300, so the input is 337 × 224 at 224). Each map is computed once after
one warm-up map per setting and resolution (the first call pays for allocation); the figure is the median
of ``--repeats`` runs. Part 1: every method at each speed setting at 224. Part 2: every method at the Fast
setting at 224, 320 and 448, with the map size.
"""

from __future__ import annotations

import argparse
import statistics
import time

import skimage.data
import torch
from PIL import Image

from camlib.backbones import RESOLUTIONS, load_backbone
from camlib.explain import run_method
from camlib.methods import PAPER_METHODS, speed_params


def seconds_per_map(backbone, image, key: str, speed: str, resolution: int, repeats: int) -> tuple[float, tuple[int, int]]:
    inputs = backbone.preprocess(image, resolution)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run_method(key, backbone, inputs, 281, params=speed_params(key, speed))
        times.append(time.perf_counter() - start)
        if result.error:
            raise SystemExit(f"{key}: {result.error}")
    return statistics.median(times), tuple(result.saliency.shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--settings", default="fast,exact,lowres")
    parser.add_argument("--out", default=None, help="write the figures to this JSON file (docs/results/app_timings.json)")
    parser.add_argument("--machine", default="the project's 2-core x86-64 CPU runner with nothing else running",
                        help="describes where it ran, for the file")
    args = parser.parse_args()
    by_resolution = {}
    backbone = load_backbone("efficientnet_lite0")
    image = Image.fromarray(skimage.data.chelsea())
    print(f"# device {backbone.device}, torch threads {torch.get_num_threads()}, torch {torch.__version__}")
    run_method("gradcam", backbone, backbone.preprocess(image), 281)  # warm-up

    print("SECONDS_BY_SETTING = {  # at 224, seconds per map")
    measured = {}
    for speed in args.settings.split(","):
        measured[speed] = {key: seconds_per_map(backbone, image, key, speed, 224, args.repeats) for key in PAPER_METHODS}
        print(f"    {speed!r}: {({key: round(value[0], 2) for key, value in measured[speed].items()})},", flush=True)
    print("}")
    print("SECONDS_BY_RESOLUTION = {  # at the Fast setting: (map height, map width), seconds per map")
    for resolution in RESOLUTIONS:
        if resolution == 224 and "fast" in measured:
            timed = measured["fast"]  # measured just above
        else:
            timed = {key: seconds_per_map(backbone, image, key, "fast", resolution, args.repeats) for key in PAPER_METHODS}
        shape = next(iter(timed.values()))[1]
        by_resolution[str(resolution)] = {"map_size": list(shape), "seconds": {key: round(value[0], 2) for key, value in timed.items()}}
        print(f"    {resolution}: ({shape}, {by_resolution[str(resolution)]['seconds']}),", flush=True)
    print("}")
    if args.out:
        write_timings(args, measured, by_resolution)


def write_timings(args, measured: dict, by_resolution: dict) -> None:
    """The figures as camlib/timings.py reads them."""
    import json
    import sys

    threads = torch.get_num_threads()
    data = {
        "command": "OMP_NUM_THREADS=2 python -m bench.app_timings " + " ".join(sys.argv[1:]),
        "machine": f"{args.machine}, {threads} threads, torch {torch.__version__}",
        "threads": threads,
        "backbone": "EfficientNet-Lite0",
        "image": "scikit-image chelsea (451 × 300)",
        "provenance": f"written by bench/app_timings.py, median of {args.repeats}",
        "seconds_by_setting": {speed: {key: round(value[0], 2) for key, value in timed.items()} for speed, timed in measured.items()},
        "seconds_by_resolution": by_resolution,
    }
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
