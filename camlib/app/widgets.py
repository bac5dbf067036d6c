"""The Streamlit widgets the pages share: page setup, the sidebar's image, model and method settings, and
the grid of overlays that fills in as each method finishes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from camlib import timings
from camlib.app.figures import COMMON_SCALE_NOTE, OWN_SCALE_NOTE, colorbar_strip, on_common_scale, overlay_tile, tile_caption
from camlib.app.inputs import (
    IMAGE_TYPES,
    IMAGE_UPLOAD_LIMIT_MB,
    ImageInput,
    available_samples,
    read_uploaded_image,
    sample_by_label,
    sample_input,
    upload_limit_text,
)
from camlib.app.maps import compute_map_safely, map_request, ordered_methods, progress_text, reports_progress
from camlib.app.models import (
    WEIGHTS_TYPES,
    SharedModel,
    device_label,
    download_weights,
    layer_options,
    save_uploaded_weights,
    shared_model,
)
from camlib.app.settings import SPEED_PRESETS, Params, changed_params, effective_param, method_params, speed_options
from camlib.backbones import BACKBONES, RESOLUTIONS, backbone_spec
from camlib.errors import CamlibError, WeightsUnavailableError
from camlib.explain import MethodResult
from camlib.figure import SCALE_NOTE, FigureRow, figure_bytes
from camlib.measured import caveats
from camlib.methods import METHODS
from camlib.render import COLORMAPS

# The pages, in the sidebar's order. Streamlit's own page list is hidden (client.showSidebarNavigation),
# so that the main page is called "Compare methods" rather than after its file.
NAVIGATION = (
    ("app.py", "Compare methods", ":material/local_fire_department:"),
    ("pages/compare_backbones.py", "Compare backbones", ":material/view_module:"),
    ("pages/multiple_objects.py", "Multiple objects", ":material/pets:"),
    ("pages/faithfulness.py", "Faithfulness", ":material/trending_down:"),
    ("pages/how_the_methods_work.py", "How the methods work", ":material/school:"),
)

# Session-state keys shared by the pages.
SAMPLE_KEY = "camlib_sample"
UPLOADER_KEY = "camlib_uploader"  # with a generation number: see uploader_key()
UPLOADER_GENERATION_KEY = "camlib_uploader_generation"
UPLOAD_STATE_KEY = "camlib_uploaded_image"  # (file name, bytes) of the last upload; survives page switches
WEIGHTS_STATE_KEY = "camlib_weights_paths"  # backbone key -> state-dict path chosen in this session
SERVER_WEIGHTS_ENV = "CAMLIB_APP_SERVER_WEIGHTS"  # "1": offer a box for a state-dict path on the server


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


def sidebar_device() -> None:
    st.sidebar.divider()
    st.sidebar.caption(f"Device: **{device_label()}**")


# -- the image ------------------------------------------------------------------------------------


def uploader_key() -> str:
    """The image uploader's current key: it changes after each upload, so the box is always empty and ready."""
    return uploader_key_in(st.session_state)


def uploader_key_in(session_state) -> str:
    """:func:`uploader_key` for a given session state (e.g. an AppTest's)."""
    generation = session_state[UPLOADER_GENERATION_KEY] if UPLOADER_GENERATION_KEY in session_state else 0  # noqa: SIM401 - an AppTest state has no .get
    return f"{UPLOADER_KEY}::{generation}"


def _empty_the_uploader() -> None:
    st.session_state[UPLOADER_GENERATION_KEY] = st.session_state.get(UPLOADER_GENERATION_KEY, 0) + 1


def _take_upload() -> None:
    """Keep the uploaded file in the session and give the box a fresh key.

    The box then holds no file: choosing a sample is never overridden by a file left in it, no refused
    or stale chip stays beside it, and a new upload arrives as one change (never "file removed", then
    the default sample, then the new file).
    """
    uploaded = st.session_state.get(uploader_key())
    if uploaded is not None:
        st.session_state[UPLOAD_STATE_KEY] = (uploaded.name, uploaded.getvalue())
        _empty_the_uploader()


def _forget_upload() -> None:
    st.session_state[UPLOAD_STATE_KEY] = None


def use_sample(label: str) -> None:
    """Make ``label`` the current image (a button callback)."""
    st.session_state[SAMPLE_KEY] = label
    _forget_upload()


def image_uploader(label: str, *, key: str, container=st, **options):
    """A file uploader for images, with the upload limit and its statement."""
    return container.file_uploader(
        label, type=IMAGE_TYPES, key=key, max_upload_size=IMAGE_UPLOAD_LIMIT_MB, help=f"Upload limit: {upload_limit_text()}.", **options
    )


