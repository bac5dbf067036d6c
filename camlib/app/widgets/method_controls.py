"""The method controls in the sidebar: which methods, the resolution, the speed preset and each method's parameters."""

from __future__ import annotations

import streamlit as st

from camlib.app import method_families as families
from camlib.app.map_requests import ordered_methods
from camlib.app.settings import (
    COMBINATION_LABELS,
    SCORE_LABELS,
    SPEED_PRESETS,
    MethodSettings,
    changed_params,
    effective_param,
    param_key,
    perturbation_size_label,
    perturbation_size_options,
    resolution_timing_text,
    speed_caption,
    speed_options,
)
from camlib.backbones import RESOLUTIONS
from camlib.methods import FAMILIES, METHODS, PAPER_METHODS


def sidebar_method_settings(resolution: int = 224) -> MethodSettings:
    """The methods and the speed, for maps at ``resolution`` (from :func:`sidebar_resolution`)."""
    st.sidebar.header("Methods")
    methods = ordered_methods(st.sidebar.multiselect(
        "Methods (name · family)",
        families.method_options(),  # family by family
        default=list(PAPER_METHODS),  # the paper's six; the others one click away
        format_func=families.method_label,
        key=families.METHODS_KEY,
        persist_state="session",
    ))
    _more_methods(methods)
    speed, overrides = sidebar_speed()
    return MethodSettings(methods, speed, overrides, resolution)


def _more_methods(chosen: list[str]) -> None:
    """Each family's methods, one button to add a whole family, one to go back to the paper's six."""
    with st.sidebar.expander("More methods, by family"):
        for family in FAMILIES:
            st.markdown(families.family_caption(family))
            st.button(
                families.family_button_label(family, chosen), key=f"camlib_add_family::{family}",
                on_click=families.add_family, args=(st.session_state, family),
                disabled=set(families.by_family()[family]) <= set(chosen),
            )  # fmt: skip
        st.button("Back to the paper's six", key="camlib_paper_six", on_click=families.paper_six, args=(st.session_state,))


def sidebar_resolution(default: int = 224, key: str = "camlib_resolution") -> int:
    """The resolution radio (a key per page, so "Multiple objects" can default to 448 and keep its own choice)."""
    resolution = st.sidebar.radio(
        "Resolution (the image's shorter side)", list(RESOLUTIONS), index=list(RESOLUTIONS).index(default),
        format_func=lambda r: f"{r} px", key=key, horizontal=True, persist_state="session",
        help="The image keeps its shape: its shorter side is resized to this, the longer side follows (at most twice "
        "the shorter). A larger input gives a finer last feature map, so finer maps, at a higher cost.",
    )
    measured = resolution_timing_text()
    if measured:
        st.sidebar.caption(measured)
    return int(resolution)


def sidebar_speed() -> tuple[str, dict[str, dict]]:
    """The speed preset (fast by default, exact one click away) and the user's overrides that differ from it.

    Every widget keeps its value for the whole session (``persist_state``), across pages, one key per preset.
    """
    speed = st.sidebar.radio(
        "Score-CAM family settings",
        speed_options(),
        format_func=lambda k: SPEED_PRESETS[k].label,
        key="camlib_speed",
        horizontal=True,
        persist_state="session",
    )
    caption = st.sidebar.empty()  # filled below, once the changed parameters are known
    with st.sidebar.expander("Method parameters"):
        overrides = {method_key: {"perturbation_size": _perturbation_size_box(method_key, speed)}
                     for method_key in ("scorecam", "gradpp_scorecam")}
        overrides["scorecam"].update(_scorecam_controls(speed))
        overrides["gradpp_scorecam"].update(_gradpp_scorecam_controls(speed))
        overrides["smoothgradcampp"] = _smoothgrad_controls(speed)
    changed = changed_params(overrides, speed)
    caption.caption(speed_caption(speed, changed))
    return speed, changed


def _perturbation_size_box(method_key: str, speed: str) -> int | None:
    options, current = perturbation_size_options(method_key, speed)
    size = st.selectbox(
        f"{METHODS[method_key].display_name}: size of the masked passes (shorter side)",
        options,
        index=options.index(current),
        format_func=perturbation_size_label,
        key=param_key(speed, method_key, "perturbation_size"), persist_state="session",
        help="Each masked image is scored at this size: smaller is faster but approximate.",
    )
    return size or None


def _scorecam_controls(speed: str) -> dict:
    return {
        "score": _labelled_choice(st.radio, "Score-CAM: channel score", SCORE_LABELS, "scorecam", "score", speed),
        "sampled_channels": _channel_count_input(
            "Score-CAM: channels measured, the others' scores predicted (0 = all, exact)", "scorecam", "sampled_channels", speed
        ),
    }


def _gradpp_scorecam_controls(speed: str) -> dict:
    return {
        "top_k": _channel_count_input(
            "Grad++ScoreCAM: channels scored, the top ones by Grad-CAM++ weight (0 = all)", "gradpp_scorecam", "top_k", speed
        ),
        "combination": _labelled_choice(
            st.selectbox, "Grad++ScoreCAM: how a channel's score C_k and gradient weight w_k combine",
            COMBINATION_LABELS, "gradpp_scorecam", "combination", speed,
        ),
    }


def _smoothgrad_controls(speed: str) -> dict:
    return {
        "n_samples": int(st.slider(
            "SmoothGrad-CAM++: noisy copies averaged", 1, 32,
            int(effective_param("smoothgradcampp", "n_samples", speed)),
            key=param_key(speed, "smoothgradcampp", "n_samples"), persist_state="session",
        )),
        "noise_level": float(st.slider(
            "SmoothGrad-CAM++: noise level (share of the input's range)", 0.0, 0.5,
            float(effective_param("smoothgradcampp", "noise_level", speed)), step=0.01,
            key=param_key(speed, "smoothgradcampp", "noise_level"), persist_state="session",
        )),
    }


def _labelled_choice(widget, label: str, labels: dict[str, str], method_key: str, name: str, speed: str) -> str:
    """One of a parameter's named values, shown in words, starting at the preset's (``widget``: st.radio or st.selectbox)."""
    return widget(
        label,
        list(labels),
        index=list(labels).index(effective_param(method_key, name, speed)),
        format_func=labels.get,
        key=param_key(speed, method_key, name), persist_state="session",
    )


def _channel_count_input(label: str, method_key: str, name: str, speed: str) -> int | None:
    """A number of channels for a method parameter where ``None`` means all of them (0 in the widget)."""
    count = st.number_input(
        label,
        min_value=0,
        max_value=4096,
        value=int(effective_param(method_key, name, speed) or 0),
        key=param_key(speed, method_key, name),
        persist_state="session",
    )
    return int(count) or None
