"""Explain one image with several methods: the entry point shared by the CLI and the app."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from camlib.backbones import Backbone
from camlib.baselines import BASELINES, baseline_map, is_baseline
from camlib.errors import CamlibError, InvalidParameterError, MethodNotApplicableError
from camlib.methods import PAPER_METHODS, BaseCAM, ProgressCallback, method_info, parse_method_list
from camlib.methods.registry import validate_method_params, validate_params_for_methods
from camlib.overlays import grid, message_tile, overlay


def build_method(
    key: str,
    backbone: Backbone,
    *,
    layer: str | None = None,
    progress: ProgressCallback | None = None,
    **params,
) -> BaseCAM:
    """Create method ``key`` for ``backbone`` at ``layer`` (default: the backbone's preset).

    CAM always uses the layer that feeds the backbone's global average pooling, where it is defined,
    and raises :class:`MethodNotApplicableError` on backbones without such a head.
    """
    info = method_info(key)
    params = validate_method_params(key, params)
    spec = backbone.spec
    if key == "cam":
        if not spec.supports_cam:
            raise MethodNotApplicableError(spec.cam_unavailable_reason)
        return info.method_class(
            backbone.model, spec.cam_layer, classifier_layer=spec.cam_classifier, progress=progress, **params
        )
    return info.method_class(backbone.model, layer or spec.default_layer, progress=progress, **params)


def compute_map(
    key: str, backbone: Backbone, inputs, target_class: int, *, layer: str | None = None, params: dict | None = None
) -> np.ndarray:
    """One (H, W) map in [0, 1] for ``inputs`` (1, 3, H, W): a method's, or a baseline's
    (:mod:`camlib.baselines`, which ignores the model). Raises :class:`CamlibError` when it cannot run."""
    if is_baseline(key):
        return baseline_map(key, *inputs.shape[-2:])
    return build_method(key, backbone, layer=layer, **(params or {}))(inputs, [target_class])[0]


def display_name(key: str) -> str:
    """The name people read for a method or a baseline key."""
    return BASELINES[key] if is_baseline(key) else method_info(key).display_name


@dataclass
class MethodResult:
    key: str
    display_name: str
    saliency: np.ndarray | None  # (H, W) float32 in [0, 1]
    seconds: float
    error: str | None = None
    notices: tuple[str, ...] = ()  # things the user should know, e.g. a batch halved after a GPU OOM
    raw_range: tuple[float, float] | None = None  # the map's (min, max) before normalisation, in the method's units


def input_title(target_name: str) -> str:
    """The input tile's title: the photo is the input, and the maps beside it are for ``target_name`` (never a caption
    that calls the photo by the class explained, e.g. "Input: golden retriever" under an eagle)."""
    return f"Input · maps for {target_name}"


@dataclass
class Explanation:
    image: np.ndarray  # (H, W, 3) uint8: the input as the model saw it
    target_class: int
    target_name: str
    top_predictions: list[tuple[int, str, float]]
    layer: str
    results: dict[str, MethodResult] = field(default_factory=dict)

    def maps(self) -> dict[str, np.ndarray]:
        """The raw maps of the methods that ran, keyed by method key."""
        return {key: result.saliency for key, result in self.results.items() if result.saliency is not None}

    def grid(self, *, opacity: float = 0.5, colormap: str = "jet", columns: int | None = None) -> np.ndarray:
        """The input and one titled overlay per method, as one RGB image (the paper's Fig. 2)."""
        size = self.image.shape[:2]
        tiles = [(input_title(self.target_name), self.image)]
        for result in self.results.values():
            if result.saliency is None:
                tiles.append((f"{result.display_name}: n/a", message_tile(result.error or "", size)))
            else:
                tile = overlay(self.image, result.saliency, opacity=opacity, colormap=colormap)
                tiles.append((f"{result.display_name} {result.seconds:.2f}s", tile))
        return grid(tiles, columns=columns)


def run_method(
    key: str,
    backbone: Backbone,
    inputs,
    target_class: int,
    *,
    layer: str | None = None,
    progress: ProgressCallback | None = None,
    params: dict | None = None,
) -> MethodResult:
    """Run one method on preprocessed inputs; a method that cannot run gives its reason, not an exception."""
    display_name = method_info(key).display_name
    start = time.perf_counter()
    try:
        method = build_method(key, backbone, layer=layer, progress=progress, **(params or {}))
        saliency = method(inputs, [target_class])[0]
    except CamlibError as error:
        return MethodResult(key, display_name, None, time.perf_counter() - start, str(error))
    raw_range = method.raw_ranges[0] if method.raw_ranges else None
    return MethodResult(
        key, display_name, saliency, time.perf_counter() - start, notices=tuple(method.notices), raw_range=raw_range
    )


def explain(
    backbone: Backbone,
    image: Image.Image,
    *,
    methods: Iterable[str] = PAPER_METHODS,
    target: int | str | None = None,
    layer: str | None = None,
    method_params: dict[str, dict] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    resolution: int | None = None,
) -> Explanation:
    """Explain ``image`` with each of ``methods`` for class ``target`` (index or name; default top-1).

    ``progress(method_key, done, total)`` reports the masked passes of the Score-CAM family.
    ``resolution`` is the shorter side of the model input (default: the backbone's, 224); the aspect
    ratio is kept (see :func:`camlib.backbones.model_input_size`), and so are the maps' proportions.
    """
    methods = parse_method_list(methods) if isinstance(methods, str) else list(methods)
    for key in methods:
        method_info(key)
    method_params = validate_params_for_methods(methods, method_params)
    if not isinstance(image, Image.Image):
        raise InvalidParameterError(f"explain takes a PIL image (camlib.load_image reads a file), not {type(image).__name__}.")
    inputs = backbone.preprocess(image, resolution)
    top = backbone.top_predictions(inputs, k=min(5, len(backbone.class_names)))
    target_class = top[0][0] if target is None else backbone.class_index(target)
    explanation = Explanation(
        image=backbone.display_image(image, resolution),
        target_class=target_class,
        target_name=backbone.class_names[target_class],
        top_predictions=top,
        layer=layer or backbone.spec.default_layer,
    )
    for key in methods:
        method_progress = (lambda done, total, key=key: progress(key, done, total)) if progress else None
        result = run_method(
            key, backbone, inputs, target_class, layer=layer, progress=method_progress, params=(method_params or {}).get(key)
        )
        if result.saliency is not None:  # a fixed-size model's map comes back at the photo's proportions
            result.saliency = backbone.map_for_display(result.saliency, explanation.image.shape[:2])
        explanation.results[key] = result
    return explanation