def sidebar_image() -> ImageInput:
    """The current image: the last upload of this session, else the chosen sample.

    An unreadable upload shows its reason with ``st.error`` and stops the script; the sample box and the
    empty uploader above it stay usable, so the user is never stuck on the error.
    """
    sidebar = st.sidebar
    sidebar.header("Image")
    labels = [sample.label for sample in available_samples()]
    if st.session_state.get(SAMPLE_KEY) not in labels:
        st.session_state.pop(SAMPLE_KEY, None)
    label = sidebar.selectbox("Sample image", labels, key=SAMPLE_KEY, on_change=_forget_upload, persist_state="session")
    image_uploader(
        "…or upload your own (PNG, JPEG, WebP, BMP, GIF, TIFF)", key=uploader_key(), container=sidebar, on_change=_take_upload
    )
    sidebar.caption(f"Upload limit: {upload_limit_text()}.")
    stored = st.session_state.get(UPLOAD_STATE_KEY)
    if not stored:
        return sample_input(sample_by_label(label))
    name, data = stored
    sidebar.caption(f"Explaining your upload **{name}**.")
    sidebar.button("Use the sample instead", on_click=_forget_upload, key="camlib_use_sample")
    image, error = read_uploaded_image(data, name)
    if error:
        st.error(error)
        st.info("Upload another image, or pick a sample in the sidebar.")
        st.stop()
    for note in image.notes:
        sidebar.info(note)
    return image


# -- the model ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageAndModel:
    """What the sidebar chose: the image, and the backbone with the weights this session uses for it."""

    image: ImageInput
    backbone_key: str
    model: SharedModel
    weights_path: str | None

    @property
    def class_names(self) -> Sequence[str]:
        return self.model.backbone.class_names


def sidebar_image_and_model() -> ImageAndModel:
    """The image and the backbone chosen in the sidebar; stops the script after saying why when either is unusable."""
    image = sidebar_image()
    st.sidebar.header("Model")
    backbone_key = st.sidebar.selectbox(
        "Backbone", list(BACKBONES), format_func=backbone_label, key="camlib_backbone", persist_state="session"
    )
    model = load_model_or_explain(backbone_key)
    if model is None:
        sidebar_device()
        st.stop()
    return ImageAndModel(image, backbone_key, model, weights_path_for(backbone_key))


def sidebar_layer(chosen: ImageAndModel) -> str:
    """The target layer; one key per backbone, kept for the session across every page that shows it."""
    return st.sidebar.selectbox(
        "Target layer", layer_options(chosen.model), key=f"camlib_layer::{chosen.backbone_key}", persist_state="session",
        help="The first entries are presets; type to find any layer by its dotted name.",
    )


def backbone_label(key: str) -> str:
    return BACKBONES[key].display_name


def weights_path_for(backbone_key: str) -> str | None:
    return st.session_state.get(WEIGHTS_STATE_KEY, {}).get(backbone_key)


def _set_weights_path(backbone_key: str, path: str | None) -> None:
    paths = dict(st.session_state.get(WEIGHTS_STATE_KEY, {}))
    paths[backbone_key] = path
    st.session_state[WEIGHTS_STATE_KEY] = paths


def server_weights_enabled() -> bool:
    """Whether the "file on the server" box is shown: only when the operator sets CAMLIB_APP_SERVER_WEIGHTS=1,
    since it lets a visitor probe which files exist on the server."""
    return os.environ.get(SERVER_WEIGHTS_ENV, "") in ("1", "true", "yes")


def load_model_or_explain(backbone_key: str, container=None) -> SharedModel | None:
    """The shared model, or ``None`` after one compact line and a "how to add weights" expander."""
    container = container or st.container()
    try:
        with st.spinner(f"Loading {backbone_label(backbone_key)}…"):
            return shared_model(backbone_key, weights_path_for(backbone_key))
    except WeightsUnavailableError:
        container.markdown(f":material/cloud_off: **{backbone_label(backbone_key)}** has no weights on this server yet.")
    except CamlibError as error:  # e.g. an uploaded file that is not a state dict of this backbone
        container.warning(str(error))
    weights_form(backbone_key, container)
    return None


