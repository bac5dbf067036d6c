"""Time camlib's methods against pytorch-grad-cam and torchcam in one run, on the same image, model,
device and thread count, and print the ratios peer / camlib.

    python bench/bench_methods.py --quick          # EfficientNet-Lite0 only, a few minutes on a 2-core CPU
    python bench/bench_methods.py                  # all four backbones (random weights except EfficientNet-Lite0)

Peak memory is the process's peak RSS during each call (reset through /proc/self/clear_refs on Linux),
and on CUDA the maximum allocated memory. The Score-CAM floor is K channels × the seconds per image of
a batched forward pass at the best batch size: exact Score-CAM cannot do fewer forward passes. The row
"scorecam fast (peers: exact)" sets camlib's fast setting against the peers' exact Score-CAM of the same
run, since the peers have no such setting.
"""

from __future__ import annotations

import argparse
import copy
import gc
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from camlib.backbones import load_backbone
from camlib.errors import CamlibError
from camlib.explain import build_method
from camlib.methods import resolve_layer, speed_params

ALL_METHODS = ("cam", "gradcam", "gradcampp", "smoothgradcampp", "scorecam", "gradpp_scorecam")


def reset_peak_rss() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(run: Callable[[], object], repeats: int, device: torch.device) -> tuple[float, float, float]:
    """Median seconds, peak RSS (MB) and CUDA max allocated (MB) of ``run``, after one warm-up call."""
    run()
    sync(device)
    gc.collect()
    reset_peak_rss()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync(device)
        times.append(time.perf_counter() - start)
    cuda_mb = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else float("nan")
    return statistics.median(times), peak_rss_mb(), cuda_mb


def grad_cam_runner(key: str, model, layer, inputs, target: int):
    """pytorch-grad-cam's version of a method, or None where it has none."""
    import pytorch_grad_cam as pgc
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    classes = {"gradcam": pgc.GradCAM, "gradcampp": pgc.GradCAMPlusPlus, "scorecam": pgc.ScoreCAM}
    if key not in classes:
        return None
    cam = classes[key](model=model, target_layers=[layer])
    if key == "scorecam":
        cam.batch_size = 32  # pytorch-grad-cam reads this attribute; 16 by default
    targets = [ClassifierOutputTarget(target)]
    return lambda: cam(input_tensor=inputs, targets=targets)


def torchcam_runner(key: str, model, layer_name: str, inputs, target: int, cam_layer: str | None, fc_layer: str | None):
    """torchcam's version of a method, or None where it has none."""
    from torchcam import methods as tc

    classes = {
        "cam": tc.CAM,
        "gradcam": tc.GradCAM,
        "gradcampp": tc.GradCAMpp,
        "smoothgradcampp": tc.SmoothGradCAMpp,
        "scorecam": tc.ScoreCAM,
    }
    if key not in classes or (key == "cam" and cam_layer is None):
        return None
    if key == "cam":
        extractor = tc.CAM(model, target_layer=cam_layer, fc_layer=fc_layer)
    elif key == "smoothgradcampp":  # camlib's default sample count, for a like-for-like time
        extractor = tc.SmoothGradCAMpp(model, target_layer=layer_name, num_samples=8)
    elif key == "scorecam":
        extractor = tc.ScoreCAM(model, target_layer=layer_name, batch_size=32)
    else:
        extractor = classes[key](model, target_layer=layer_name)

    def run():
        if key in ("gradcam", "gradcampp", "smoothgradcampp"):
            scores = model(inputs)
            return extractor(target, scores)
        with torch.inference_mode():
            scores = model(inputs)
        return extractor(target, scores)

    return run


def peer_scorecam_seconds(backbone, inputs, target: int, repeats: int, device: torch.device) -> dict[str, float]:
    """Median seconds of exact Score-CAM in pytorch-grad-cam and torchcam, on a copy of the backbone's model."""
    peer_model = copy.deepcopy(backbone.model).requires_grad_(True).eval()
    layer_name = backbone.spec.default_layer
    runners = {
        "pytorch-grad-cam": grad_cam_runner("scorecam", peer_model, resolve_layer(peer_model, layer_name), inputs, target),
        "torchcam": torchcam_runner("scorecam", peer_model, layer_name, inputs, target, None, None),
    }
    return {name: measure(run, repeats, device)[0] for name, run in runners.items()}


