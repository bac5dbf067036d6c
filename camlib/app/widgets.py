"""The Streamlit widgets the pages share: page setup, the sidebar's image, model and method settings, and
the grid of overlays that fills in as each method finishes."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from camlib.app.figures import overlay_tile, tile_caption
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
from camlib.app.models import WEIGHTS_TYPES, SharedModel, device_label, download_weights, save_uploaded_weights, shared_model
from camlib.app.settings import SPEED_PRESETS, Params, changed_params, effective_param, method_params, speed_options
from camlib.backbones import BACKBONES, backbone_spec
from camlib.errors import CamlibError
from camlib.explain import MethodResult
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
    generation = session_state[UPLOADER_GENERATION_KEY] if UPLOADER_GENERATION_KEY in session_state else 0
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


def backbone_label(key: str) -> str:
    return BACKBONES[key].display_name


def weights_path_for(backbone_key: str) -> str | None:
    return st.session_state.get(WEIGHTS_STATE_KEY, {}).get(backbone_key)


def _set_weights_path(backbone_key: str, path: str | None) -> None:
    paths = dict(st.session_state.get(WEIGHTS_STATE_KEY, {}))
    paths[backbone_key] = path
    st.session_state[WEIGHTS_STATE_KEY] = paths


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


# -- methods and display --------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodSettings:
    """The methods chosen (cheapest first), the speed preset and the user's parameter overrides."""

    methods: list[str]
    speed: str
    overrides: dict[str, dict]

    def params(self, method_key: str) -> Params:
        return method_params(method_key, self.speed, self.overrides)


@dataclass(frozen=True)
class Display:
    opacity: float
    colormap: str


def sidebar_method_settings() -> MethodSettings:
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
    return MethodSettings(methods, speed, overrides)


def _sidebar_speed() -> tuple[str, dict[str, dict]]:
    """The speed preset (fast by default, exact one click away) and the user's overrides."""
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
        overrides["scorecam"]["sampled_channels"] = _channel_count_input(
            "Score-CAM: channels measured, the others' scores predicted (0 = all, exact)", "scorecam", "sampled_channels", speed
        )
        overrides["gradpp_scorecam"]["top_k"] = _channel_count_input(
            "Grad++ScoreCAM: channels scored (top-k by Grad-CAM++ weight; 0 = all)", "gradpp_scorecam", "top_k", speed
        )
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
    return speed, changed_params(overrides, speed)


def _channel_count_input(label: str, method_key: str, name: str, speed: str) -> int | None:
    """A number of channels for a method parameter where ``None`` means all of them (0 in the widget)."""
    count = st.number_input(
        label,
        min_value=0,
        max_value=4096,
        value=int(effective_param(method_key, name, speed) or 0),
        key=f"camlib_param::{speed}::{method_key}::{name}",
    )
    return int(count) or None


def sidebar_display() -> Display:
    st.sidebar.header("Display")
    opacity = st.sidebar.slider("Overlay opacity", 0.0, 1.0, 0.5, 0.05, key="camlib_opacity", persist_state="session")
    colormap = st.sidebar.selectbox("Colormap", list(COLORMAPS), key="camlib_colormap", persist_state="session")
    return Display(opacity, colormap)


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
) -> dict[str, MethodResult]:
    """The input, then each chosen method's overlay as it finishes, ``columns`` to a row (all in one row by default)."""
    cells = _grid_cells(len(settings.methods) + 1, columns=columns or len(settings.methods) + 1, key=key)
    cells[0].image(display_image, caption=caption, width="stretch")
    method_cells = dict(zip(settings.methods, cells[1:]))
    for method_key, cell in method_cells.items():
        cell.caption(f"{METHODS[method_key].display_name}: waiting…")
    results: dict[str, MethodResult] = {}
    for method_key in ordered_methods(method_cells):
        cell = method_cells[method_key]
        request = map_request(image, backbone_key, weights_path, layer, target_class, method_key, settings.params(method_key))
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
        results[method_key] = result
        with cell.container():
            if result.saliency is None:
                st.warning(f"**{result.display_name}**: no map here. {result.error}")
            else:
                st.image(overlay_tile(display_image, result, opacity=display.opacity, colormap=display.colormap), caption=tile_caption(result), width="stretch")
            for notice in result.notices:  # e.g. a batch halved after a GPU out-of-memory error
                st.caption(notice)
    return results


def _grid_cells(count: int, *, columns: int, key: str) -> list:
    """``count`` empty cells laid out ``columns`` to a row, inside a container named ``key``."""
    holder = st.container(key=key)
    cells = []
    for start in range(0, count, columns):
        row = holder.columns(columns)
        cells.extend(row[index].empty() for index in range(min(columns, count - start)))
    return cells