def weights_form(backbone_key: str, container) -> None:
    """How to add a backbone's weights, for people using the app in a browser: upload, download, or ask the operator."""
    spec = backbone_spec(backbone_key)
    with container.expander(f"How to add weights for {spec.display_name}", expanded=False):
        uploaded = st.file_uploader(
            f"Upload a {spec.display_name} state dict (.pth or .pt, as saved by torch.save(model.state_dict()))",
            type=WEIGHTS_TYPES,
            key=f"weights_upload::{backbone_key}",
            max_upload_size=st.get_option("server.maxUploadSize"),
            help=f"Upload limit: {st.get_option('server.maxUploadSize')} MB. Read with weights_only=True: no code in it runs.",
        )
        if uploaded is not None and st.button(f"Use {uploaded.name}", key=f"weights_load::{backbone_key}"):
            _try_weights(backbone_key, str(save_uploaded_weights(backbone_key, uploaded.getvalue(), uploaded.name)))
        if spec.torchvision_weights is not None and st.button(
            "Download torchvision's weights to this server (needs internet there)", key=f"weights_download::{backbone_key}"
        ):
            try:
                with st.spinner("Downloading…"):
                    download_weights(backbone_key)
            except CamlibError:
                st.warning("The download failed: this server may have no internet access. Upload the file instead.")
            else:
                _set_weights_path(backbone_key, None)
                st.rerun()
        if spec.weights_file is not None:
            st.caption(
                f"Running the app yourself? Put **{spec.weights_file.name}** in the server's torch cache "
                f"(`$TORCH_HOME/hub/checkpoints`) and reload the page."
            )
        if server_weights_enabled():
            path = st.text_input(f"Path to a {spec.display_name} state-dict file on the server", key=f"weights_path::{backbone_key}")
            if st.button("Use this file", key=f"weights_use::{backbone_key}", disabled=not path):
                _try_weights(backbone_key, str(Path(path).expanduser()))


def _try_weights(backbone_key: str, path: str) -> None:
    try:
        with st.spinner(f"Loading {Path(path).name}…"):
            shared_model(backbone_key, path)
    except CamlibError as error:
        st.warning(str(error))
    else:
        _set_weights_path(backbone_key, path)
        st.rerun()


# -- methods and display --------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodSettings:
    """The methods chosen (cheapest first), the speed preset, the user's parameter overrides and the resolution."""

    methods: list[str]
    speed: str
    overrides: dict[str, dict]
    resolution: int = 224  # the shorter side of the model input, in pixels

    def params(self, method_key: str) -> Params:
        return method_params(method_key, self.speed, self.overrides)

    def label(self) -> str:
        """The setting as the header and the exported figures name it, with any changed parameter."""
        text = SPEED_PRESETS[self.speed].label
        changes = [f"{METHODS[key].display_name} {PARAM_LABELS.get(name, name)} = {value_label(name, value)}"
                   for key, params in self.overrides.items() for name, value in params.items()]
        return f"{text}, changed: {'; '.join(changes)}" if changes else text


@dataclass(frozen=True)
class Display:
    opacity: float
    colormap: str


# Plain names for the parameters people can change (the header and figures name changes with these).
PARAM_LABELS = {
    "perturbation_size": "masked-pass size",
    "score": "channel score",
    "sampled_channels": "channels measured",
    "top_k": "channels scored",
    "combination": "combination",
    "n_samples": "noisy samples",
    "noise_level": "noise level",
}
COMBINATION_LABELS = {
    "softmax_w": "softmax(C_k) × w_k / max w (default)",
    "softmax": "softmax(C_k) only: Score-CAM on the chosen channels",
    "relu_w": "ReLU(C_k) × w_k / max w",
}
SCORE_LABELS = {"logit": "softmax of the logit increases", "probability": "class probability (authors' code)"}
FULL_SIZE = 0  # the masked-pass size that means "the input's own size" (None in camlib)


def value_label(name: str, value) -> str:
    if name == "perturbation_size":
        return "the input's" if value is None else f"{value} px"
    if name in ("sampled_channels", "top_k") and value is None:
        return "all"
    return {**COMBINATION_LABELS, **SCORE_LABELS}.get(value, str(value)) if isinstance(value, str) else str(value)


def sidebar_method_settings(resolution: int = 224) -> MethodSettings:
    """The methods and the speed, for maps at ``resolution`` (from :func:`sidebar_resolution`)."""
    st.sidebar.header("Methods")
    methods = ordered_methods(st.sidebar.multiselect(
        "Methods",
        list(METHODS),
        default=list(METHODS),
        format_func=lambda k: METHODS[k].display_name,
        key="camlib_methods",
        persist_state="session",
    ))
    speed, overrides = _sidebar_speed()
    return MethodSettings(methods, speed, overrides, resolution)