def forward_floor(model, inputs, channels: int, device: torch.device) -> tuple[float, int]:
    """Seconds of exact Score-CAM's unavoidable work: ``channels`` forward passes at the best batch size."""
    best = (float("inf"), 0)
    sizes = (16, 32, 64, 128, 256, 512) if device.type == "cuda" else (1, 2, 4, 8, 16, 32, 64)
    for batch_size in sizes:
        batch = inputs.expand(batch_size, -1, -1, -1).contiguous()
        if next(model.parameters()).is_contiguous(memory_format=torch.channels_last):
            batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            seconds, _, _ = measure(lambda: model(batch), 2, device)
        best = min(best, (seconds / batch_size * channels, batch_size))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="EfficientNet-Lite0 only, one timed call per method")
    parser.add_argument("--backbones", default=None, help="comma-separated; default all (quick: efficientnet_lite0)")
    parser.add_argument("--methods", default=",".join(ALL_METHODS))
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per method (default 3, quick 1)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--out", default=None, help="also write the run's header, floors and table to this markdown file")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    backbones = args.backbones.split(",") if args.backbones else (
        ["efficientnet_lite0"] if args.quick else ["efficientnet_lite0", "resnet50", "vgg16", "alexnet"]
    )
    repeats = args.repeats or (1 if args.quick else 3)
    methods = args.methods.split(",")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device_name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU ({platform.processor() or platform.machine()})"
    header = f"device: {device_name}; torch {torch.__version__}; threads {torch.get_num_threads()}; repeats {repeats}; image 224²"
    print(header + "\n")
    floors = []

    from PIL import Image
    from skimage import data

    image = Image.fromarray(data.chelsea())
    rows = []
    for key in backbones:
        backbone = load_backbone(key, pretrained=(key == "efficientnet_lite0"), device=device)
        inputs = backbone.preprocess(image)
        target = int(backbone.probabilities(inputs).argmax())
        layer_name = backbone.spec.default_layer
        peer_model = copy.deepcopy(backbone.model).requires_grad_(True).eval()
        peer_layer = resolve_layer(peer_model, layer_name)
        channels = _channels(backbone.model, layer_name, inputs)
        for method_key in methods:
            try:
                method = build_method(method_key, backbone)
            except CamlibError as error:  # CAM on VGG16/AlexNet: reported, not timed
                rows.append((key, method_key, None, None, None, None, None, str(error).split(":")[0]))
                continue
            ours, rss, cuda_mb = measure(lambda: method(inputs, [target]), repeats, device)
            peer_times = []
            for make in (
                lambda: grad_cam_runner(method_key, peer_model, peer_layer, inputs, target),
                lambda: torchcam_runner(
                    method_key, peer_model, layer_name, inputs, target, backbone.spec.cam_layer, backbone.spec.cam_classifier
                ),
            ):
                runner = None if args.no_peers else make()
                peer_times.append(measure(runner, repeats, device)[0] if runner else None)
            rows.append((key, method_key, ours, peer_times[0], peer_times[1], rss, cuda_mb, ""))
            print(_format_row(rows[-1]), flush=True)
            if method_key == "scorecam":
                exact_scorecam = ours
                fast = build_method("scorecam", backbone, **speed_params("scorecam", "fast"))
                seconds, rss, cuda_mb = measure(lambda: fast(inputs, [target]), repeats, device)
                # The peers have no such setting: their columns repeat their exact Score-CAM from this run.
                rows.append((key, "scorecam fast (peers: exact)", seconds, peer_times[0], peer_times[1], rss, cuda_mb, ""))
                print(_format_row(rows[-1]), flush=True)
        floor, batch_size = forward_floor(backbone.model, inputs, channels, device)
        line = f"{key}: Score-CAM floor = {channels} channels × forward at batch {batch_size} = {floor:.2f} s"
        if "scorecam" in methods:
            line += f"; camlib's exact Score-CAM = {exact_scorecam / floor:.2f}× the floor"
        print(line + "\n", flush=True)
        floors.append(line)

    table = [TABLE_HEADER, "|---|---|---|---|---|---|---|---|---|", *(_format_row(row) for row in rows)]
    print("\n" + "\n".join(table))
    if args.out:
        write_markdown(args.out, header, floors, table)
    return 0


TABLE_HEADER = "| backbone | method | camlib s | grad-cam s | torchcam s | grad-cam / camlib | torchcam / camlib | peak RSS MB | CUDA max MB |"


def write_markdown(path: str, header: str, floors: list[str], table: list[str]) -> None:
    """The run as bench/readme_figures.py reads it: the command, the header, the floors, then the table."""
    import datetime
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = "unknown"
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"$ python bench/bench_methods.py {' '.join(sys.argv[1:])}", f"# {stamp}, commit {commit or 'unknown'}", header, ""]
    lines += [*floors, "", *table]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _channels(model, layer_name: str, inputs) -> int:
    captured = []
    handle = resolve_layer(model, layer_name).register_forward_hook(lambda m, i, o: captured.append(o.shape[1]))
    try:
        with torch.inference_mode():
            model(inputs)
    finally:
        handle.remove()
    return captured[-1]


def _format_row(row) -> str:
    backbone, method, ours, grad_cam, torchcam, rss, cuda_mb, note = row
    if ours is None:
        return f"| {backbone} | {method} | n/a ({note}) | | | | | | |"

    def seconds(value):
        return "—" if value is None else f"{value:.3f}"

    def ratio(value):
        return "—" if value is None else f"{value / ours:.2f}×"

    cuda = "—" if math.isnan(cuda_mb) else f"{cuda_mb:.0f}"
    return (
        f"| {backbone} | {method} | {ours:.3f} | {seconds(grad_cam)} | {seconds(torchcam)} | "
        f"{ratio(grad_cam)} | {ratio(torchcam)} | {rss:.0f} | {cuda} |"
    )


if __name__ == "__main__":
    sys.exit(main())
