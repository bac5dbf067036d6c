"""The ``camlib`` command line. Errors print one line and exit with code 2."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from camlib import __version__
from camlib.backbones import BACKBONES, DEFAULT_BACKBONE, load_backbone
from camlib.errors import CamlibError
from camlib.explain import explain
from camlib.images import load_image
from camlib.methods import parse_method_list

EXIT_USAGE = 2


def _downloads_allowed(args: argparse.Namespace) -> bool:
    return not args.offline and os.environ.get("CAMLIB_OFFLINE", "") not in ("1", "true", "yes")


def run_explain(args: argparse.Namespace) -> int:
    methods = parse_method_list(args.methods)
    image = load_image(args.image)
    backbone = load_backbone(args.backbone, weights_path=args.weights, allow_download=_downloads_allowed(args))
    if args.layer:
        from camlib.methods import resolve_layer

        resolve_layer(backbone.model, args.layer)
    explanation = explain(backbone, image, methods=methods, target=args.class_, layer=args.layer)

    print(f"Top-5 predictions ({backbone.spec.display_name}):")
    for index, name, probability in explanation.top_predictions:
        print(f"  {index:4d}  {name:<30s} {probability:6.1%}")
    print(f"Explaining class {explanation.target_class} ({explanation.target_name}) at layer {explanation.layer}")
    failures = []
    for result in explanation.results.values():
        status = f"{result.seconds:7.2f} s" if result.error is None else f"n/a: {result.error}"
        print(f"  {result.display_name:<18s} {status}")
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
    explain_parser.set_defaults(handler=run_explain)
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
