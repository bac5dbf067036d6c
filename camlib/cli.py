"""The ``camlib`` command line: each subcommand's work. Errors print one line and exit with code 2.

Its arguments are in :mod:`camlib.cli_parser`; where it writes, and how, in :mod:`camlib.cli_output`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from camlib.backbones import DEFAULT_BACKBONE, Backbone, load_model
from camlib.backbones.preprocess import MAX_RESOLUTION, MIN_RESOLUTION
from camlib.cli_output import (
    check_explain_outputs, check_output_path, encoded_grid, encoded_maps, refuse_overwriting_images, shown, write_files,
)  # fmt: skip
from camlib.cli_parser import EXIT_USAGE, SPEED_HELP, build_parser  # noqa: F401  (SPEED_HELP: the app names the settings alike)
from camlib.errors import CamlibError, InvalidParameterError
from camlib.explain import explain
from camlib.images import load_image_with_notes
from camlib.methods import METHODS, method_info, parse_method_list, speed_params
from camlib.methods.params import parse_param_option
from camlib.methods.registry import validate_method_params
from camlib.overlays import slide_columns

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE


def _downloads_allowed(args: argparse.Namespace) -> bool:
    return not args.offline and os.environ.get("CAMLIB_OFFLINE", "") not in ("1", "true", "yes")


def run_explain(args: argparse.Namespace) -> int:
    methods = parse_method_list(args.methods)
    out, maps_out = check_explain_outputs(args.out, args.save_maps, args.image)
    if args.resolution is not None and not MIN_RESOLUTION <= args.resolution <= MAX_RESOLUTION:
        raise InvalidParameterError(f"--resolution must be {MIN_RESOLUTION}..{MAX_RESOLUTION} pixels (the shorter side of the model input), got {args.resolution}.")
    params = _method_params(args, methods)
    loaded = load_image_with_notes(args.image)
    for note in loaded.notes:
        print(f"Note: {note}")
    backbone = load_from_options(args)
    explanation = explain(
        backbone, loaded.image, methods=methods, target=args.class_, layer=args.layer, method_params=params, resolution=args.resolution
    )
    _print_explanation(explanation, backbone.spec.display_name)
    failures = [result for result in explanation.results.values() if result.error is not None]
    if failures and len(failures) == len(explanation.results):
        raise CamlibError(failures[0].error)  # nothing to show: write nothing
    slide = args.layout == "slide"
    picture = explanation.grid(columns=slide_columns(len(explanation.results) + 1, explanation.image.shape[:2]) if slide else None)
    files = [(out, encoded_grid(picture, out), "--out")]
    if maps_out is not None:
        files.append((maps_out, encoded_maps(explanation.maps()), "--save-maps"))
    write_files(files)
    print(f"Wrote {shown(out)} ({picture.shape[1]}×{picture.shape[0]})" + (f" and {shown(maps_out)}" if maps_out else ""))
    return 0


def _print_explanation(explanation, model_name: str) -> None:
    """The top predictions, the class explained, and each method's time, error or notes."""
    print(f"Top-{len(explanation.top_predictions)} predictions ({model_name}):")
    for index, name, probability in explanation.top_predictions:
        print(f"  {index:4d}  {name:<30s} {probability:6.1%}")
    print(f"Explaining class {explanation.target_class} ({explanation.target_name}) at layer {explanation.layer}")
    for result in explanation.results.values():
        status = f"{result.seconds:7.2f} s" if result.error is None else f"n/a: {result.error}"
        print(f"  {result.display_name:<18s} {status}")
        for notice in result.notices:  # e.g. a batch halved after a GPU out-of-memory error
            print(f"  {'':<18s} note: {notice}")


class TerminalProgress:
    """A one-line progress bar on stderr; the library only reports counts through a callback."""

    line_open = False  # a bar is drawn and its line not yet ended: an error message starts a new line

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
        TerminalProgress.line_open = done < total
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def run_evaluate(args: argparse.Namespace) -> int:
    from camlib.evaluate import evaluate_folder, markdown_table, parse_evaluation_list, parse_shard

    keys = parse_evaluation_list(args.methods)
    shard = parse_shard(args.shard, shards=args.shards)
    out = check_output_path(args.out, "--out")
    refuse_overwriting_images(out, Path(args.images_dir))
    summaries = _run_on_folder(
        args, evaluate_folder, keys, "evaluate", f"target {args.target}; per-image rows in {shown(out)}",
        shard=shard, limit=args.limit, target=args.target, labels=args.labels, metrics=args.metrics,
        sanity=args.sanity, weights_path=args.weights, speed=args.speed,
    )
    print(markdown_table(summaries))
    return 0


def _run_on_folder(args: argparse.Namespace, folder_function, keys: list[str], label: str, heading: str, **own) -> list:
    """What ``evaluate`` and ``pointing-game`` share: check the methods' ``--param`` values, load the
    backbone, check ``--layer``, run ``folder_function`` on the folder with the options both take (and
    ``own``), and print the heading of its table. Returns the summaries."""
    params = _method_params(args, [key for key in keys if key in METHODS])
    backbone = load_from_options(args)
    summaries = folder_function(
        backbone, args.images_dir, methods=keys, out=args.out, layer=args.layer, half=args.half, resume=args.resume,
        method_params=params, progress=TerminalProgress(label), **own,
    )
    print(f"\n{backbone.spec.display_name}, layer {backbone.default_layer}, {heading}\n")
    return summaries


