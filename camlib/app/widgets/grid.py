"""The grid of overlays that fills in as each method finishes, one row of it per class, and the single-map inspector."""

from __future__ import annotations

import threading
import time

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

from camlib.app.badges import BADGE_KEY, Badge, badge_details, badge_line, benchmark_badges, cam_layer_badge, same_map_badge
from camlib.app.compare import same_maps
from camlib.app.plots_and_downloads import class_label, common_maxima, figure_row, heatmap_figure, on_common_scale, overlay_tile, tile_caption
from camlib.app.inputs import ImageInput
from camlib.app.map_requests import (
    MapRequest,
    compute_map_safely,
    method_results,
    ordered_methods,
    progress_text,
    reports_progress,
    settings_request,
    shown_caveat_notes,
    stopped_text,
)
from camlib.app.models import ModelChoice, class_probability, shared_model
from camlib.app.settings import MethodSettings
from camlib.app.widgets.display import Display
from camlib.app.widgets.model import ImageAndModel
from camlib.explain import MethodResult, input_title
from camlib.publication_figures import FigureRow
from camlib.methods import METHODS


def overlay_grid(
    image: ImageInput,
    display_image: np.ndarray,
    caption: str,
    *,
    model: ModelChoice,
    layer: str,
    target_class: int,
    settings: MethodSettings,
    display: Display,
    key: str,
    columns: int | None = None,
    common_maxima: dict[str, float] | None = None,
) -> dict[str, MethodResult]:
    """The input, then each chosen method's overlay as it finishes, ``columns`` to a row (all in one row by default).

    With ``common_maxima`` (method key -> the largest raw map value over the rows being compared), each
    overlay is drawn on that common scale instead of its own (see :func:`camlib.app.plots_and_downloads.on_common_scale`).
    """
    cells = _grid_cells(len(settings.methods) + 1, columns=columns or len(settings.methods) + 1, key=key)
    cells[0].image(display_image, caption=caption, width="stretch")
    method_cells = dict(zip(settings.methods, cells[1:]))
    for method_key, cell in method_cells.items():
        cell.caption(f"{METHODS[method_key].display_name}: waiting…")
    results: dict[str, MethodResult] = {}
    badges: dict[str, list[Badge]] = {}
    for method_key in ordered_methods(method_cells):
        cell = method_cells[method_key]
        request = settings_request(image, model, layer, target_class, method_key, settings)
        result = _compute_in_cell(cell, request, image)
        if common_maxima is not None:
            result = on_common_scale(result, common_maxima.get(method_key))
        results[method_key] = result
        badges[method_key] = _cell_badges(method_key, model, layer, settings)
        _show_result(cell, display_image, result, display, badges[method_key])
    _badge_same_maps(method_cells, display_image, results, display, badges)
    return {key: results[key] for key in method_cells}


def _cell_badges(method_key: str, model: ModelChoice, layer: str, settings: MethodSettings) -> list[Badge]:
    """The badges under a method's map: CAM's fixed layer, then what camlib's benchmark measured at this very setting."""
    measured = benchmark_badges(shown_caveat_notes(method_key, model.spec, layer, model.weights,
                                                   settings.params(method_key), settings.resolution))
    if method_key == "cam" and (fixed := cam_layer_badge(layer, shared_model(model).backbone.spec.cam_layer)):
        return [fixed, *measured]
    return measured


def _badge_same_maps(method_cells: dict, display_image: np.ndarray, results: dict[str, MethodResult], display: Display,
                     badges: dict[str, list[Badge]]) -> None:
    """Redraw each map that equals an earlier one's with its badge ("= Grad-CAM") first."""
    names = {key: METHODS[key].display_name for key in method_cells}
    shown = {key: results[key].saliency for key in method_cells if key in results}
    for key, same in same_maps(shown).items():
        _show_result(method_cells[key], display_image, results[key], display, [same_map_badge(same, names), *badges[key]])


def _grid_cells(count: int, *, columns: int, key: str) -> list:
    """``count`` empty cells laid out ``columns`` to a row, inside a container named ``key``."""
    holder = st.container(key=key)
    cells = []
    for start in range(0, count, columns):
        row = holder.columns(columns)
        cells.extend(row[index].empty() for index in range(min(columns, count - start)))
    return cells


