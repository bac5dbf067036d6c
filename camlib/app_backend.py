"""The glue between camlib and the Streamlit app: cached models and maps, images, exports and figures.

The pages under ``pages/`` only lay out widgets; everything they compute comes from here.

- Models live in :func:`shared_model` (``st.cache_resource``): one per backbone and weights file, each
  with a lock that is held while it computes, because every session shares the same model object.
- Maps live in ``st.cache_data``, keyed by a hash of the image bytes, the backbone and its weights, the
  layer, the class, the method and its parameters (:class:`MapRequest`).
- Methods that report progress (the Score-CAM family, SmoothGrad-CAM++) run in a worker thread, so that
  the script thread can draw their progress bar: a cached function must not itself draw into a
  container made outside it.

The shared sidebar widgets are at the end of the module.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import logging
import os
import queue
import re
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
import torch
from PIL import Image

from camlib import metrics
from camlib.backbones import BACKBONES, Backbone, backbone_spec, default_device, load_backbone
from camlib.errors import CamlibError, ImageLoadError
from camlib.explain import Explanation, MethodResult, run_method
from camlib.images import MAX_MEGAPIXELS, load_image
from camlib.methods import METHODS, SPEED_SETTINGS, method_info, speed_params
from camlib.render import COLORMAPS, overlay

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_IMAGES = REPO_ROOT.parent / "shared" / "images"

IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp"]
WEIGHTS_TYPES = ["pth", "pt"]
IMAGE_UPLOAD_LIMIT_MB = 200  # per image; state dicts may use the server's maxUploadSize (.streamlit/config.toml)
MAX_CACHED_MODELS = 4
MAX_CACHED_MAPS = 512  # a 224×224 float32 map is 200 KB: about 100 MB in all
MAX_CACHED_PREDICTIONS = 256
FAST_TEST_ENV = "CAMLIB_APP_FAST_TEST"

# Session-state keys shared by the pages.
SAMPLE_KEY = "camlib_sample"
UPLOADER_KEY = "camlib_uploader"
UPLOAD_STATE_KEY = "camlib_uploaded_image"  # (file name, bytes) of the last upload; survives page switches
WEIGHTS_STATE_KEY = "camlib_weights_paths"  # backbone key -> state-dict path chosen in this session


# -- images ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    label: str
    source: str  # "skimage:NAME" (shipped with scikit-image) or "shared:FILE" (../shared/images)
    classes: tuple[int, ...] = ()  # ImageNet classes worth explaining in this photo
    instances: int | None = None  # how many objects of classes[0] it shows


SAMPLES: tuple[Sample, ...] = (
    Sample("Cat: chelsea (scikit-image)", "skimage:chelsea", (281, 285)),
    Sample("Coffee cup: coffee (scikit-image)", "skimage:coffee", (967, 968)),
    Sample("Rocket: rocket (scikit-image)", "skimage:rocket", (657, 812)),
    Sample("Dog and cat (shared)", "shared:dog_and_cat.png", (243, 281)),
    Sample("Six dogs (shared)", "shared:dogs.png", (231,), instances=6),
    Sample("Two horses (shared)", "shared:horses.jpg", (339,), instances=2),
    Sample("Five puppies (shared)", "shared:puppies.jpg", (208,), instances=5),
)


def available_samples() -> list[Sample]:
    """The scikit-image samples, plus the shared photos when ``../shared/images`` exists."""
    return [sample for sample in SAMPLES if not sample.source.startswith("shared:") or (SHARED_IMAGES / sample.source[7:]).is_file()]


def sample_by_label(label: str) -> Sample:
    for sample in SAMPLES:
        if sample.label == label:
            return sample
    raise KeyError(label)


@dataclass(frozen=True)
class ImageInput:
    """An image the app explains: its name, the SHA-256 of its bytes (the cache key) and the decoded RGB image."""

    name: str
    digest: str
    image: Image.Image = field(repr=False, compare=False)
    sample: Sample | None = None


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@st.cache_resource(max_entries=8, show_spinner=False)  # decoded images can be large (up to 50 megapixels)
def _decoded(digest: str, name: str, _data: bytes) -> Image.Image:
    return load_image(_data, name=name)


def image_from_bytes(data: bytes, name: str, sample: Sample | None = None) -> ImageInput:
    """Decode uploaded or sample bytes; raises :class:`ImageLoadError` with a message for people."""
    if not data:
        raise ImageLoadError(f"{name} is empty (0 bytes).")
    digest = digest_of(data)
    return ImageInput(name, digest, _decoded(digest, name, data), sample)


def read_uploaded_image(data: bytes, name: str) -> tuple[ImageInput | None, str | None]:
    """The image, or the reason it cannot be read: never an exception."""
    try:
        return image_from_bytes(data, name), None
    except CamlibError as error:
        return None, str(error)


@st.cache_data(max_entries=16, show_spinner=False)
def sample_bytes(source: str) -> bytes:
    """The bytes of a sample: scikit-image photos are encoded as PNG at run time, shared files read as they are."""
    kind, name = source.split(":", 1)
    if kind == "shared":
        return (SHARED_IMAGES / name).read_bytes()
    import skimage.data

    buffer = io.BytesIO()
    Image.fromarray(getattr(skimage.data, name)()).save(buffer, format="PNG")
    return buffer.getvalue()


def sample_input(sample: Sample) -> ImageInput:
    return image_from_bytes(sample_bytes(sample.source), sample.label, sample)


# -- models ---------------------------------------------------------------------------------------


@dataclass
class SharedModel:
    """A loaded backbone shared by every session, with the lock to hold while using it."""

    backbone: Backbone
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@st.cache_resource(max_entries=MAX_CACHED_MODELS, show_spinner=False)
def shared_model(backbone_key: str, weights_path: str | None = None) -> SharedModel:
    """Load a backbone once per process (never downloading); raises :class:`CamlibError` when it can't."""
    return SharedModel(load_backbone(backbone_key, weights_path=weights_path, allow_download=False))


