"""The model controls: the backbone box, the target-layer box, and the form that adds a backbone's weights."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from camlib.app.captions import backbone_label
from camlib.app.inputs import ImageInput
from camlib.app.models import WEIGHTS_TYPES, SharedModel, download_weights, layer_options, save_uploaded_weights, shared_model
from camlib.app.widgets.image import sidebar_image
from camlib.app.widgets.page import sidebar_device
from camlib.backbones import BACKBONES, backbone_spec
from camlib.errors import CamlibError, WeightsUnavailableError

WEIGHTS_STATE_KEY = "camlib_weights_paths"  # backbone key -> state-dict path chosen in this session
SERVER_WEIGHTS_ENV = "CAMLIB_APP_SERVER_WEIGHTS"  # "1": offer a box for a state-dict path on the server


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
            _download_weights(backbone_key)
        if spec.weights_file is not None:
            st.caption(
                f"Running the app yourself? Put **{spec.weights_file.name}** in the server's torch cache "
                f"(`$TORCH_HOME/hub/checkpoints`) and reload the page."
            )
        if server_weights_enabled():
            path = st.text_input(f"Path to a {spec.display_name} state-dict file on the server", key=f"weights_path::{backbone_key}")
            if st.button("Use this file", key=f"weights_use::{backbone_key}", disabled=not path):
                _try_weights(backbone_key, str(Path(path).expanduser()))


def _download_weights(backbone_key: str) -> None:
    try:
        with st.spinner("Downloading…"):
            download_weights(backbone_key)
    except CamlibError:
        st.warning("The download failed: this server may have no internet access. Upload the file instead.")
    else:
        _set_weights_path(backbone_key, None)
        st.rerun()


def _try_weights(backbone_key: str, path: str) -> None:
    try:
        with st.spinner(f"Loading {Path(path).name}…"):
            shared_model(backbone_key, path)
    except CamlibError as error:
        st.warning(str(error))
    else:
        _set_weights_path(backbone_key, path)
        st.rerun()