def sidebar_resolution(default: int = 224, key: str = "camlib_resolution") -> int:
    """The resolution radio (a key per page, so "Multiple objects" can default to 448 and keep its own choice)."""
    resolution = st.sidebar.radio(
        "Resolution (the image's shorter side)", list(RESOLUTIONS), index=list(RESOLUTIONS).index(default),
        format_func=lambda r: f"{r} px", key=key, horizontal=True, persist_state="session",
        help="The image keeps its shape: its shorter side is resized to this, the longer side follows (at most twice "
        "the shorter). A larger input gives a finer last feature map, so finer maps, at a higher cost.",
    )
    measured = [f"{r} px: {timings.seconds_text(timings.resolution_seconds(r))}" for r in RESOLUTIONS if timings.resolution_seconds(r)]
    if measured:
        st.sidebar.caption(f"All six methods at Fast, measured on {timings.THREADS} threads of an idle 2-core CPU: " + ", ".join(measured) + ".")
    return int(resolution)


def _sidebar_speed() -> tuple[str, dict[str, dict]]:
    """The speed preset (fast by default, exact one click away) and the user's overrides.

    Every widget keeps its value for the whole session (``persist_state``), across pages.
    """
    speed = st.sidebar.radio(
        "Score-CAM family settings",
        speed_options(),
        format_func=lambda k: SPEED_PRESETS[k].label,
        key="camlib_speed",
        horizontal=True,
        persist_state="session",
    )
    st.sidebar.caption(SPEED_PRESETS[speed].description)
    overrides: dict[str, dict] = {}

    def key_of(method_key: str, name: str) -> str:
        return f"camlib_param::{speed}::{method_key}::{name}"

    with st.sidebar.expander("Method parameters"):
        sizes = [FULL_SIZE, 160, 112, 64]
        for method_key in ("scorecam", "gradpp_scorecam"):
            current = effective_param(method_key, "perturbation_size", speed) or FULL_SIZE
            options_here = sizes if current in sizes else [*sizes, current]
            size = st.selectbox(
                f"{METHODS[method_key].display_name}: size of the masked passes (shorter side)",
                options_here,
                index=options_here.index(current),
                format_func=lambda size: "the input's own size (exact)" if size == FULL_SIZE else f"{size} px",
                key=key_of(method_key, "perturbation_size"), persist_state="session",
                help="Each masked image is scored at this size: smaller is faster but approximate.",
            )
            overrides.setdefault(method_key, {})["perturbation_size"] = size or None
        overrides["scorecam"]["score"] = st.radio(
            "Score-CAM: channel score",
            list(SCORE_LABELS),
            index=list(SCORE_LABELS).index(effective_param("scorecam", "score", speed)),
            format_func=SCORE_LABELS.get,
            key=key_of("scorecam", "score"), persist_state="session",
        )
        overrides["scorecam"]["sampled_channels"] = _channel_count_input(
            "Score-CAM: channels measured, the others' scores predicted (0 = all, exact)", "scorecam", "sampled_channels", speed
        )
        overrides["gradpp_scorecam"]["top_k"] = _channel_count_input(
            "Grad++ScoreCAM: channels scored, the top ones by Grad-CAM++ weight (0 = all)", "gradpp_scorecam", "top_k", speed
        )
        overrides["gradpp_scorecam"]["combination"] = st.selectbox(
            "Grad++ScoreCAM: how a channel's score C_k and gradient weight w_k combine",
            list(COMBINATION_LABELS),
            index=list(COMBINATION_LABELS).index(effective_param("gradpp_scorecam", "combination", speed)),
            format_func=COMBINATION_LABELS.get,
            key=key_of("gradpp_scorecam", "combination"), persist_state="session",
        )
        overrides["smoothgradcampp"] = {
            "n_samples": int(st.slider(
                "SmoothGrad-CAM++: noisy copies averaged", 1, 32,
                int(effective_param("smoothgradcampp", "n_samples", speed)),
                key=key_of("smoothgradcampp", "n_samples"), persist_state="session",
            )),
            "noise_level": float(st.slider(
                "SmoothGrad-CAM++: noise level (share of the input's range)", 0.0, 0.5,
                float(effective_param("smoothgradcampp", "noise_level", speed)), step=0.01,
                key=key_of("smoothgradcampp", "noise_level"), persist_state="session",
            )),
        }
    return speed, changed_params(overrides, speed)


def _channel_count_input(label: str, method_key: str, name: str, speed: str) -> int | None:
    """A number of channels for a method parameter where ``None`` means all of them (0 in the widget)."""
    count = st.number_input(
        label,
        min_value=0,
        max_value=4096,
        value=int(effective_param(method_key, name, speed) or 0),
        key=f"camlib_param::{speed}::{method_key}::{name}",
        persist_state="session",
    )
    return int(count) or None