def download_weights(backbone_key: str) -> None:
    """Fetch torchvision's weights into the torch hub cache (needs internet); raises WeightsUnavailableError."""
    load_backbone(backbone_key, allow_download=True, device="cpu")


def save_uploaded_weights(backbone_key: str, data: bytes) -> Path:
    """Write an uploaded state dict to a temporary file named by its hash, for ``load_backbone(weights_path=...)``."""
    folder = Path(tempfile.gettempdir()) / "camlib-app-weights"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{backbone_key}-{digest_of(data)[:16]}.pth"
    if not path.is_file():
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)
    return path


def device_label() -> str:
    device = default_device()
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return f"CPU ({torch.get_num_threads()} threads)"


@st.cache_data(max_entries=MAX_CACHED_PREDICTIONS, show_spinner=False)
def top_predictions(image_digest: str, backbone_key: str, weights_path: str | None, _image: Image.Image) -> list[tuple[int, str, float]]:
    """The top-5 classes (index, name, probability) of an image."""
    model = shared_model(backbone_key, weights_path)
    with model.lock:
        return model.backbone.top_predictions(model.backbone.preprocess(_image), k=5)


def layer_options(model: SharedModel) -> list[str]:
    """The backbone's preset layers first, then every other named module (any can be chosen)."""
    spec = model.backbone.spec
    presets = list(dict.fromkeys([spec.default_layer, *spec.layer_presets]))
    return presets + [name for name in model.backbone.layer_names() if name not in presets]


# -- method settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeedPreset:
    key: str
    label: str
    description: str
    params: dict[str, dict] = field(default_factory=dict)


def _library_setting(speed: str) -> dict[str, dict]:
    """camlib's named speed setting, as parameters per method."""
    return {key: params for key in METHODS if (params := speed_params(key, speed))}


SPEED_PRESETS: dict[str, SpeedPreset] = {
    preset.key: preset
    for preset in (
        SpeedPreset(
            "fast",
            "Fast",
            f"Score-CAM and Grad++ScoreCAM run their masked passes at {SPEED_SETTINGS['fast'].get('perturbation_size')}×"
            f"{SPEED_SETTINGS['fast'].get('perturbation_size')} instead of 224×224 (and in float16 on CUDA): about 3.5× "
            "faster, but only an approximation. On EfficientNet-Lite0 its Score-CAM maps can differ a lot from the "
            "exact ones (mean correlation 0.39 at conv_head and 0.83 at bn2 on ImageNet samples). The other methods are exact.",
            _library_setting("fast"),
        ),
        SpeedPreset(
            "exact",
            "Exact",
            "Every method at its published setting: the masked passes at full resolution, in float32.",
            _library_setting("exact"),
        ),
        SpeedPreset(
            "test",
            "Quick test",
            f"Set by {FAST_TEST_ENV}=1 for automated tests: every perturbation pass at 64×64, "
            "16 channels for Grad++ScoreCAM, 2 noisy samples for SmoothGrad-CAM++. Not for judging maps.",
            {
                "scorecam": {"perturbation_size": 64, "batch_size": 128},
                "gradpp_scorecam": {"top_k": 16, "perturbation_size": 64},
                "smoothgradcampp": {"n_samples": 2},
            },
        ),
    )
}


def speed_options() -> list[str]:
    if os.environ.get(FAST_TEST_ENV, "") not in ("", "0"):
        return ["test", "exact", "fast"]
    return ["exact", "fast"]


def method_default(method_key: str, name: str):
    """The default of a method's constructor parameter, read from its signature."""
    return inspect.signature(method_info(method_key).method_class.__init__).parameters[name].default


def effective_param(method_key: str, name: str, speed: str):
    return SPEED_PRESETS[speed].params.get(method_key, {}).get(name, method_default(method_key, name))


Params = tuple[tuple[str, object], ...]


def method_params(method_key: str, speed: str, overrides: dict[str, dict] | None = None) -> Params:
    """The parameters one method runs with: its preset's, then the user's overrides; hashable, sorted."""
    params = {**SPEED_PRESETS[speed].params.get(method_key, {}), **(overrides or {}).get(method_key, {})}
    return tuple(sorted(params.items()))


def describe_params(params: Params) -> str:
    return ", ".join(f"{name}={value}" for name, value in params) or "defaults"


