"""The ``camlib`` command line. Errors print one line and exit with code 2."""

from __future__ import annotations

import argparse
import io
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from camlib import __version__
from camlib.backbones import BACKBONES, DEFAULT_BACKBONE, Backbone, load_model
from camlib.backbones.preprocess import MAX_RESOLUTION, MIN_RESOLUTION
from camlib.dataset import IMAGE_SUFFIXES
from camlib.errors import CamlibError, InvalidParameterError
from camlib.explain import explain
from camlib.images import load_image_with_notes
from camlib.methods import METHODS, SPEED_SETTINGS, method_info, parse_method_list, speed_params
from camlib.methods.params import parse_param_option
from camlib.methods.registry import validate_method_params
from camlib.paths import resolved, what_it_is
from camlib.overlays import slide_columns

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
GRID_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}
SPEED_HELP = (
    "Score-CAM family: exact (every channel, full resolution, float32); fast (Score-CAM measures 128 channels "
    "and predicts the rest, float16 on CUDA); lowres (masked passes at 112², float16 on CUDA, as the paper reduces "
    "the input: on a CPU no faster than fast and further from exact; bench/fast_vs_exact.py measures how far, see "
    "the README's speed settings)"
)


def _downloads_allowed(args: argparse.Namespace) -> bool:
    return not args.offline and os.environ.get("CAMLIB_OFFLINE", "") not in ("1", "true", "yes")