def _compute_in_cell(cell, request: MapRequest, image: ImageInput) -> MethodResult:
    """The map, with a progress bar in its cell for the methods that report progress, else a "computing…" line."""
    method_key = request.method_key
    if not reports_progress(method_key):
        cell.caption(f"{METHODS[method_key].display_name}: computing…")
        return compute_map_safely(request, image)
    bar = cell.progress(0.0, text=f"{METHODS[method_key].display_name}: starting…")
    started = time.perf_counter()
    latest = {"done": 0, "total": 0}

    def show(done: int, total: int) -> None:
        latest.update(done=done, total=total)
        elapsed = time.perf_counter() - started
        bar.progress(min(1.0, done / max(total, 1)), text=f"{progress_text(method_key, done, total)} · {elapsed:.0f} s")

    try:
        return compute_map_safely(request, image, progress=show)
    except StopException:
        text = stopped_text(method_key, latest["done"], latest["total"])
        after_stop(lambda: bar.progress(min(1.0, latest["done"] / max(latest["total"], 1)), text=text))
        raise


def after_stop(draw) -> None:
    """Draw once more after Stop: the script thread may send nothing then, so ``draw`` runs in a helper thread with the
    page's context, before the run ends."""
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    helper = threading.Thread(target=draw, name="camlib-after-stop", daemon=True)
    add_script_run_ctx(helper, get_script_run_ctx(suppress_warning=True))
    helper.start()
    helper.join(timeout=5)


def _show_result(cell, display_image: np.ndarray, result: MethodResult, display: Display, badges: list[Badge]) -> None:
    """The overlay and its caption (or why there is no map), any notice of the run, and one line of badges whose
    details are one click away: never more than two lines of text under a map."""
    with cell.container():
        if result.saliency is None:
            st.warning(f"**{result.display_name}**: no map here. {result.error}")
        else:
            st.image(overlay_tile(display_image, result, opacity=display.opacity, colormap=display.colormap),
                     caption=tile_caption(result), width="stretch")
        for notice in result.notices:  # e.g. a batch halved after a GPU out-of-memory error
            st.caption(notice)
        if badges:
            with st.popover(badge_line(badges), type="tertiary", width="stretch",
                            help="What each badge is about (this photo, the method, or camlib's benchmark at this setting), "
                            "with its figure, interval and reason"):
                for line in badge_details(badges):
                    st.caption(line)
                st.caption(BADGE_KEY)


def class_row(
    chosen: ImageAndModel, photo: ImageInput, target_class: int, *, layer: str, settings: MethodSettings, display: Display,
    key: str, common_maxima: dict[str, float] | None = None,
) -> tuple[FigureRow, dict[str, MethodResult]]:
    """One class's row of the grid, its input captioned as the input with the class its maps are for and the model's
    probability for it ("Input · maps for tabby (281) 48%");
    returns the row for the exported figure and the results."""
    probability = class_probability(photo.digest, chosen.choice, photo.image, settings.resolution, target_class)
    label = class_label(chosen.class_names, target_class, probability)
    display_image = chosen.model.backbone.display_image(photo.image, settings.resolution)
    results = overlay_grid(
        photo, display_image, input_title(label), model=chosen.choice, layer=layer,
        target_class=target_class, settings=settings, display=display, key=key, common_maxima=common_maxima,
    )
    return figure_row(label, display_image, results), results


def common_maxima_for(chosen: ImageAndModel, photo: ImageInput, classes: list[int], *, layer: str,
                      settings: MethodSettings, wanted: bool) -> dict[str, float] | None:
    """Per method, the largest raw value over the classes' maps (computed first, with a spinner): the common scale;
    ``None`` (each map on its own scale) unless ``wanted`` and there are classes."""
    if not (wanted and classes):
        return None
    with st.spinner("Computing every class's maps for the common scale…"):
        return common_maxima([
            method_results(photo, chosen.choice, layer, target_class, settings) for target_class in classes
        ])


def map_inspector(results: dict[str, MethodResult], display_image: np.ndarray, display: Display, methods: list[str],
                  default: int) -> None:
    """One method's overlay beside its interactive heatmap, for the methods in ``methods`` (those with a map)."""
    inspected = st.selectbox("Method", methods, index=default, format_func=lambda k: METHODS[k].display_name, key="camlib_inspect")
    left, right = st.columns([2, 3])
    left.image(overlay_tile(display_image, results[inspected], opacity=display.opacity, colormap=display.colormap),
               caption=tile_caption(results[inspected]), width="stretch")
    right.plotly_chart(
        heatmap_figure(results[inspected].saliency, colormap=display.colormap, title=f"{METHODS[inspected].display_name}: hover for values"),
        key="heatmap",
    )