# -- maps -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapRequest:
    """Everything that decides a map: the cache key."""

    image_digest: str
    backbone_key: str
    weights_path: str | None
    layer: str
    target_class: int
    method_key: str
    params: Params = ()


def map_request(image: ImageInput, backbone_key: str, weights_path: str | None, layer: str, target_class: int, method_key: str, params: Params) -> MapRequest:
    if method_key == "cam":  # CAM always reads the layer before global average pooling
        layer = backbone_spec(backbone_key).cam_layer or layer
    return MapRequest(image.digest, backbone_key, weights_path, layer, int(target_class), method_key, params)


@st.cache_data(max_entries=MAX_CACHED_MAPS, show_spinner=False)
def _cached_result(
    image_digest: str,
    backbone_key: str,
    weights_path: str | None,
    layer: str,
    target_class: int,
    method_key: str,
    params: Params,
    _image: Image.Image,
    _progress: Callable[[int, int], None] | None = None,
) -> MethodResult:
    model = shared_model(backbone_key, weights_path)
    with model.lock:
        inputs = model.backbone.preprocess(_image)
        return run_method(method_key, model.backbone, inputs, target_class, layer=layer, progress=_progress, params=dict(params))


def _args(request: MapRequest) -> tuple:
    return (request.image_digest, request.backbone_key, request.weights_path, request.layer, request.target_class, request.method_key, request.params)


def compute_map(request: MapRequest, image: ImageInput, progress: Callable[[int, int], None] | None = None) -> MethodResult:
    """The method's map for the request, from the cache when it is there.

    With ``progress``, the computation runs in a worker thread and ``progress(done, total)`` is called
    from the calling thread, so it may draw Streamlit elements.
    """
    if progress is None:
        return _cached_result(*_args(request), image.image)
    updates: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["result"] = _cached_result(*_args(request), image.image, lambda done, total: updates.put((done, total)))
        except BaseException as error:  # noqa: BLE001 - handed to the script thread, which re-raises it
            outcome["error"] = error

    worker = threading.Thread(target=work, name=f"camlib-{request.method_key}", daemon=True)
    _attach_script_context(worker)
    worker.start()
    while worker.is_alive():
        worker.join(timeout=0.1)
        _report_latest(updates, progress)
    _report_latest(updates, progress)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _attach_script_context(thread: threading.Thread) -> None:
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    context = get_script_run_ctx(suppress_warning=True)
    if context is not None:
        add_script_run_ctx(thread, context)


def _report_latest(updates: queue.SimpleQueue, progress: Callable[[int, int], None]) -> None:
    latest = None
    while not updates.empty():
        latest = updates.get()
    if latest is not None:
        progress(*latest)


def compute_map_safely(request: MapRequest, image: ImageInput, progress: Callable[[int, int], None] | None = None) -> MethodResult:
    """Like :func:`compute_map`, but an unexpected failure becomes the result's error instead of a traceback."""
    try:
        return compute_map(request, image, progress)
    except CamlibError as error:  # e.g. the model itself could not load
        return MethodResult(request.method_key, method_info(request.method_key).display_name, None, 0.0, str(error))
    except Exception as error:  # a method failing on an unusual model or setting must not break the page
        logger.exception("%s failed for %s", request.method_key, request)
        message = f"It failed with {type(error).__name__}: {error}"
        return MethodResult(request.method_key, method_info(request.method_key).display_name, None, 0.0, message)


def reports_progress(method_key: str) -> bool:
    return method_info(method_key).scores_masked_inputs or method_key == "smoothgradcampp"


def progress_text(method_key: str, params: Params, done: int, total: int) -> str:
    name = method_info(method_key).display_name
    if method_key == "smoothgradcampp":
        return f"{name}: noisy pass {done} of {total}"
    return f"{name}: {done} of {total} channels scored on masked inputs"


def ordered_methods(keys: Iterable[str]) -> list[str]:
    """Cheap methods first, so they appear before the Score-CAM family."""
    return sorted(dict.fromkeys(keys), key=lambda key: (method_info(key).relative_cost, list(METHODS).index(key)))


def overlay_tile(display_image: np.ndarray, result: MethodResult, *, opacity: float, colormap: str) -> np.ndarray:
    return overlay(display_image, result.saliency, opacity=opacity, colormap=colormap)


def tile_caption(result: MethodResult) -> str:
    return f"{result.display_name} · {result.seconds:.2f} s"


# -- exports and figures --------------------------------------------------------------------------


def explanation_of(display_image: np.ndarray, target_class: int, class_names: Sequence[str], top: list, layer: str, results: dict[str, MethodResult]) -> Explanation:
    return Explanation(
        image=display_image,
        target_class=target_class,
        target_name=class_names[target_class],
        top_predictions=top,
        layer=layer,
        results=dict(results),
    )


