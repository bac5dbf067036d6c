"""The command line's arguments: one parser, a subcommand per task, and the options they share."""

from __future__ import annotations

import argparse
import sys

from camlib import __version__
from camlib.backbones import BACKBONES, DEFAULT_BACKBONE
from camlib.cli_output import shown
from camlib.methods import SPEED_SETTINGS

EXIT_USAGE = 2
SPEED_HELP = (
    "Score-CAM family: exact (every channel, full resolution, float32); fast (Score-CAM measures 128 channels "
    "and predicts the rest, float16 on CUDA); lowres (masked passes at 112², float16 on CUDA, as the paper reduces "
    "the input: on a CPU no faster than fast and further from exact; bench/fast_vs_exact.py measures how far, see "
    "the README's speed settings)"
)



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
    add_run_options(evaluate_parser, out="results.csv", rows="per-image rows", unit="image")


def add_run_options(parser: argparse.ArgumentParser, *, out: str, rows: str, unit: str) -> None:
    """--out, --resume, --shard and --shards, the same for every command that writes result rows as it goes."""
    parser.add_argument("--out", default=out, help=f"{rows}, written as the run goes")
    parser.add_argument("--resume", action="store_true", help="keep the rows in --out and compute the rest")
    parser.add_argument(
        "--shard", default="0/1",
        help=f"i/n: every n-th {unit} starting at i; auto: i and n from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX with --shards",
    )
    parser.add_argument("--shards", type=positive_int, default=None, help="with --shard auto under a Kubernetes Indexed Job: the number of shards")


def _add_evaluate_merge_command(commands: argparse._SubParsersAction) -> None:
    """``camlib evaluate-merge``: the CSVs of several shards as one table."""
    merge_parser = commands.add_parser("evaluate-merge", help="combine the CSVs of several evaluate shards into one table")
    merge_parser.add_argument("csv_files", nargs="+")
    merge_parser.add_argument("--out", default=None, help="also write the combined rows here")
    merge_parser.add_argument("--common-images", action="store_true", help="summarise only the images every method scored")


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
    add_run_options(pointing_parser, out="pointing.csv", rows="per-cell rows", unit="grid")
    pointing_parser.add_argument("--half", default=None, choices=["tuning", "report"], help="only images of this half (even / odd name-sorted indices)")
