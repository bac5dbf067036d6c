"""The model panel: the model box (built-in backbones, the models file's named models, this session's uploads),
the form that loads a visitor's own model, the target-layer box, and the form that adds a backbone's weights."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from camlib.app import catalogue, layers, uploads
from camlib.app.catalogue import WEIGHTS_STATE_KEY
from camlib.app.inputs import ImageInput
from camlib.app.models import ModelChoice, SharedModel, display_name, download_weights, shared_model, top_predictions
from camlib.app.widgets.image import sidebar_image, stop_page
from camlib.app.widgets.page import sidebar_device
from camlib.backbones import BACKBONES, backbone_spec
from camlib.errors import CamlibError, WeightsUnavailableError

MODEL_KEY = "camlib_backbone"  # the model box (its entries: catalogue.model_entries)
SERVER_WEIGHTS_ENV = "CAMLIB_APP_SERVER_WEIGHTS"  # "1": offer a box for a state-dict path on the server
UPLOAD_ERROR_KEY = "camlib_model_upload_error"  # the last upload's refusal, shown once under the form


@dataclass(frozen=True)
class ImageAndModel:
    """What the sidebar chose: the image, and the model (with the weights and classes this session uses)."""

    image: ImageInput
    entry: str  # the model box's entry
    choice: ModelChoice
    model: SharedModel

    @property
    def backbone_key(self) -> str:
        """The model's text: a built-in key, a named model, or ``timm:NAME``."""
        return self.choice.spec

    @property
    def weights_path(self) -> str | None:
        return self.choice.weights

    @property
    def label(self) -> str:
        return display_name(self.model.backbone)

    @property
    def class_names(self) -> Sequence[str]:
        return self.model.backbone.class_names


def sidebar_image_and_model(image: ImageInput | None = None) -> ImageAndModel:
    """The image (``image`` when the page has already drawn the image box, else the sidebar's) and the model chosen
    in the sidebar; stops the script after saying why when either is unusable."""
    image = image if image is not None else sidebar_image()
    st.sidebar.header("Model")
    entries = catalogue.model_entries(st.session_state)
    labels = {item: catalogue.entry_label(item, st.session_state) for item in entries}
    entry = st.sidebar.selectbox(
        "Model", entries, format_func=lambda item: labels.get(item, item), key=MODEL_KEY,
        persist_state="session",
        help="The built-in ImageNet backbones, the models file's named models, and the models you loaded.",
    )
    own_model_form()
    choice = catalogue.entry_choice(entry, st.session_state)
    model = load_model_or_explain(entry, choice)
    if model is None:
        sidebar_device()
        stop_page()  # empties the photo shown while the model loaded
    st.sidebar.caption(models_caption(model))
    return ImageAndModel(image, entry, choice, model)


def predictions_or_stop(chosen: ImageAndModel, photo: ImageInput, resolution: int) -> list[tuple[int, str, float]]:
    """The model's top classes for ``photo``; when the model fails on it, one message and the page stops."""
    try:
        return top_predictions(photo.digest, chosen.choice, photo.image, resolution)
    except CamlibError as error:
        st.error(str(error))
        sidebar_device()
        st.stop()


def models_caption(model: SharedModel) -> str:
    """The line under the model box: its weights, its classes and its input."""
    backbone = model.backbone
    size = backbone.spec.input_size
    input_text = f"fixed {size} × {size} px input" if backbone.fixed_size else f"{size} px input by default"
    weights = backbone.weights_label
    return f"{weights[:1].upper()}{weights[1:]} · {len(backbone.class_names)} classes · {input_text}"


def sidebar_layer(chosen: ImageAndModel, resolution: int | None = None) -> str:
    """The target layer: camlib's choice first, marked, then the other candidates with their output shapes, then
    any module by name; one key per model, kept for the session. Stops the page with one line when the layer has
    no spatial output."""
    labels = layers.layer_labels(chosen.model)
    layer = st.sidebar.selectbox(
        "Target layer", layers.layer_options(chosen.model), format_func=lambda name: labels.get(name, name),
        key=f"camlib_layer::{chosen.entry}", persist_state="session",
        help="camlib's choice first, then the other candidates with their output shapes (channels × height × width); "
        "type to find any layer by its dotted name.",
    )
    st.sidebar.caption(layers.layer_caption(chosen.model, layer))
    problem = layers.layer_problem(chosen.choice, layer, resolution or _input_size(chosen))
    if problem:
        st.error(problem)
        sidebar_device()
        st.stop()
    return layer


def _input_size(chosen: ImageAndModel) -> int:
    return getattr(chosen.model.backbone.spec, "input_size", None) or 224


