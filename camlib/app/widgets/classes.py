"""The class controls: the class boxes, the top-5 chart beside them and the notes on the model's confidence."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from camlib.app.class_choice import (
    AtResolution,
    Top,
    class_option,
    enough_classes,
    outside_top_5_note,
    resolution_drop_note,
    sample_for,
    search_label,
    suggested_classes,
    top_classes,
    unsure_note,
)
from camlib.app.plots_and_downloads import predictions_figure
from camlib.app.inputs import ImageInput
from camlib.app.models import class_probability
from camlib.backbones import RESOLUTIONS
from camlib.app.widgets.model import ImageAndModel
from camlib.app.widgets.page import note


def class_box(class_names: Sequence[str], default: int, *, key: str, label: str = "Class", container=st, **options) -> int:
    """One class of all of them, typed to search, listed as "tabby (281)"; kept for the session."""
    return container.selectbox(
        label, range(len(class_names)), index=default, format_func=lambda index: class_option(class_names, index),
        key=key, persist_state="session", **options,
    )


def top_5_and_notes(class_names: Sequence[str], top: Top, target_class: int, probability: float,
                    at: AtResolution | None = None) -> None:
    """The sidebar's top-5 chart with the chosen class marked, and what to know when the model is unsure of it, with
    advice that fits the screen's resolution (``at``)."""
    st.sidebar.plotly_chart(predictions_figure(top, target_class), key="top5", config={"displayModeBar": False})
    note(outside_top_5_note(class_names, top, target_class, probability), st.sidebar)
    if at is not None:
        note(resolution_drop_note(class_names[target_class], probability, at), st.sidebar)
    note(unsure_note(top, at), st.sidebar)


def at_resolution(chosen: ImageAndModel, image: ImageInput, resolution: int, target_class: int) -> AtResolution:
    """The screen's resolution against the model's trained size, with the class's probability there (one cached pass)."""
    backbone = chosen.model.backbone
    trained = backbone.spec.input_size or 224
    higher = not backbone.fixed_size and resolution < max(RESOLUTIONS)
    at_trained = None
    if resolution != trained and not backbone.fixed_size:
        at_trained = class_probability(image.digest, chosen.choice, image.image, trained, target_class)
    return AtResolution(resolution, higher, trained, at_trained)


def classes_to_compare(image: ImageInput, class_names: Sequence[str], top: Top) -> list[int]:
    """The classes to compare in one image: chosen by hand (the sample's known classes first) or the top k."""
    mode = st.radio("Classes", ["choose", "top-k"], format_func={"choose": "Choose classes", "top-k": "Top-k predictions"}.get,
                    horizontal=True, key="camlib_multi_mode", persist_state="session")
    if mode == "top-k":
        most = min(5, len(top))
        k = st.slider("k", 2, most, 2, key="camlib_multi_k", persist_state="session") if most > 2 else most
        classes = top_classes(top, k)
    else:
        classes = st.multiselect(
            search_label(class_names, "Classes"), range(len(class_names)),
            default=suggested_classes(sample_for(image.sample, class_names), top),
            format_func=lambda index: class_option(class_names, index), key=f"camlib_multi_classes::{image.digest}",
            persist_state="session",
        )
    if not enough_classes(classes):
        st.info("Pick two or more classes to compare.")
    return classes
