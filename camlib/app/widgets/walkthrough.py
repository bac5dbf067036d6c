"""The teaching page's walk-through on the session's photo: one tab per method, its steps as pictures with the
numbers beside them (:mod:`camlib.app.walkthrough` decides and words them)."""

from __future__ import annotations

import logging

import streamlit as st

from camlib.app import walkthrough
from camlib.app.settings import MethodSettings
from camlib.app.widgets.model import ImageAndModel
from camlib.errors import CamlibError
from camlib.methods import METHODS
from camlib.overlays import overlay

logger = logging.getLogger(__name__)

REQUESTED_KEY = "camlib_walks_requested"  # session state: the settings whose walk-through the visitor asked for
BUTTON_KEY = "camlib_walk_button"


def walkthrough_section(chosen: ImageAndModel, layer: str, target_class: int, settings: MethodSettings) -> None:
    """The button, then (once asked for, for these settings) one tab per method of :data:`walkthrough.WALKED_METHODS`."""
    image = chosen.image
    params = {key: settings.params(key) for key in walkthrough.WALKED_METHODS}
    request = (image.digest, chosen.entry, layer, int(target_class), settings.resolution, tuple(params.items()))
    requested = st.session_state.get(REQUESTED_KEY, ())
    st.caption(walkthrough.request_line(image.name, chosen.label, layer, chosen.class_names[target_class], settings.resolution))
    if st.button("Show the steps on this photo", key=BUTTON_KEY, type="primary"):
        requested = st.session_state[REQUESTED_KEY] = (*requested[-7:], request)
    if request not in requested:
        st.caption(walkthrough.cost_line())
        return
    display_image = chosen.model.backbone.display_image(image.image, settings.resolution)
    tabs = dict(zip(walkthrough.WALKED_METHODS, st.tabs([METHODS[key].display_name for key in walkthrough.WALKED_METHODS])))
    for method_key in sorted(tabs, key=lambda key: METHODS[key].relative_cost):  # the cheap tabs fill first
        with tabs[method_key]:
            try:
                with st.spinner(f"{METHODS[method_key].display_name}, step by step ({METHODS[method_key].cost})…"):
                    walk = walkthrough.walk(image.digest, chosen.choice, image.image, settings.resolution, layer,
                                            int(target_class), method_key, params[method_key])
            except CamlibError as error:
                st.warning(str(error))
                continue
            except Exception as error:  # noqa: BLE001 - a user's model failing must not break the page
                logger.exception("The %s walk-through failed", method_key)
                st.warning(f"It failed with {type(error).__name__}: {error}")
                continue
            _draw_walk(walk, layer, chosen, display_image)


def _draw_walk(walk: walkthrough.Walk, layer: str, chosen: ImageAndModel, display_image) -> None:
    first, second, third = walkthrough.step_texts(walk)
    st.markdown(walkthrough.layer_line(walk.steps, layer))
    st.markdown(first)
    for column, view in zip(st.columns(len(walk.channels)), walk.channels):
        column.image(view.activation, caption=walkthrough.activation_caption(view, walk.method_key), width="stretch")
    if second:
        st.markdown(second)
        for column, view in zip(st.columns(len(walk.channels)), walk.channels):
            column.image(view.masked_input, caption=walkthrough.masked_caption(view), width="stretch")
        st.caption(walkthrough.scored_line(walk))
        widgets_note = walkthrough.empty_channels_note(walk)
        if widgets_note:
            st.info(widgets_note)
    st.markdown(third)
    st.dataframe(walkthrough.numbers_table(walk).style.format("{:.3g}", na_rep="–"), width="content")
    st.caption(walkthrough.share_line(walk))
    saliency = chosen.model.backbone.map_for_display(walk.steps.saliency, display_image.shape[:2])
    low, final, words = st.columns(3)
    low.image(walk.low_resolution, caption="The weighted sum, below zero cut off", width="stretch")
    final.image(overlay(display_image, saliency), caption=f"{METHODS[walk.method_key].display_name}'s map", width="stretch")
    words.markdown(walkthrough.map_line(walk))