def grid_png(explanation: Explanation, *, opacity: float, colormap: str, columns: int | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(explanation.grid(opacity=opacity, colormap=colormap, columns=columns)).save(buffer, format="PNG")
    return buffer.getvalue()


def maps_npz(explanation: Explanation, *, backbone_key: str) -> bytes:
    """The raw maps, one (H, W) float32 array per method key, plus the input and what was explained."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        **explanation.maps(),
        input=explanation.image,
        target_class=np.int64(explanation.target_class),
        target_name=np.str_(explanation.target_name),
        backbone=np.str_(backbone_key),
        layer=np.str_(explanation.layer),
    )
    return buffer.getvalue()


def predictions_figure(top: list[tuple[int, str, float]], selected: int | None = None) -> go.Figure:
    names = [f"{name} ({index})" for index, name, _ in top][::-1]
    probabilities = [probability for _, _, probability in top][::-1]
    colors = ["#d9480f" if index == selected else "#adb5bd" for index, _, _ in top][::-1]
    figure = go.Figure(go.Bar(x=probabilities, y=names, orientation="h", marker_color=colors,
                              text=[f"{p:.1%}" for p in probabilities], textposition="auto",
                              hovertemplate="%{y}: %{x:.2%}<extra></extra>"))
    figure.update_layout(height=220, margin={"l": 0, "r": 0, "t": 24, "b": 0}, title="Top-5 predictions",
                         xaxis={"range": [0, 1], "tickformat": ".0%"}, yaxis={"automargin": True})
    return figure


def heatmap_figure(saliency: np.ndarray, *, colormap: str, title: str) -> go.Figure:
    """An interactive heatmap of a map; hovering shows the pixel and its value."""
    figure = px.imshow(np.round(saliency.astype(np.float32), 3), zmin=0.0, zmax=1.0, color_continuous_scale=colormap, aspect="equal")
    figure.update_traces(hovertemplate="x=%{x}, y=%{y}<br>value=%{z:.3f}<extra></extra>")
    figure.update_layout(title=title, margin={"l": 0, "r": 0, "t": 32, "b": 0}, height=380, coloraxis_colorbar={"title": "value"})
    return figure


# -- multiple objects ------------------------------------------------------------------------------


def hot_regions(saliency: np.ndarray, *, threshold: float = 0.5, min_area_fraction: float = 0.005) -> int:
    """How many separate regions of the map reach ``threshold`` (ignoring specks below the area fraction)."""
    mask = (np.nan_to_num(saliency) >= threshold).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    minimum = min_area_fraction * saliency.size
    return int(sum(1 for label in range(1, count) if stats[label, cv2.CC_STAT_AREA] >= minimum))


def instances_note(results: dict[str, MethodResult], instances: int | None) -> str:
    """A short note on which methods spread over several instances, from the regions of each map."""
    counts = {result.display_name: hot_regions(result.saliency) for result in results.values() if result.saliency is not None}
    if not counts:
        return "No method produced a map."
    listing = ", ".join(f"{name}: {count}" for name, count in counts.items())
    note = f"Separate regions at or above half the map's maximum: {listing}."
    if instances:
        found = [name for name, count in counts.items() if count >= instances]
        if found:
            note += f" With {instances} instances in the photo, {', '.join(found)} separate{'s' if len(found) == 1 else ''} all of them."
        else:
            best = max(counts.values())
            leaders = [name for name, count in counts.items() if count == best]
            note += f" None separates all {instances} instances; {', '.join(leaders)} come{'s' if len(leaders) == 1 else ''} closest with {best}."
    note += (
        " Grad-CAM averages the gradient over the whole map, so one strong instance can dominate; Grad-CAM++ "
        "weights each location's positive gradient, and the Score-CAM family scores each channel by masking "
        "the input, which tends to give every instance its share. Neighbouring instances can merge into one region."
    )
    return note


# -- faithfulness ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaithfulnessRow:
    image: str
    method_key: str
    target_class: int
    base: float | None  # Y: the class score on the image
    masked: float | None  # O: the class score on the image times its map
    seconds: float
    error: str | None = None


def evaluate_faithfulness(
    images: Sequence[ImageInput],
    backbone_key: str,
    weights_path: str | None,
    layer: str,
    methods: Sequence[str],
    params_for: Callable[[str], Params],
    progress: Callable[[float, str], None] | None = None,
) -> list[FaithfulnessRow]:
    """Each method's map for each image's top-1 class, and the class score with and without the map.

    The score pair feeds :func:`camlib.metrics.average_drop` and :func:`camlib.metrics.average_increase`.
    """
    rows: list[FaithfulnessRow] = []
    methods = ordered_methods(methods)
    steps = max(1, len(images) * len(methods))
    for image_number, image in enumerate(images):
        target = top_predictions(image.digest, backbone_key, weights_path, image.image)[0][0]
        for method_number, method_key in enumerate(methods):
            step = image_number * len(methods) + method_number
            if progress is not None:
                progress(step / steps, f"{image.name}: {method_info(method_key).display_name} ({step + 1} of {steps})")
            request = map_request(image, backbone_key, weights_path, layer, target, method_key, params_for(method_key))
            result = compute_map_safely(request, image)
            if result.saliency is None:
                rows.append(FaithfulnessRow(image.name, method_key, target, None, None, result.seconds, result.error))
                continue
            base, masked = _confidence(*_args(request), image.image, result.saliency)
            rows.append(FaithfulnessRow(image.name, method_key, target, base, masked, result.seconds))
    if progress is not None:
        progress(1.0, f"Done: {len(images)} image(s), {len(methods)} method(s)")
    return rows


@st.cache_data(max_entries=MAX_CACHED_MAPS, show_spinner=False)
def _confidence(
    image_digest: str,
    backbone_key: str,
    weights_path: str | None,
    layer: str,
    target_class: int,
    method_key: str,
    params: Params,
    _image: Image.Image,
    _saliency: np.ndarray,
) -> tuple[float, float]:
    """Y and O for one map (the map is determined by the other arguments, so it is not hashed)."""
    model = shared_model(backbone_key, weights_path)
    with model.lock:
        inputs = model.backbone.preprocess(_image)
        pair = metrics.confidence_pair(model.backbone.model, inputs, _saliency[None], [target_class])
    return float(pair.base[0]), float(pair.masked[0])


AVERAGE_DROP = "Average Drop (%) ↓"
AVERAGE_INCREASE = "Average Increase (%) ↑"
SECONDS = "Seconds per image"


def table_1(rows: Sequence[FaithfulnessRow], methods: Sequence[str]) -> pd.DataFrame:
    """The paper's Table 1 layout: metrics as rows, methods as columns (NaN where a method can't run)."""
    columns = {}
    for method_key in ordered_methods(methods):
        scored = [row for row in rows if row.method_key == method_key and row.base is not None]
        timed = [row.seconds for row in rows if row.method_key == method_key]
        if scored:
            base = [row.base for row in scored]
            masked = [row.masked for row in scored]
            values = [metrics.average_drop(base, masked), metrics.average_increase(base, masked), float(np.mean(timed))]
        else:
            values = [np.nan, np.nan, float(np.mean(timed)) if timed else np.nan]
        columns[method_info(method_key).display_name] = values
    return pd.DataFrame(columns, index=[AVERAGE_DROP, AVERAGE_INCREASE, SECONDS])


def per_image_table(rows: Sequence[FaithfulnessRow], class_names: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "image": row.image,
                "method": method_info(row.method_key).display_name,
                "class": f"{class_names[row.target_class]} ({row.target_class})",
                "Y (score on image)": row.base,
                "O (score on image × map)": row.masked,
                "drop (%)": None if row.base is None else 100.0 * max(0.0, row.base - row.masked) / row.base,
                "seconds": row.seconds,
                "note": row.error or "",
            }
            for row in rows
        ]
    )


def faithfulness_figure(table: pd.DataFrame) -> go.Figure:
    long = table.loc[[AVERAGE_DROP, AVERAGE_INCREASE]].reset_index(names="metric").melt(id_vars="metric", var_name="method", value_name="percent")
    figure = px.bar(long, x="method", y="percent", color="metric", barmode="group", text_auto=".1f",
                    color_discrete_map={AVERAGE_DROP: "#d9480f", AVERAGE_INCREASE: "#1c7ed6"})
    figure.update_layout(yaxis={"title": "%", "range": [0, 100]}, margin={"l": 0, "r": 0, "t": 10, "b": 0}, height=360, legend_title_text="")
    return figure


# -- teaching -------------------------------------------------------------------------------------


def docstring_formulas(obj) -> list[str]:
    """The LaTeX of each ``.. math::`` block in an object's docstring, in order."""
    lines = (inspect.getdoc(obj) or "").splitlines()
    formulas, index = [], 0
    while index < len(lines):
        line = lines[index]
        if ".. math::" in line:
            inline = line.split(".. math::", 1)[1].strip()
            index += 1
            if inline:
                formulas.append(inline)
                continue
            block = []
            while index < len(lines) and lines[index].strip():
                block.append(lines[index].strip())
                index += 1
            formulas.append(" ".join(block))
        index += 1
    return formulas