def sidebar_display() -> Display:
    st.sidebar.header("Display")
    opacity = st.sidebar.slider("Overlay opacity", 0.0, 1.0, 0.5, 0.05, key="camlib_opacity", persist_state="session")
    colormap = st.sidebar.selectbox("Colormap", list(COLORMAPS), key="camlib_colormap", persist_state="session")
    return Display(opacity, colormap)


def how_to_read(text: str) -> None:
    """The page's short "how to read this", folded away."""
    with st.expander("How to read this", icon=":material/help:"):
        st.markdown(text)


# -- the grid of overlays -------------------------------------------------------------------------


def overlay_grid(
    image: ImageInput,
    display_image: np.ndarray,
    caption: str,
    *,
    backbone_key: str,
    weights_path: str | None,
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
    overlay is drawn on that common scale instead of its own (see :func:`camlib.app.figures.on_common_scale`).
    """
    cells = _grid_cells(len(settings.methods) + 1, columns=columns or len(settings.methods) + 1, key=key)
    cells[0].image(display_image, caption=caption, width="stretch")
    method_cells = dict(zip(settings.methods, cells[1:]))
    for method_key, cell in method_cells.items():
        cell.caption(f"{METHODS[method_key].display_name}: waiting…")
    results: dict[str, MethodResult] = {}
    for method_key in ordered_methods(method_cells):
        cell = method_cells[method_key]
        request = map_request(
            image, backbone_key, weights_path, layer, target_class, method_key, settings.params(method_key), settings.resolution
        )
        if reports_progress(method_key):
            bar = cell.progress(0.0, text=f"{METHODS[method_key].display_name}: starting…")
            started = time.perf_counter()

            def show(done: int, total: int, bar=bar, method_key=method_key, started=started) -> None:
                elapsed = time.perf_counter() - started
                bar.progress(min(1.0, done / max(total, 1)), text=f"{progress_text(method_key, done, total)} · {elapsed:.0f} s")

            result = compute_map_safely(request, image, progress=show)
        else:
            cell.caption(f"{METHODS[method_key].display_name}: computing…")
            result = compute_map_safely(request, image)
        if common_maxima is not None and result.saliency is not None:
            result = on_common_scale(result, common_maxima.get(method_key))
        results[method_key] = result
        with cell.container():
            if result.saliency is None:
                st.warning(f"**{result.display_name}**: no map here. {result.error}")
            else:
                st.image(overlay_tile(display_image, result, opacity=display.opacity, colormap=display.colormap), caption=tile_caption(result), width="stretch")
            for notice in result.notices:  # e.g. a batch halved after a GPU out-of-memory error
                st.caption(notice)
            if weights_path is None:  # the findings were measured with the shipped weights
                for caveat in caveats(method_key, backbone_key, layer or BACKBONES[backbone_key].default_layer):
                    st.caption(f"⚠ {caveat}")
    return results


def _grid_cells(count: int, *, columns: int, key: str) -> list:
    """``count`` empty cells laid out ``columns`` to a row, inside a container named ``key``."""
    holder = st.container(key=key)
    cells = []
    for start in range(0, count, columns):
        row = holder.columns(columns)
        cells.extend(row[index].empty() for index in range(min(columns, count - start)))
    return cells


def colour_scale(display: Display, *, common: bool = False) -> None:
    """One colour bar for the grid above it, and what its values mean."""
    left, right = st.columns([1, 2])
    left.image(colorbar_strip(display.colormap), width="stretch")
    left.caption("0 ← map value → 1")
    right.caption(COMMON_SCALE_NOTE if common else OWN_SCALE_NOTE)


def figure_downloads(rows: Callable[[], list[FigureRow]], *, title: str, stem: str, key: str, display: Display,
                     scale_note: str = SCALE_NOTE) -> None:
    """Download buttons for the figure (PNG at 200 dpi and SVG), drawn only when clicked."""
    first, second = st.columns(2)
    for column, file_format, mime in ((first, "png", "image/png"), (second, "svg", "image/svg+xml")):
        column.download_button(
            f"Download the figure ({file_format.upper()}{', 200 dpi' if file_format == 'png' else ', vector'})",
            lambda file_format=file_format: figure_bytes(rows(), title=title, colormap=display.colormap, opacity=display.opacity,
                                                         scale_note=scale_note, file_format=file_format),
            file_name=f"camlib_figure_{stem}.{file_format}", mime=mime, on_click="ignore", key=f"{key}_{file_format}",
        )
