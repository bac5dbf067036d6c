"""A quick device check of the randomisation sanity check and the pointing game (no shared data needed).

Uses scikit-image's bundled photos: builds the randomised copies (deterministic, caller's RNG untouched),
scores every method (``fast``) and baseline on four photos, checks that the pointing game's batch of four
cells gives the maps of four single calls, and times a 4-grid folder run. Run it on a GPU after merging:

    python bench/check_sanity_pointing.py --device cuda --out OUT_DIR
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from PIL import Image
from skimage import data

from camlib.backbones import load_backbone
from camlib.explain import compute_map
from camlib.methods import parse_method_list, speed_params
from camlib.pointing import (
    compose_grids,
    confident_images,
    energy_share,
    grid_input,
    pointing_game_folder,
    pointing_markdown,
    pointing_rows,
)
from camlib.sanity import RandomisationCheck, summarize_sanity

PHOTOS = ["chelsea", "coffee", "camera", "rocket", "brick"]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", default="check_out")
    parser.add_argument("--methods", default="all", help="'all' or comma-separated method keys")
    args = parser.parse_args()
    out = Path(args.out)
    folder = out / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        Image.fromarray(getattr(data, name)()).convert("RGB").save(folder / f"{name}.png")
    backbone = load_backbone(device=args.device)
    device = backbone.device
    print(torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu", flush=True)
    methods = parse_method_list(args.methods)
    keys = [*methods, "center", "uniform", "random"]
    params = {key: speed_params(key, "fast") for key in methods}

    state = torch.cuda.get_rng_state() if device.type == "cuda" else torch.get_rng_state()
    start = time.perf_counter()
    check = RandomisationCheck(backbone, seed=0)
    sync(device)
    after = torch.cuda.get_rng_state() if device.type == "cuda" else torch.get_rng_state()
    print(f"randomised copies built in {time.perf_counter() - start:.2f}s; caller's RNG untouched: {torch.equal(state, after)}")
    again = RandomisationCheck(backbone, seed=0)
    same = all(
        torch.equal(a, b)
        for first, second in zip(check.randomised, again.randomised)
        for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values())
    )
    print(f"stages {check.stage_names}; same seed, same weights: {same}", flush=True)

    rows = []
    for name in PHOTOS[:4]:
        inputs = backbone.preprocess(Image.open(folder / f"{name}.png"))
        target = int(backbone.probabilities(inputs).argmax())
        for key in keys:
            start = time.perf_counter()
            saliency = compute_map(key, backbone, inputs, target, params=params.get(key))
            scores = check.scores(key, saliency, inputs, target, params=params.get(key))
            sync(device)
            rows.append({"file": name, "method": key, "error": "", **{k: f"{v:.6f}" for k, v in scores.items()}})
            print(name, key, {k: round(v, 3) for k, v in scores.items()}, f"{time.perf_counter() - start:.2f}s", flush=True)
    for method, summary in summarize_sanity(rows).items():
        print("sanity", method, {k: round(v, 3) if isinstance(v, float) else v for k, v in summary.items()})

    candidates = confident_images(backbone, sorted(folder.iterdir()), min_probability=0.2)
    grid = compose_grids(candidates, 1)[0]
    inputs, boxes = grid_input(backbone, grid)
    for key in methods:
        batched = [float(row["energy_share"]) for row in pointing_rows(backbone, grid, inputs, boxes, [key], params=params)]
        single = [energy_share(compute_map(key, backbone, inputs, c, params=params.get(key)), boxes[i]) for i, c in enumerate(grid.classes)]
        print(f"batch of 4 vs single calls, {key}: max |difference| {max(abs(a - b) for a, b in zip(batched, single)):.2e}", flush=True)
    start = time.perf_counter()
    summaries = pointing_game_folder(backbone, folder, methods=keys, out=out / "pointing.csv", grids=4, min_probability=0.2, method_params=params)
    sync(device)
    print(f"pointing game, 4 grids, {len(keys)} keys: {time.perf_counter() - start:.1f}s")
    print(pointing_markdown(summaries))


if __name__ == "__main__":
    main()