# Formulas for methods whose docstring gives them only inline, step by step.
SUMMARY_FORMULAS = {
    "gradpp_scorecam": [
        r"w_k^c = \sum_{i,j} a_k(i, j)\, \mathrm{ReLU}\Big(\frac{\partial y^c}{\partial A_k(i, j)}\Big) \quad \text{(the Grad-CAM++ weights)}",
        r"C_k = f^c(X \circ H_k) - f^c(X_b) \quad \text{for the top-}k \text{ channels by } w_k^c",
        r"\alpha_k = \mathrm{softmax}_k(C_k) \cdot \frac{w_k^c}{\max_j w_j^c}, \qquad L^c = \mathrm{ReLU}\Big(\sum_k \alpha_k A_k\Big)",
    ],
}


def method_formulas(method_key: str) -> list[str]:
    return docstring_formulas(method_info(method_key).method_class) or SUMMARY_FORMULAS.get(method_key, [])


def rst_to_markdown(text: str) -> str:
    """Turn the docstrings' reStructuredText roles into Streamlit markdown (``$...$`` for math)."""
    text = re.sub(r":math:`([^`]*)`", lambda match: f"${match.group(1)}$", text)
    text = re.sub(r":(?:func|class|meth|attr|data|mod):`~?([^`]*)`", r"`\1`", text)
    return re.sub(r"``([^`]*)``", r"`\1`", text)


