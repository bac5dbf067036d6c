"""Maps: what decides one (:class:`MapRequest`), its cache, and the worker thread that reports its progress.

Maps live in :data:`MAPS`, a cache shared by every session and bounded by count and bytes
(:mod:`camlib.cache_limits`), keyed by the request: a hash of the image bytes, the backbone and its
weights and classes (:class:`~camlib.app.models.ModelChoice`), the layer, the class, the method and its parameters. Methods that report progress (the Score-CAM
family, SmoothGrad-CAM++) run in a worker thread, so that the script thread can draw their progress bar:
a cached function must not itself draw into a container made outside it.
"""

from __future__ import annotations

import inspect
import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PIL import Image

from camlib.app.inputs import ImageInput
from camlib.app.models import ModelChoice, shared_model
from camlib.app.settings import MethodSettings, Params
from camlib import cache_limits
from camlib.backbones import BACKBONES
from camlib.errors import CamlibError
from camlib.explain import MethodResult, run_method
from camlib.lru import BoundedCache
from camlib.measured import Caveat, caveat_notes
from camlib.methods import METHODS, method_info

logger = logging.getLogger(__name__)

MAPS: BoundedCache[MethodResult] = BoundedCache(cache_limits.MAPS, cache_limits.MAPS_BYTES)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class MapRequest:
    """Everything that decides a map: the cache key."""

    image_digest: str
    model: ModelChoice
    layer: str
    target_class: int
    method_key: str
    params: Params = ()
    resolution: int = 224  # the shorter side of the model input; the aspect ratio is kept


def map_request(
    image: ImageInput, model: ModelChoice, layer: str, target_class: int, method_key: str, params: Params, resolution: int = 224,
) -> MapRequest:
    backbone = shared_model(model).backbone
    if method_key == "cam":  # CAM always reads the layer before global average pooling
        layer = backbone.spec.cam_layer or layer
    params = map_params(method_key, params, on_cuda=backbone.device.type == "cuda")
    return MapRequest(image.digest, model, layer, int(target_class), method_key, params, int(resolution))


def map_params(method_key: str, params: Params, *, on_cuda: bool) -> Params:
    """The parameters that change the map: a value equal to the method's default is dropped, and mixed precision
    off a GPU (it only acts on CUDA), so equal settings share one cached map. Fast with every channel measured
    ("channels measured 0") is then the exact map, taken from the cache when the exact one was computed."""
    defaults = inspect.signature(method_info(method_key).method_class.__init__).parameters
    kept = {}
    for name, value in params:
        if name == "mixed_precision" and not on_cuda:
            continue
        if name in defaults and defaults[name].default is not inspect.Parameter.empty and value == defaults[name].default:
            continue
        kept[name] = value
    return tuple(sorted(kept.items()))


def settings_request(
    image: ImageInput, model: ModelChoice, layer: str, target_class: int, method_key: str, settings: MethodSettings,
) -> MapRequest:
    """The request for one method's map under a page's :class:`~camlib.app.settings.MethodSettings`."""
    return map_request(image, model, layer, target_class, method_key, settings.params(method_key), settings.resolution)


def _cached_result(request: MapRequest, _image: Image.Image, _progress: Progress | None = None) -> MethodResult:
    """The request's result from :data:`MAPS` (shared by every session, read-only), computed when absent."""
    return MAPS.get(request, lambda: _computed(request, _image, _progress))


def _computed(request: MapRequest, image: Image.Image, progress: Progress | None) -> MethodResult:
    backbone = shared_model(request.model).backbone
    inputs = backbone.preprocess(image, request.resolution)
    result = run_method(  # no lock: camlib's methods are thread safe on a shared model (see camlib.app.models)
        request.method_key, backbone, inputs, request.target_class,
        layer=request.layer, progress=progress, params=dict(request.params),
    )
    if result.saliency is not None:
        result.saliency.flags.writeable = False  # shared by every session that asks for it
    return result


