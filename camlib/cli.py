"""The ``camlib`` command line. Errors print one line and exit with code 2."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from camlib import __version__
from camlib.backbones import BACKBONES, DEFAULT_BACKBONE, load_backbone
from camlib.errors import CamlibError
from camlib.explain import explain
from camlib.images import load_image_with_notes
from camlib.methods import SPEED_SETTINGS, parse_method_list, speed_params

EXIT_USAGE = 2
SPEED_HELP = (
    "Score-CAM family: exact (every channel, full resolution, float32); fast (Score-CAM measures 128 channels "
    "and predicts the rest, float16 on CUDA); lowres (masked passes at 112², float16 on CUDA)"
)


def _downloads_allowed(args: argparse.Namespace) -> bool:
    return not args.offline and os.environ.get("CAMLIB_OFFLINE", "") not in ("1", "true", "yes")


def run_explain(args: argparse.Namespace) -> int:
    methods = parse_method_list(args.methods)
    loaded = load_image_with_notes(args.image)
    for note in loaded.notes:
        print(f"Note: {note}")
    image = loaded.image
    backbone = load_backbone(args.backbone, weights_path=args.weights, allow_download=_downloads_allowed(args))
    if args.layer:
        from camlib.methods import resolve_layer

        resolve_layer(backbone.model, args.layer)
    explanation = explain(
        backbone, image, methods=methods, target=args.class_, layer=args.layer, method_params=_method_params(args, methods),
        resolution=args.resolution,
    )

    print(f"Top-5 predictions ({backbone.spec.display_name}):")
    for index, name, probability in explanation.top_predictions:
        print(f"  {index:4d}  {name:<30s} {probability:6.1%}")
    print(f"Explaining class {explanation.target_class} ({explanation.target_name}) at layer {explanation.layer}")
    failures = []
    for result in explanation.results.values():
        status = f"{result.seconds:7.2f} s" if result.error is None else f"n/a: {result.error}"
        print(f"  {result.display_name:<18s} {status}")
        for notice in result.notices:  # e.g. a batch halved after a GPU out-of-memory error
            print(f"  {'':<18s} note: {notice}")
        if result.error is not None:
            failures.append(result)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    picture = explanation.grid()
    if not cv2.imwrite(str(out), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)):
        raise CamlibError(f"Could not write {out}.")
    print(f"Wrote {out} ({picture.shape[1]}×{picture.shape[0]})")
    if args.save_maps:
        np.savez_compressed(args.save_maps, **explanation.maps())
        print(f"Wrote {args.save_maps}")
    if failures and len(failures) == len(explanation.results):
        raise CamlibError(failures[0].error)
    return 0


class TerminalProgress:
    """A one-line progress bar on stderr; the library only reports counts through a callback."""

    def __init__(self, label: str, width: int = 30) -> None:
        self.label = label
        self.width = width
        self.start = time.perf_counter()

    def __call__(self, done: int, total: int, item: str = "") -> None:
        filled = int(self.width * done / max(total, 1))
        elapsed = time.perf_counter() - self.start
        remaining = elapsed / done * (total - done) if done else 0.0
        bar = "#" * filled + "-" * (self.width - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {done}/{total} {elapsed:5.0f}s elapsed, ~{remaining:4.0f}s left {item[:30]:<30s}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def run_evaluate(args: argparse.Namespace) -> int:
    from camlib.evaluate import evaluate_folder, markdown_table, parse_shard

    methods = parse_method_list(args.methods)
    backbone = load_backbone(args.backbone, weights_path=args.weights, allow_download=_downloads_allowed(args))
    if args.layer:
        from camlib.methods import resolve_layer

        resolve_layer(backbone.model, args.layer)
    params = _method_params(args, methods)
    summaries = evaluate_folder(
        backbone,
        args.images_dir,
        methods=methods,
        out=args.out,
        layer=args.layer,
        limit=args.limit,
        shard=parse_shard(args.shard),
        target=args.target,
        labels=args.labels,
        resume=args.resume,
        method_params=params,
        progress=TerminalProgress("evaluate"),
    )
    layer = args.layer or backbone.spec.default_layer
    print(f"\n{backbone.spec.display_name}, layer {layer}, target {args.target}; per-image rows in {args.out}\n")
    print(markdown_table(summaries))
    return 0


def run_evaluate_merge(args: argparse.Namespace) -> int:
    from camlib.evaluate import markdown_table, merge_results

    print(markdown_table(merge_results(args.csv_files, out=args.out, common_images=args.common_images)))
    return 0


def _method_params(args: argparse.Namespace, methods: list[str]) -> dict[str, dict]:
    """The ``--speed`` setting's parameters, overridden by each ``--param METHOD.NAME=VALUE``
    (``--param gradpp_scorecam.top_k=128`` -> {"gradpp_scorecam": {"top_k": 128}})."""
    params: dict[str, dict] = {key: speed_params(key, args.speed) for key in methods}
    for item in args.param or []:
        key, _, value = item.partition("=")
        method, _, name = key.partition(".")
        if not name or not value:
            raise CamlibError(f"--param takes METHOD.NAME=VALUE, got '{item}'.")
        params.setdefault(method, {})[name] = _parse_value(value)
    return params


def _parse_value(text: str):
    if text.lower() == "none":
        return None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="camlib", description="Class activation maps for image classifiers.")
    parser.add_argument("--version", action="version", version=f"camlib {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    explain_parser = commands.add_parser("explain", help="explain one image with several CAM methods")
    explain_parser.add_argument("image", help="image file (PNG, JPEG, WebP, BMP, ...)")
    explain_parser.add_argument("--backbone", default=DEFAULT_BACKBONE, choices=list(BACKBONES))
    explain_parser.add_argument("--methods", default="all", help="'all' or a comma-separated list, e.g. gradcam,scorecam")
    explain_parser.add_argument("--class", dest="class_", default=None, help="class index or name (default: top-1)")
    explain_parser.add_argument("--layer", default=None, help="target layer, a dotted module name (default: the backbone's)")
    explain_parser.add_argument("--weights", default=None, help="state-dict file to load instead of the default weights")
    explain_parser.add_argument("--out", default="grid.png", help="where to write the PNG grid")
    explain_parser.add_argument("--save-maps", default=None, help="write the raw maps to this .npz file")
    explain_parser.add_argument("--offline", action="store_true", help="never download weights (also CAMLIB_OFFLINE=1)")
    explain_parser.add_argument("--param", action="append", metavar="METHOD.NAME=VALUE", help="method setting, e.g. scorecam.score=probability")
    explain_parser.add_argument("--speed", default="exact", choices=list(SPEED_SETTINGS), help=SPEED_HELP)
    explain_parser.add_argument(
        "--resolution", type=int, default=None, metavar="PIXELS",
        help="shorter side of the model input, aspect ratio kept (default 224; e.g. 320 or 448 for finer maps)",
    )
    explain_parser.set_defaults(handler=run_explain)

    evaluate_parser = commands.add_parser("evaluate", help="Average Drop / Increase, insertion and deletion over a folder")
    evaluate_parser.add_argument("images_dir")
    evaluate_parser.add_argument("--backbone", default=DEFAULT_BACKBONE, choices=list(BACKBONES))
    evaluate_parser.add_argument("--layer", default=None)
    evaluate_parser.add_argument("--methods", default="all")
    evaluate_parser.add_argument("--limit", type=int, default=None, help="only the first N images (name order)")
    evaluate_parser.add_argument("--labels", default=None, help="labels.csv with file,class_index (default: IMAGES_DIR/labels.csv)")
    evaluate_parser.add_argument("--target", default="predicted", choices=["predicted", "label"])
    evaluate_parser.add_argument("--out", default="results.csv", help="per-image rows, written as the run goes")
    evaluate_parser.add_argument("--resume", action="store_true", help="keep the rows in --out and compute the rest")
    evaluate_parser.add_argument("--shard", default="0/1", help="i/n: evaluate every n-th image starting at i")
    evaluate_parser.add_argument("--weights", default=None)
    evaluate_parser.add_argument("--offline", action="store_true")
    evaluate_parser.add_argument("--param", action="append", metavar="METHOD.NAME=VALUE", help="method setting, e.g. gradpp_scorecam.top_k=128")
    evaluate_parser.add_argument("--speed", default="exact", choices=list(SPEED_SETTINGS), help=SPEED_HELP)
    evaluate_parser.set_defaults(handler=run_evaluate)

    merge_parser = commands.add_parser("evaluate-merge", help="combine the CSVs of several evaluate shards into one table")
    merge_parser.add_argument("csv_files", nargs="+")
    merge_parser.add_argument("--out", default=None, help="also write the combined rows here")
    merge_parser.add_argument("--common-images", action="store_true", help="summarise only the images every method scored")
    merge_parser.set_defaults(handler=run_evaluate_merge)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CamlibError as error:
        print(f"camlib: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
