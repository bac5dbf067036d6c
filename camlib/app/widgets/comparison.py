"""Under the grid: which maps are the same and why, where two methods disagree, and the switch to a layer where
the gradient methods part ways. Everything they decide comes from :mod:`camlib.app.compare`."""

from __future__ import annotations

import numpy as np
import streamlit as st

from camlib.app import compare
from camlib.app.widgets.model import ImageAndModel
from camlib.explain import MethodResult
from camlib.methods import METHODS


def same_map_reason(results: dict[str, MethodResult], layer: str, pooling_layer: str | None) -> None:
    """One line saying why some tiles are badged as the same map, when any are."""
    if compare.same_maps({key: result.saliency for key, result in results.items()}):
        st.info(compare.identity_reason(layer, pooling_layer) + f" Measure: {compare.MEASURE_TEXT}.", icon=":material/info:")


def difference_view(results: dict[str, MethodResult], display_image: np.ndarray) -> None:
    """Two methods' maps subtracted, in a diverging colour map: where they disagree on this photo."""
    rendered = [key for key, result in results.items() if result.saliency is not None]
    if len(rendered) < 2:
        return
    with st.expander("Where two methods disagree (difference map)", icon=":material/compare:"):
        names = {key: METHODS[key].display_name for key in rendered}
        left, right, picture = st.columns([1, 1, 2])
        first = left.selectbox("Method", rendered, index=_index(rendered, "gradpp_scorecam", len(rendered) - 1),
                               format_func=names.get, key="camlib_difference_first")
        others = [key for key in rendered if key != first]
        second = right.selectbox("minus", others, index=_index(others, "gradcam", 0), format_func=names.get,
                                 key=f"camlib_difference_second::{first}")
        difference = compare.difference_map(results[first].saliency, results[second].saliency)
        measured = compare.agreement(results[first].saliency, results[second].saliency)
        shown = compare.diverging_colours(difference)
        picture.image(shown, caption=f"{names[first]} − {names[second]}", width="stretch")
        correlation = "undefined (a constant map)" if measured.pearson is None else f"{measured.pearson:.3f}"
        left.caption(compare.difference_text(names[first], names[second], difference) + f" Pearson r = {correlation}.")
        right.image(display_image, caption="Input", width="stretch")


def _index(options: list[str], preferred: str, fallback: int) -> int:
    return options.index(preferred) if preferred in options else fallback


def parting_layer_button(chosen: ImageAndModel, layer: str) -> None:
    """One click to the layer before the default's stage, with one sentence on what changes; back again from there."""
    backbone = chosen.model.backbone
    parting = compare.parting_layer(backbone.candidate_layers(), backbone.default_layer, compare.stage_units(backbone.model))
    if parting is None:
        return
    key = f"camlib_layer::{chosen.entry}"
    pooling_layer = backbone.spec.cam_layer
    if layer == parting:
        st.button(f"Back to `{backbone.default_layer}`", key="camlib_parting_back",
                  on_click=lambda: st.session_state.__setitem__(key, backbone.default_layer))
        st.caption(compare.parting_text(parting, pooling_layer))
        return
    left, right = st.columns([1, 3])
    left.button(f"Switch to `{parting}`", key="camlib_parting", type="secondary",
                on_click=lambda: st.session_state.__setitem__(key, parting))
    right.caption(compare.parting_text(parting, pooling_layer))