def compute_map(request: MapRequest, image: ImageInput, progress: Progress | None = None) -> MethodResult:
    """The method's map for the request, from the cache when it is there.

    With ``progress``, the computation runs in a worker thread and ``progress(done, total)`` is called
    from the calling thread, so it may draw Streamlit elements.
    """
    if progress is None:
        return _cached_result(request, image.image)
    updates: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
    outcome: dict[str, object] = {}
    abandoned = threading.Event()  # set when the page stops waiting (Stop): the worker ends at its next progress report

    def report(done: int, total: int) -> None:
        if abandoned.is_set():
            raise MapAbandoned(f"{request.method_key}: stopped after {done} of {total}")
        updates.put((done, total))

    def work() -> None:
        try:
            outcome["result"] = _cached_result(request, image.image, report)
        except BaseException as error:  # noqa: BLE001 - handed to the script thread, which re-raises it
            outcome["error"] = error

    worker = threading.Thread(target=work, name=f"camlib-{request.method_key}", daemon=True)
    _attach_script_context(worker)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(timeout=0.1)
            _report_latest(updates, progress)
        _report_latest(updates, progress)
    except BaseException:  # Stop pressed (Streamlit's StopException at a progress update): free the CPU too
        abandoned.set()
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


class MapAbandoned(Exception):
    """Raised in a map's worker thread when the page stopped waiting for it; nothing is cached."""


def _attach_script_context(thread: threading.Thread) -> None:
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    context = get_script_run_ctx(suppress_warning=True)
    if context is not None:
        add_script_run_ctx(thread, context)


def _report_latest(updates: queue.SimpleQueue, progress: Progress) -> None:
    latest = None
    while not updates.empty():
        latest = updates.get()
    if latest is not None:
        progress(*latest)


def compute_map_safely(request: MapRequest, image: ImageInput, progress: Progress | None = None) -> MethodResult:
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


def progress_text(method_key: str, done: int, total: int) -> str:
    name = method_info(method_key).display_name
    if method_key == "smoothgradcampp":
        return f"{name}: noisy pass {done} of {total}"
    return f"{name}: {done} of {total} channels scored on masked inputs"


def stopped_text(method_key: str, done: int, total: int) -> str:
    """A progress bar's last words after Stop: where it stopped, that there is no map, and how to start again."""
    name = method_info(method_key).display_name
    where = f" after {done} of {total}" if total else ""
    return f"{name}: stopped{where}, no map. Press R (rerun) or change a setting to compute it."


def ordered_methods(keys: Iterable[str]) -> list[str]:
    """Cheap methods first, so they appear before the Score-CAM family."""
    return sorted(dict.fromkeys(keys), key=lambda key: (method_info(key).relative_cost, list(METHODS).index(key)))


def method_results(
    image: ImageInput, model: ModelChoice, layer: str, target_class: int, settings: MethodSettings
) -> dict[str, MethodResult]:
    """Every chosen method's result for one class, from the cache when it is there (e.g. for the common scale)."""
    return {
        key: compute_map_safely(settings_request(image, model, layer, target_class, key, settings), image)
        for key in settings.methods
    }


def shown_caveats(
    method_key: str,
    backbone_key: str,
    layer: str | None,
    weights_path: str | None,
    params: Params | None = None,
    resolution: int | None = None,
) -> list[str]:
    """The sentences of :func:`shown_caveat_notes`."""
    return [note.text for note in shown_caveat_notes(method_key, backbone_key, layer, weights_path, params, resolution)]


def shown_caveat_notes(
    method_key: str,
    backbone_key: str,
    layer: str | None,
    weights_path: str | None,
    params: Params | None = None,
    resolution: int | None = None,
) -> list[Caveat]:
    """The measured notes of a method at this backbone, layer, parameters and resolution (when given): only
    where the screen shows what camlib's benchmark measured; none for the user's own weights or model."""
    if weights_path is not None or backbone_key not in BACKBONES:
        return []
    return caveat_notes(
        method_key,
        backbone_key,
        layer or BACKBONES[backbone_key].default_layer,
        params=dict(params) if params is not None else None,
        resolution=resolution,
    )