def load_from_options(args: argparse.Namespace, *, pretrained: bool = True) -> Backbone:
    """The model that ``--model`` (or its alias ``--backbone``), ``--weights``, ``--classes``, ``--layer``
    and ``--models-file`` describe; the layer is checked against the model's layers."""
    if args.model and args.backbone:
        raise InvalidParameterError("Give --model or --backbone, not both (--backbone is the old name of --model for the built-in keys).")
    backbone = load_model(
        args.model or args.backbone or DEFAULT_BACKBONE, weights=args.weights, classes=args.classes, layer=args.layer,
        allow_download=_downloads_allowed(args), models_file=args.models_file, pretrained=pretrained,
    )  # fmt: skip
    if args.layer:
        from camlib.methods import resolve_layer

        resolve_layer(backbone.model, args.layer)
    return backbone


def run_layers(args: argparse.Namespace) -> int:
    """``camlib layers``: the layers a map can be made at, with their output shapes; the default marked.
    Shapes do not depend on the weights: without ``--weights`` no pretrained weights are needed."""
    backbone = load_from_options(args, pretrained=args.weights is not None)
    spec = backbone.spec
    size = f"{spec.input_size}×{spec.input_size}" + (" (fixed)" if backbone.fixed_size else "")
    print(f"{spec.display_name}: {len(backbone.class_names)} classes, input {size}, {backbone.weights_label}")
    print(f"Layers with a spatial output (shapes for one {spec.input_size}×{spec.input_size} input); * marks the default:")
    for name, shape, is_default in backbone.candidate_layers():
        print(f"{'*' if is_default else ' '} {name:<40s} {tuple(shape)}")
    cam = f"CAM: layer {spec.cam_layer}, classifier {spec.cam_classifier}" if spec.supports_cam else f"CAM: {spec.cam_unavailable_reason}"
    print(cam)
    return 0


def run_evaluate_merge(args: argparse.Namespace) -> int:
    from camlib.evaluate import markdown_table, merge_results

    if args.out is not None:
        check_output_path(args.out, "--out")
    print(markdown_table(merge_results(args.csv_files, out=args.out, common_images=args.common_images)))
    return 0


def run_pointing_game(args: argparse.Namespace) -> int:
    from camlib.dataset import parse_shard
    from camlib.pointing import check_grid_size, pointing_game_folder, pointing_markdown

    keys = _pointing_keys(args.methods)
    shard = parse_shard(args.shard, shards=args.shards)
    if args.size is not None:
        check_grid_size(args.size)
    out = check_output_path(args.out, "--out")
    refuse_overwriting_images(out, Path(args.images_dir))
    summaries = _run_on_folder(
        args, pointing_game_folder, keys, "pointing game", f"{args.grids} grids; per-cell rows in {shown(out)}",
        grids=args.grids, size=args.size, seed=args.seed, shard=shard,
    )
    print(pointing_markdown(summaries))
    return 0


def _pointing_keys(text: str) -> list[str]:
    """Methods and baselines: 'all' (the methods), 'baselines', and single keys, comma-separated."""
    from camlib.baselines import BASELINES

    keys: list[str] = []
    for part in (part.strip().lower() for part in text.split(",") if part.strip()):
        if part == "baselines":
            keys += list(BASELINES)
        elif part in BASELINES:
            keys.append(part)
        else:
            keys += parse_method_list(part)
    if not keys:
        raise CamlibError("No method given: use all, baselines, or method keys separated by commas.")
    return list(dict.fromkeys(keys))


def _method_params(args: argparse.Namespace, methods: list[str]) -> dict[str, dict]:
    """The ``--speed`` setting's parameters, overridden by each ``--param METHOD.NAME=VALUE``
    (``--param gradpp_scorecam.top_k=128`` -> {"gradpp_scorecam": {"top_k": 128}}), each checked
    against the method's signature (:mod:`camlib.methods.params`)."""
    params: dict[str, dict] = {key: speed_params(key, args.speed) for key in methods}
    for item in args.param or []:
        method, name, value = parse_param_option(item)
        method_info(method)
        if method not in methods:
            raise InvalidParameterError(
                f"--param {shown(item)} is for {method}, which is not among the methods run ({', '.join(methods)})."
            )
        params[method].update(validate_method_params(method, {name: value}, from_text=True))
    return params


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns 0, 2 on any error (one line on stderr), 130 on Ctrl-C."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")  # file names that are not UTF-8 stay printable
    parser = build_parser()
    TerminalProgress.line_open = False
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # --help, --version, or a usage error already printed on one line
            return stop.code if isinstance(stop.code, int) else EXIT_USAGE
        code = HANDLERS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below, not at interpreter exit
        return code
    except CamlibError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return _fail("interrupted (Ctrl-C); rows already written are kept, --resume continues.", EXIT_INTERRUPTED)
    except BrokenPipeError:
        return _stdout_closed()
    except OSError as error:  # a full disk or a vanished folder, met after the checks at the start
        where = f" ({shown(error.filename)})" if getattr(error, "filename", None) else ""
        return _fail(f"{error.strerror or error}{where}.")


HANDLERS = {
    "explain": run_explain, "evaluate": run_evaluate, "evaluate-merge": run_evaluate_merge,
    "pointing-game": run_pointing_game, "layers": run_layers,
}  # fmt: skip


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass  # stdout is gone; the message still goes to stderr
    if TerminalProgress.line_open:
        sys.stderr.write("\n")
        TerminalProgress.line_open = False
    print(f"camlib: error: {shown(message)}", file=sys.stderr)
    return code


def _stdout_closed() -> int:
    """The reader of stdout went away (``camlib evaluate-merge ... | head``): stop quietly, as Unix tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # Python's final flush of stdout must not fail again
    os.close(devnull)
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