def algorithm_steps() -> str:
    """The step-by-step mapping of Grad++ScoreCAM's Algorithm 1 to camlib, from the class docstring."""
    doc = inspect.getdoc(method_info("gradpp_scorecam").method_class) or ""
    start = doc.find("How each step")
    end = doc.find("Cost:", start)
    section = doc[start:end] if start >= 0 else doc
    return rst_to_markdown(textwrap.dedent(section.split("\n", 1)[1] if "\n" in section else section)).strip()


PIPELINE_DOT = r"""
digraph pipeline {
  rankdir=TB; bgcolor="transparent"; ranksep=0.25; nodesep=0.3;
  node [shape=box, style="rounded,filled", fillcolor="#fff4e6", color="#d9480f", fontname="Helvetica", fontsize=11];
  edge [color="#868e96"];
  X [label="Input image X", fillcolor="#e7f5ff", color="#1c7ed6"];
  F [label="1. Forward + backward pass\nBaseCAM.capture"];
  A [label="Activations A_k\n(N, K, h, w)"];
  G [label="Gradients dy^c/dA_k"];
  W [label="2. Grad-CAM++ weights w_k\ngradcampp_weights"];
  T [label="3. Keep the top_k channels\nranked by w_k"];
  H [label="4. Smooth masks H_k = s(Up(A_k))\nscores C_k = f(X o H_k) - f(X_b)\nmasked_input_scores"];
  C [label="5. Combine: alpha_k from C_k and w_k\ncombination='softmax_w'"];
  L [label="6. Map: ReLU(sum_k alpha_k A_k)\nBaseCAM.combine", fillcolor="#ebfbee", color="#2f9e44"];
  X -> F; F -> A; F -> G; A -> W; G -> W; W -> T; T -> H; A -> H; X -> H; H -> C; W -> C; C -> L; A -> L;
}
"""

PAPER_REFERENCE = (
    "S. Soomro, A. Niaz and K. N. Choi, “Grad++ScoreCAM: Enhancing Visual Explanations of Deep Convolutional "
    "Networks Using Incremented Gradient and Score-Weighted Methods,” IEEE Access, vol. 12, 2024, "
    "doi: 10.1109/ACCESS.2024.3392853."
)
PAPER_URL = "https://doi.org/10.1109/ACCESS.2024.3392853"

# The paper's Table 1 (Average Drop and Average Increase, in %, per method). Fill in from the paper:
# {"CAM": (drop, increase), "Grad-CAM": (...), ...}; the teaching page shows the table when it is set.
PAPER_TABLE_1: dict[str, tuple[float, float]] | None = None


def paper_table_1() -> pd.DataFrame | None:
    if not PAPER_TABLE_1:
        return None
    return pd.DataFrame(
        {method: [drop, increase] for method, (drop, increase) in PAPER_TABLE_1.items()},
        index=[AVERAGE_DROP, AVERAGE_INCREASE],
    )


# -- shared sidebar widgets -----------------------------------------------------------------------

# The pages, in the sidebar's order. Streamlit's own page list is hidden (client.showSidebarNavigation),
# so that the main page is called "Compare methods" rather than after its file.
NAVIGATION = (
    ("app.py", "Compare methods", ":material/local_fire_department:"),
    ("pages/compare_backbones.py", "Compare backbones", ":material/view_module:"),
    ("pages/multiple_objects.py", "Multiple objects", ":material/pets:"),
    ("pages/faithfulness.py", "Faithfulness", ":material/trending_down:"),
    ("pages/how_the_methods_work.py", "How the methods work", ":material/school:"),
)


def page_setup(title: str) -> None:
    """The page's config, title and the sidebar's page links."""
    icon = next((icon for _, label, icon in NAVIGATION if label == title), None)
    st.set_page_config(page_title=f"{title} · camlib", page_icon=icon, layout="wide")
    from streamlit.errors import StreamlitPageNotFoundError

    try:
        for path, label, page_icon in NAVIGATION:
            st.sidebar.page_link(path, label=label, icon=page_icon)
    except StreamlitPageNotFoundError:
        pass  # a page run on its own (AppTest.from_file on one page) has no other pages to link to
    st.title(title)


def upload_limit_text() -> str:
    return f"{IMAGE_UPLOAD_LIMIT_MB} MB and {MAX_MEGAPIXELS} megapixels per image"


def _remember_upload() -> None:
    uploaded = st.session_state.get(UPLOADER_KEY)
    st.session_state[UPLOAD_STATE_KEY] = (uploaded.name, uploaded.getvalue()) if uploaded is not None else None


def _forget_upload() -> None:
    st.session_state[UPLOAD_STATE_KEY] = None


def use_sample(label: str) -> None:
    """Make ``label`` the current image (a button callback)."""
    st.session_state[SAMPLE_KEY] = label
    _forget_upload()