def shown(path: str | os.PathLike) -> str:
    """A path as it can be printed: bytes that are not UTF-8 become ``\\xNN``."""
    return os.fspath(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def check_output_path(path: str | os.PathLike, option: str, suffixes: dict | set | None = None) -> Path:
    """Refuse, before any work, an output path that cannot be written: a directory, a wrong or missing
    extension, a parent that is a file, or a folder without write permission."""
    out = Path(path)
    if what_it_is(out) == "a symlink loop":
        raise InvalidParameterError(f"{option} {shown(path)} is a symlink loop; give another file name.")
    if os.fspath(path) == "" or out.is_dir() or os.fspath(path).endswith(os.sep):
        raise InvalidParameterError(f"{option} {shown(path)} is a directory; give a file name.")
    if suffixes is not None and out.suffix.lower() not in suffixes:
        raise InvalidParameterError(
            f"{option} {shown(path)} must end in {', '.join(sorted(suffixes))} (the file format follows the extension)."
        )
    if out.exists() and not out.is_file():
        raise InvalidParameterError(f"{option} {shown(path)} exists and is not a regular file.")
    ancestor = out.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InvalidParameterError(f"{option} {shown(path)} cannot be written: {shown(ancestor)} is a file, not a folder.")
    writable = os.access(out, os.W_OK) if out.exists() else os.access(ancestor, os.W_OK | os.X_OK)
    if not writable:
        raise InvalidParameterError(f"{option} {shown(path)} cannot be written: permission denied.")
    return out


def write_file(path: Path, data: bytes, option: str) -> None:
    """:func:`write_files` for one file."""
    write_files([(path, data, option)])


def write_files(files: list[tuple[Path, bytes, str]]) -> None:
    """Write each ``(path, data, option)`` to a temporary file beside ``path``, and only when all are
    written move them into place: a full disk, a vanished or read-only folder leaves no output half-written,
    no earlier file damaged, and none of the outputs without the others."""
    temporaries = [path.with_name(f".{path.name}.partial") for path, _, _ in files]
    try:
        for (path, data, option), temporary in zip(files, temporaries):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(temporary, "wb") as handle:
                    handle.write(data)
            except OSError as error:
                raise CamlibError(f"Could not write {option} {shown(path)}: {error.strerror or error}.") from None
        for (path, _, option), temporary in zip(files, temporaries):
            try:
                os.replace(temporary, path)
            except OSError as error:
                raise CamlibError(f"Could not write {option} {shown(path)}: {error.strerror or error}.") from None
    finally:
        for temporary in temporaries:
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                pass


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def run_explain(args: argparse.Namespace) -> int:
    methods = parse_method_list(args.methods)
    out = check_output_path(args.out, "--out", GRID_FORMATS)
    maps_out = check_output_path(args.save_maps, "--save-maps", {".npz"}) if args.save_maps else None
    image = resolved(args.image, "The image")
    for written, option in ((out, "--out"), (maps_out, "--save-maps")):
        if written is not None and (_same_file(written, Path(args.image)) or resolved(written, option) == image):
            raise InvalidParameterError(f"{option} {shown(written)} is the input image; choose another file name.")
    if maps_out is not None and resolved(maps_out, "--save-maps") == resolved(out, "--out"):
        raise InvalidParameterError("--out and --save-maps name the same file.")
    if args.resolution is not None and not MIN_RESOLUTION <= args.resolution <= MAX_RESOLUTION:
        raise InvalidParameterError(f"--resolution must be {MIN_RESOLUTION}..{MAX_RESOLUTION} pixels (the shorter side of the model input), got {args.resolution}.")
    params = _method_params(args, methods)
    loaded = load_image_with_notes(args.image)
    for note in loaded.notes:
        print(f"Note: {note}")
    image = loaded.image
    backbone = load_from_options(args)
    explanation = explain(
        backbone, image, methods=methods, target=args.class_, layer=args.layer, method_params=params, resolution=args.resolution
    )

    print(f"Top-{len(explanation.top_predictions)} predictions ({backbone.spec.display_name}):")
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

    if failures and len(failures) == len(explanation.results):
        raise CamlibError(failures[0].error)  # nothing to show: write nothing
    slide = args.layout == "slide"
    picture = explanation.grid(columns=slide_columns(len(explanation.results) + 1, explanation.image.shape[:2]) if slide else None)
    encoded = io.BytesIO()
    Image.fromarray(picture).save(encoded, format=GRID_FORMATS[out.suffix.lower()])
    files = [(out, encoded.getvalue(), "--out")]
    if maps_out is not None:
        archive = io.BytesIO()
        np.savez_compressed(archive, **explanation.maps())
        files.append((maps_out, archive.getvalue(), "--save-maps"))
    write_files(files)
    print(f"Wrote {shown(out)} ({picture.shape[1]}×{picture.shape[0]})" + (f" and {shown(maps_out)}" if maps_out else ""))
    return 0


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
    _refuse_overwriting_images(out, Path(args.images_dir))
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


def _refuse_overwriting_images(out: Path, folder: Path) -> None:
    """``evaluate --out`` must not be an input image, nor a file with an image suffix inside the folder."""
    inside = folder.is_dir() and resolved(out, "--out").is_relative_to(resolved(folder, "The images folder"))
    if inside and out.suffix.lower() in IMAGE_SUFFIXES:
        raise InvalidParameterError(f"--out {shown(out)} would overwrite an image in {shown(folder)}; write the results elsewhere (e.g. results.csv).")


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
    _refuse_overwriting_images(out, Path(args.images_dir))
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


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    if not text.strip().isascii() or not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got '{shown(text)}'")
    return int(text)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit code 2), like every other camlib error."""

    def error(self, message: str):
        sys.stderr.write(f"camlib: error: {shown(self.prog)}: {shown(message)} (see {shown(self.prog)} --help)\n")
        sys.exit(EXIT_USAGE)


EVALUATION_METHODS_HELP = (
    "methods and baselines: 'all' (the paper's six methods), 'every' (all fifteen), "
    "'baselines' (center, uniform, random) or keys, e.g. gradcam,center"
)


def add_which_model_options(parser: argparse.ArgumentParser) -> None:
    """Which model: ``--model`` (or ``--backbone``), its weights, classes, layer, the models file."""
    parser.add_argument(
        "--model", default=None, metavar="MODEL",
        help=f"a built-in key ({', '.join(BACKBONES)}; default {DEFAULT_BACKBONE}), a name from the models file, "
        "timm:NAME, torchvision:NAME or module:function",
    )  # fmt: skip
    parser.add_argument("--backbone", default=None, choices=list(BACKBONES), help="the built-in keys (same as --model KEY)")
    parser.add_argument("--weights", default=None, help="state-dict file (.pth, .pt, .bin, .safetensors), matched by name")
    parser.add_argument("--classes", default=None, help="class names: .txt (one a line), .json or .csv (index,name), or 'imagenet'")
    parser.add_argument("--layer", default=None, help="target layer, a dotted module name (default: chosen automatically; see camlib layers)")
    parser.add_argument("--models-file", default=None, metavar="TOML", help="a TOML file of named models (also CAMLIB_MODELS)")
    parser.add_argument("--offline", action="store_true", help="never download weights (also CAMLIB_OFFLINE=1)")


def add_model_options(parser: argparse.ArgumentParser, *, methods: str, methods_help: str) -> None:
    """The options every subcommand that makes maps shares: which model, layer, weights, methods and settings."""
    add_which_model_options(parser)
    parser.add_argument("--methods", default=methods, help=methods_help)
    parser.add_argument("--param", action="append", metavar="METHOD.NAME=VALUE", help="method setting, e.g. gradpp_scorecam.top_k=64")
    parser.add_argument("--speed", default="exact", choices=list(SPEED_SETTINGS), help=SPEED_HELP)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="camlib", description="Class activation maps for image classifiers.")
    parser.add_argument("--version", action="version", version=f"camlib {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_explain_command(commands)
    _add_evaluate_command(commands)
    _add_evaluate_merge_command(commands)
    _add_pointing_game_command(commands)
    layers_parser = commands.add_parser("layers", help="list a model's layers with their output shapes, the default marked")
    add_which_model_options(layers_parser)
    layers_parser.set_defaults(handler=run_layers)
    return parser


def _add_explain_command(commands: argparse._SubParsersAction) -> None:
    """``camlib explain``: one image, several methods, one grid."""
    explain_parser = commands.add_parser("explain", help="explain one image with several CAM methods")
    explain_parser.add_argument("image", help="image file (PNG, JPEG, WebP, BMP, ...)")
    add_model_options(explain_parser, methods="all", methods_help="'all' (the paper's six), 'every' (all fifteen) or keys, e.g. gradcam,layercam")
    explain_parser.add_argument("--class", dest="class_", default=None, help="class index or name (default: top-1)")
    explain_parser.add_argument("--out", default="grid.png", help="where to write the grid (.png, .jpg, .webp, .bmp or .tif)")
    explain_parser.add_argument("--save-maps", default=None, help="write the raw maps to this .npz file (must end in .npz)")
    explain_parser.add_argument("--layout", default="strip", choices=["strip", "slide"],
                                help="strip: the input and the maps in one row; slide: a grid of them near 16:9")
    explain_parser.add_argument(
        "--resolution", type=int, default=None, metavar="PIXELS",
        help="shorter side of the model input, aspect ratio kept (default: the model's input size, 224 for most; e.g. 320 or 448 for finer maps)",
    )
    explain_parser.set_defaults(handler=run_explain)


def _add_evaluate_command(commands: argparse._SubParsersAction) -> None:
    """``camlib evaluate``: the faithfulness metrics over a folder."""
    evaluate_parser = commands.add_parser("evaluate", help="Average Drop / Increase, insertion and deletion over a folder")
    evaluate_parser.add_argument("images_dir")
    add_model_options(evaluate_parser, methods="all,baselines", methods_help=EVALUATION_METHODS_HELP)
    evaluate_parser.add_argument(
        "--metrics", default="all", choices=["basic", "all"],
        help="basic: Average Drop / Increase, insertion / deletion only; all: also fixed-area drops, complexity, coherency, ADCC, sparseness",
    )
    evaluate_parser.add_argument(
        "--sanity", action="store_true",
        help="also run the model randomisation sanity check (Adebayo et al. 2018): 3 more maps per image and method",
    )
    evaluate_parser.add_argument("--half", default=None, choices=["tuning", "report"],
                                 help="only the even (tuning) or odd (report) 0-based indices of the name-sorted images, before --limit and --shard")
    evaluate_parser.add_argument("--limit", type=positive_int, default=None, help="only the first N images (name order, N >= 1)")
    evaluate_parser.add_argument("--labels", default=None, help="labels.csv with file,class_index or file,class_name (default: IMAGES_DIR/labels.csv)")
    evaluate_parser.add_argument("--target", default="predicted", choices=["predicted", "label"])
    evaluate_parser.add_argument("--out", default="results.csv", help="per-image rows, written as the run goes")
    evaluate_parser.add_argument("--resume", action="store_true", help="keep the rows in --out and compute the rest")
    evaluate_parser.add_argument(
        "--shard", default="0/1",
        help="i/n: evaluate every n-th image starting at i; auto: i and n from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX with --shards",
    )
    evaluate_parser.add_argument("--shards", type=positive_int, default=None, help="with --shard auto under a Kubernetes Indexed Job: the number of shards")
    evaluate_parser.set_defaults(handler=run_evaluate)


def _add_evaluate_merge_command(commands: argparse._SubParsersAction) -> None:
    """``camlib evaluate-merge``: the CSVs of several shards as one table."""
    merge_parser = commands.add_parser("evaluate-merge", help="combine the CSVs of several evaluate shards into one table")
    merge_parser.add_argument("csv_files", nargs="+")
    merge_parser.add_argument("--out", default=None, help="also write the combined rows here")
    merge_parser.add_argument("--common-images", action="store_true", help="summarise only the images every method scored")
    merge_parser.set_defaults(handler=run_evaluate_merge)


def _add_pointing_game_command(commands: argparse._SubParsersAction) -> None:
    """``camlib pointing-game``: the grid pointing game over a folder."""
    pointing_parser = commands.add_parser("pointing-game", help="grid pointing game: 2×2 grids of four classes, energy share per cell")
    pointing_parser.add_argument("images_dir")
    add_model_options(pointing_parser, methods="all,baselines", methods_help=EVALUATION_METHODS_HELP)
    pointing_parser.add_argument("--grids", type=positive_int, default=50, help="how many 2×2 grids to compose (default 50)")
    pointing_parser.add_argument(
        "--size", type=positive_int, default=None, help="grid side in pixels; each image gets a size/2 cell (default: twice the model's input size)"
    )
    pointing_parser.add_argument("--seed", type=int, default=0, help="seed of the grid composition")
    pointing_parser.add_argument("--out", default="pointing.csv", help="per-cell rows, written as the run goes")
    pointing_parser.add_argument("--resume", action="store_true", help="keep the rows in --out and compute the rest")
    pointing_parser.add_argument(
        "--shard", default="0/1",
        help="i/n: every n-th grid starting at i; auto: i and n from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX with --shards",
    )
    pointing_parser.add_argument("--shards", type=positive_int, default=None, help="with --shard auto under a Kubernetes Indexed Job: the number of shards")
    pointing_parser.add_argument("--half", default=None, choices=["tuning", "report"], help="only images of this half (even / odd name-sorted indices)")
    pointing_parser.set_defaults(handler=run_pointing_game)


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
        code = args.handler(args)
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