def own_model_form() -> None:
    """Load a timm or torchvision architecture with an uploaded state dict and classes file (unless the operator
    turned uploads off). A refused model leaves the model box as it was, with one message under the form."""
    if not uploads.uploads_enabled():
        return
    error = st.session_state.pop(UPLOAD_ERROR_KEY, None)
    with st.sidebar.expander("Your own model", expanded=error is not None, icon=":material/upload:"):
        st.text_input("Architecture", value="timm:resnet18", key="camlib_own_architecture",
                      help="timm:NAME (any timm model) or torchvision:NAME (any torchvision classifier).")
        st.file_uploader("State dict (.pth, .pt, .bin, .safetensors)", type=uploads.WEIGHTS_TYPES, key="camlib_own_weights",
                         max_upload_size=uploads.max_weights_mb(),
                         help=f"Up to {uploads.max_weights_mb()} MB. Read with weights_only=True or as safetensors: "
                         "no code in it runs.")
        st.file_uploader("Class names (.txt one a line, .json, .csv index,name)", type=uploads.CLASSES_TYPES,
                         key="camlib_own_classes", max_upload_size=uploads.MAX_CLASSES_MB,
                         help="Optional: without it, classes are named class 0 … class N−1.")
        st.button("Load this model", key="camlib_own_load", on_click=_load_own_model, type="primary")
        if error:
            st.error(error)


def _load_own_model() -> None:
    """The form's button: check, save and load the model; choose it on success, else keep the message."""
    def as_pair(key: str):
        uploaded = st.session_state.get(key)
        return (uploaded.name, uploaded.getvalue()) if uploaded is not None else None

    try:
        choice = uploads.uploaded_choice(st.session_state.get("camlib_own_architecture", ""),
                                         as_pair("camlib_own_weights"), as_pair("camlib_own_classes"))
        shared_model(choice)
    except CamlibError as error:
        st.session_state[UPLOAD_ERROR_KEY] = str(error)
    else:
        st.session_state[MODEL_KEY] = catalogue.add_upload(st.session_state, choice)


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


def load_model_or_explain(entry: str, choice: ModelChoice | None = None, container=None) -> SharedModel | None:
    """The shared model, or ``None`` after one compact line (and, for a built-in backbone, how to add weights)."""
    container = container or st.container()
    choice = choice or ModelChoice(entry, weights_path_for(entry))
    name = catalogue.entry_label(entry, st.session_state)
    try:
        with st.spinner(f"Loading {name}…"):
            return shared_model(choice)
    except WeightsUnavailableError:
        container.markdown(f":material/cloud_off: **{name}** has no weights on this server yet.")
    except CamlibError as error:  # e.g. an uploaded file that is not a state dict of this backbone
        container.warning(str(error))
    if entry in BACKBONES:
        weights_form(entry, container)
    return None


def weights_form(backbone_key: str, container) -> None:
    """How to add a backbone's weights, for people using the app in a browser: upload, download, or ask the operator."""
    spec = backbone_spec(backbone_key)
    with container.expander(f"How to add weights for {spec.display_name}", expanded=False):
        if uploads.uploads_enabled():
            uploaded = st.file_uploader(
                f"Upload a {spec.display_name} state dict (.pth or .pt, as saved by torch.save(model.state_dict()))",
                type=uploads.WEIGHTS_TYPES, key=f"weights_upload::{backbone_key}", max_upload_size=uploads.max_weights_mb(),
                help=f"Upload limit: {uploads.max_weights_mb()} MB. Read with weights_only=True: no code in it runs.",
            )
            if uploaded is not None and st.button(f"Use {uploaded.name}", key=f"weights_load::{backbone_key}"):
                data, name = uploaded.getvalue(), uploaded.name
                _try_weights(backbone_key, lambda: str(uploads.save_uploaded_weights(backbone_key, data, name)))
        if spec.torchvision_weights is not None and st.button(
            "Download torchvision's weights to this server (needs internet there)", key=f"weights_download::{backbone_key}"
        ):
            _download_weights(backbone_key)
        if spec.weights_file is not None:
            st.caption(
                f"Running the app yourself? Put **{spec.weights_file.name}** in the server's torch cache "
                f"(`$TORCH_HOME/hub/checkpoints`) and reload the page."
            )
        if server_weights_enabled():
            path = st.text_input(f"Path to a {spec.display_name} state-dict file on the server", key=f"weights_path::{backbone_key}")
            if st.button("Use this file", key=f"weights_use::{backbone_key}", disabled=not path):
                _try_weights(backbone_key, lambda: str(Path(path).expanduser()))


def _download_weights(backbone_key: str) -> None:
    try:
        with st.spinner("Downloading…"):
            download_weights(backbone_key)
    except CamlibError:
        st.warning("The download failed: this server may have no internet access. Upload the file instead.")
    else:
        _set_weights_path(backbone_key, None)
        st.rerun()


def _try_weights(backbone_key: str, path_of) -> None:
    try:
        path = path_of()
        with st.spinner(f"Loading {Path(path).name}…"):
            shared_model(ModelChoice(backbone_key, path))
    except CamlibError as error:
        st.warning(str(error))
    else:
        _set_weights_path(backbone_key, path)
        st.rerun()