def sidebar_image_picker() -> ImageInput | None:
    """The current image: the last upload of this session, else the chosen sample.

    An unreadable upload shows its reason with ``st.error`` and gives ``None``.
    """
    sidebar = st.sidebar
    sidebar.header("Image")
    labels = [sample.label for sample in available_samples()]
    if st.session_state.get(SAMPLE_KEY) not in labels:
        st.session_state.pop(SAMPLE_KEY, None)
    label = sidebar.selectbox("Sample image", labels, key=SAMPLE_KEY, on_change=_forget_upload, persist_state="session")
    uploaded = sidebar.file_uploader(
        "…or upload your own (PNG, JPEG, WebP, BMP)",
        type=IMAGE_TYPES,
        key=UPLOADER_KEY,
        on_change=_remember_upload,
        max_upload_size=IMAGE_UPLOAD_LIMIT_MB,
        help=f"Upload limit: {upload_limit_text()}.",
    )
    if uploaded is not None:
        st.session_state[UPLOAD_STATE_KEY] = (uploaded.name, uploaded.getvalue())
    sidebar.caption(f"Upload limit: {upload_limit_text()}.")
    stored = st.session_state.get(UPLOAD_STATE_KEY)
    if stored:
        name, data = stored
        sidebar.caption(f"Explaining your upload **{name}**.")
        sidebar.button("Use the sample instead", on_click=_forget_upload)
        image, error = read_uploaded_image(data, name)
        if error:
            st.error(error)
        return image
    return sample_input(sample_by_label(label))


def sidebar_device() -> None:
    st.sidebar.divider()
    st.sidebar.caption(f"Device: **{device_label()}**")


def weights_path_for(backbone_key: str) -> str | None:
    return st.session_state.get(WEIGHTS_STATE_KEY, {}).get(backbone_key)


def _set_weights_path(backbone_key: str, path: str | None) -> None:
    paths = dict(st.session_state.get(WEIGHTS_STATE_KEY, {}))
    paths[backbone_key] = path
    st.session_state[WEIGHTS_STATE_KEY] = paths


def backbone_label(key: str) -> str:
    return BACKBONES[key].display_name


def load_model_or_explain(backbone_key: str, container=None) -> SharedModel | None:
    """The shared model, or ``None`` after showing why it can't load and how to add its weights."""
    container = container or st.container()
    try:
        with st.spinner(f"Loading {backbone_label(backbone_key)}…"):
            return shared_model(backbone_key, weights_path_for(backbone_key))
    except CamlibError as error:
        container.error(str(error))
        weights_form(backbone_key, container)
        return None


def weights_form(backbone_key: str, container) -> None:
    """How to add a backbone's weights: the cache path, a file path, an upload, or a download."""
    spec = backbone_spec(backbone_key)
    with container.expander(f"Add weights for {spec.display_name}", expanded=True):
        if spec.weights_file is not None:
            st.markdown(f"Put **{spec.weights_file.name}** in `{spec.weights_file.parent}` and reload, or:")
        path = st.text_input(f"Path to a {spec.display_name} state-dict file on the server", key=f"weights_path::{backbone_key}")
        if st.button("Use this file", key=f"weights_use::{backbone_key}", disabled=not path):
            _try_weights(backbone_key, str(Path(path).expanduser()))
        uploaded = st.file_uploader(
            f"…or upload a {spec.display_name} state dict (.pth, .pt)",
            type=WEIGHTS_TYPES,
            key=f"weights_upload::{backbone_key}",
            max_upload_size=st.get_option("server.maxUploadSize"),
            help=f"Upload limit: {st.get_option('server.maxUploadSize')} MB. Loaded with weights_only=True.",
        )
        if uploaded is not None and st.button("Load the uploaded file", key=f"weights_load::{backbone_key}"):
            _try_weights(backbone_key, str(save_uploaded_weights(backbone_key, uploaded.getvalue())))
        if spec.torchvision_weights is not None and st.button(
            "Download from torchvision (needs internet)", key=f"weights_download::{backbone_key}"
        ):
            try:
                with st.spinner("Downloading…"):
                    download_weights(backbone_key)
            except CamlibError as error:
                st.error(str(error))
            else:
                _set_weights_path(backbone_key, None)
                st.rerun()


def _try_weights(backbone_key: str, path: str) -> None:
    try:
        with st.spinner("Loading the weights…"):
            shared_model(backbone_key, path)
    except CamlibError as error:
        st.error(str(error))
    else:
        _set_weights_path(backbone_key, path)
        st.rerun()


def sidebar_methods(*, key: str = "camlib_methods", default: Sequence[str] | None = None) -> list[str]:
    chosen = st.sidebar.multiselect(
        "Methods",
        list(METHODS),
        default=list(default or METHODS),
        format_func=lambda k: METHODS[k].display_name,
        key=key,
        persist_state="session",
    )
    return ordered_methods(chosen)


def sidebar_speed() -> tuple[str, dict[str, dict]]:
    """The speed preset (exact by default, the approximate fast setting one click away) and the user's overrides."""
    options = speed_options()
    speed = st.sidebar.radio(
        "Score-CAM family settings",
        options,
        format_func=lambda k: SPEED_PRESETS[k].label,
        key="camlib_speed",
        horizontal=True,
        persist_state="session",
    )
    st.sidebar.caption(SPEED_PRESETS[speed].description)
    overrides: dict[str, dict] = {}
    with st.sidebar.expander("Method parameters"):
        resolutions = [None, 160, 112, 64]

        def label_of(size: int | None) -> str:
            return "full (224)" if size is None else f"{size}×{size}"

        for method_key in ("scorecam", "gradpp_scorecam"):
            current = effective_param(method_key, "perturbation_size", speed)
            options_here = resolutions if current in resolutions else [*resolutions, current]
            size = st.selectbox(
                f"{METHODS[method_key].display_name}: masked-pass resolution",
                options_here,
                index=options_here.index(current),
                format_func=label_of,
                key=f"camlib_param::{speed}::{method_key}::perturbation_size",
            )
            overrides.setdefault(method_key, {})["perturbation_size"] = size
        score = st.radio(
            "Score-CAM channel weights",
            ["logit", "probability"],
            index=["logit", "probability"].index(effective_param("scorecam", "score", speed)),
            format_func=lambda k: {"logit": "softmax of logit increases", "probability": "class probability (authors' code)"}[k],
            key=f"camlib_param::{speed}::scorecam::score",
        )
        overrides["scorecam"]["score"] = score
        top_k = st.number_input(
            "Grad++ScoreCAM: channels scored (top-k by Grad-CAM++ weight; 0 = all)",
            min_value=0,
            max_value=4096,
            value=int(effective_param("gradpp_scorecam", "top_k", speed) or 0),
            key=f"camlib_param::{speed}::gradpp_scorecam::top_k",
        )
        overrides["gradpp_scorecam"]["top_k"] = int(top_k) or None
        combinations = ["softmax_w", "softmax", "relu_w"]
        overrides["gradpp_scorecam"]["combination"] = st.selectbox(
            "Grad++ScoreCAM: combination of C_k and w_k",
            combinations,
            index=combinations.index(effective_param("gradpp_scorecam", "combination", speed)),
            key=f"camlib_param::{speed}::gradpp_scorecam::combination",
        )
        overrides["smoothgradcampp"] = {
            "n_samples": int(st.slider(
                "SmoothGrad-CAM++: noisy samples", 1, 32,
                int(effective_param("smoothgradcampp", "n_samples", speed)),
                key=f"camlib_param::{speed}::smoothgradcampp::n_samples",
            )),
            "noise_level": float(st.slider(
                "SmoothGrad-CAM++: noise level", 0.0, 0.5,
                float(effective_param("smoothgradcampp", "noise_level", speed)), step=0.01,
                key=f"camlib_param::{speed}::smoothgradcampp::noise_level",
            )),
        }
    return speed, _drop_defaults(overrides, speed)


def _drop_defaults(overrides: dict[str, dict], speed: str) -> dict[str, dict]:
    """Keep only the overrides that differ from the preset, so equal settings share cache entries."""
    kept: dict[str, dict] = {}
    for method_key, params in overrides.items():
        changed = {name: value for name, value in params.items() if value != effective_param(method_key, name, speed)}
        if changed:
            kept[method_key] = changed
    return kept


def sidebar_display() -> tuple[float, str]:
    opacity = st.sidebar.slider("Overlay opacity", 0.0, 1.0, 0.5, 0.05, key="camlib_opacity", persist_state="session")
    colormap = st.sidebar.selectbox("Colormap", list(COLORMAPS), key="camlib_colormap", persist_state="session")
    return opacity, colormap


def grid_cells(count: int, *, columns: int = 4, key: str | None = None) -> list:
    """``count`` empty cells laid out ``columns`` to a row, inside a container named ``key``."""
    holder = st.container(key=key)
    cells = []
    for start in range(0, count, columns):
        row = holder.columns(columns)
        cells.extend(row[index].empty() for index in range(min(columns, count - start)))
    return cells


def fill_method_cells(
    cells: dict[str, object],
    image: ImageInput,
    backbone_key: str,
    weights_path: str | None,
    layer: str,
    target_class: int,
    display_image: np.ndarray,
    *,
    speed: str,
    overrides: dict[str, dict] | None = None,
    opacity: float,
    colormap: str,
) -> dict[str, MethodResult]:
    """Compute each method in cost order and draw its overlay (or its reason) in its cell as it finishes."""
    for method_key, cell in cells.items():
        cell.caption(f"{METHODS[method_key].display_name}: waiting…")
    results: dict[str, MethodResult] = {}
    for method_key in ordered_methods(cells):
        cell = cells[method_key]
        params = method_params(method_key, speed, overrides)
        request = map_request(image, backbone_key, weights_path, layer, target_class, method_key, params)
        if reports_progress(method_key):
            bar = cell.progress(0.0, text=f"{METHODS[method_key].display_name}: starting…")
            started = time.perf_counter()

            def show(done: int, total: int, bar=bar, method_key=method_key, params=params, started=started) -> None:
                elapsed = time.perf_counter() - started
                bar.progress(min(1.0, done / max(total, 1)), text=f"{progress_text(method_key, params, done, total)} · {elapsed:.0f} s")

            result = compute_map_safely(request, image, progress=show)
        else:
            cell.caption(f"{METHODS[method_key].display_name}: computing…")
            result = compute_map_safely(request, image)
        results[method_key] = result
        with cell.container():
            if result.saliency is None:
                st.warning(f"**{result.display_name}**: no map here. {result.error}")
            else:
                st.image(overlay_tile(display_image, result, opacity=opacity, colormap=colormap), caption=tile_caption(result), width="stretch")
            for notice in result.notices:  # e.g. a batch halved after a GPU out-of-memory error
                st.caption(notice)
    return results
