"""The teaching page's walk-through: Grad++ScoreCAM, Score-CAM and Grad-CAM step by step on the session's photo,
model, layer and class. The numbers come from :func:`camlib.pipeline_steps.method_steps`, i.e. from the methods'
own code; this module picks what to show, caches it, and words it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st
import torch
from PIL import Image

from camlib.app.models import ModelChoice, shared_model
from camlib.app.settings import Params
from camlib.explain import build_method
from camlib.methods import METHODS
from camlib.methods.map_ops import normalize_maps
from camlib.methods.masked_passes import MaskedPassCAM
from camlib.pipeline_steps import MethodSteps, input_pixels, masked_inputs, method_steps
from camlib.overlays import colorize, enlarge_for_display

WALKED_METHODS = ("gradpp_scorecam", "scorecam", "gradcam")  # the paper's Fig. 1 first, then the two it joins
SHOWN_CHANNELS = 6
MAX_CACHED_WALKS = 12  # a walk keeps the layer's activations and a few pictures: about 1 MB at 224 px
PICTURE_SIDE = 112


@dataclass(frozen=True)
class ChannelView:
    """One shown channel: its pictures and its numbers."""

    channel: int
    activation: np.ndarray  # (s, s, 3) uint8: the channel's grid, scaled to its own range, enlarged
    largest: float  # its largest activation
    weight: float  # alpha_k, its final weight
    gradient_weight: float | None  # w_k, its Grad-CAM++ weight (Grad++ScoreCAM)
    score: float | None  # C_k
    score_term: float | None  # C_k after the method's softmax
    masked_input: np.ndarray | None  # (H, W, 3) uint8: the photo as the model sees it through the channel's mask


@dataclass(frozen=True)
class Walk:
    """One method's walk-through on one photo."""

    method_key: str
    params: dict
    steps: MethodSteps
    channels: tuple[ChannelView, ...]
    low_resolution: np.ndarray  # (s, s, 3) uint8: ReLU(sum alpha_k A_k) before upsampling, enlarged


def _grid_picture(grid: np.ndarray) -> np.ndarray:
    scaled = normalize_maps(torch.from_numpy(np.asarray(grid, np.float32))).numpy()
    picture = colorize(scaled)
    return enlarge_for_display(picture, _picture_size(grid.shape))


def _picture_size(shape: tuple[int, int]) -> tuple[int, int]:
    height, width = shape
    factor = max(1, PICTURE_SIDE // max(height, width))
    return height * factor, width * factor


@st.cache_data(max_entries=MAX_CACHED_WALKS, show_spinner=False)
def walk(image_digest: str, choice: ModelChoice, _image: Image.Image, resolution: int, layer: str, target_class: int,
         method_key: str, params: Params) -> Walk:
    """The walk-through of one method, cached per photo, model, resolution, layer, class and parameters."""
    backbone = shared_model(choice).backbone
    inputs = backbone.preprocess(_image, resolution)
    method = build_method(method_key, backbone, layer=layer, **dict(params))
    steps = method_steps(method, inputs, target_class)
    shown = steps.strongest_channels(SHOWN_CHANNELS)
    pictures: list[np.ndarray | None] = [None] * len(shown)
    if isinstance(method, MaskedPassCAM):
        _, masked = masked_inputs(method, inputs, steps, shown)
        pictures = [input_pixels(picture, backbone.spec.mean, backbone.spec.std) for picture in masked]
    views = tuple(_channel_view(steps, channel, picture) for channel, picture in zip(shown, pictures))
    return Walk(method_key, dict(params), steps, views, _grid_picture(steps.low_resolution_map))


def _channel_view(steps: MethodSteps, channel: int, picture: np.ndarray | None) -> ChannelView:
    score = steps.channel_score(channel)
    gradient_weight = None if steps.gradient_weights is None else float(steps.gradient_weights[channel])
    return ChannelView(
        channel, _grid_picture(steps.activations[channel]), float(steps.activations[channel].max()),
        float(steps.weights[channel]), gradient_weight, *(score or (None, None)), picture,
    )


# -- the words and the numbers beside the pictures ---------------------------------------------------------

STEP_TEXTS = {
    "gradpp_scorecam": (
        "**Step 1: rank the channels by the gradient.** One backward pass tells how the class score would change if "
        "each number in each channel rose. Grad-CAM++ turns that into one weight per channel, $w$, and the "
        "{scored} channels with the largest $w$ go on to step 2. Below, the {shown} of them that add the most to "
        "the final map, of {channels} channels: each grid with its own lowest value in blue and highest in red.",
        "**Step 2: test the top {scored} channels on the photo.** Each channel's grid, enlarged to the photo and "
        "scaled to [0, 1], becomes a mask: the photo is kept where the channel is high and fades to the blank image "
        "(all grey) where it is low. The network scores each masked photo; the channel's score $C$ is how much "
        "higher the class's score is than for the blank image.",
        "**Step 3: combine the two.** The scores become shares that add up to 1 (a softmax over the scored "
        "channels); each share times the channel's Grad-CAM++ weight, divided by the largest weight, is its final "
        "weight $\\alpha$. The channels that were not scored get 0.",
    ),
    "scorecam": (
        "**Step 1: every channel becomes a mask.** No gradient this time. Below, the {shown} channels that add "
        "the most to the final map, of {channels}: each grid with its own lowest value in blue and highest in red.",
        "**Step 2: score every masked photo.** Each channel's grid, enlarged to the photo and scaled to [0, 1], "
        "keeps the photo where the channel is high and fades it to the blank image (all grey) where it is low. "
        "The channel's score $C$ is how much higher the class's score is for its masked photo than for the blank image.",
        "**Step 3: the scores become the weights.** A softmax turns the scores of all {scored} channels into shares "
        "that add up to 1: the final weights $\\alpha$. A channel a little above the others gets much more weight.",
    ),
    "gradcam": (
        "**Step 1: one backward pass.** It gives, at every position of every channel, how the class score would "
        "change if the number there rose. Grad-CAM averages that over the positions: one weight per channel, "
        "which may be negative. Below, the {shown} channels that add the most to the final map, of {channels}: "
        "each grid with its own lowest value in blue and highest in red.",
        "",
        "**Step 2: no masks, no scores.** The mean gradient is the channel's final weight.",
    ),
}


def step_texts(walk_result: Walk) -> tuple[str, str, str]:
    """The three steps' words for this walk, with its counts filled in."""
    steps = walk_result.steps
    counts = {"shown": len(walk_result.channels), "channels": steps.channel_count,
              "scored": len(steps.chosen) if steps.chosen is not None else 0}
    texts = [text.format(**counts) for text in STEP_TEXTS[walk_result.method_key]]
    combination = walk_result.params.get("combination", "softmax_w")
    if walk_result.method_key == "gradpp_scorecam" and combination != "softmax_w":
        texts[2] = ("**Step 3: combine the two.** This session combines the scores and the Grad-CAM++ weights "
                    f"another way ({combination}): see its formula above. The channels that were not scored get 0.")
    return tuple(texts)



def request_line(image_name: str, model_name: str, layer: str, class_name: str, resolution: int) -> str:
    return (f"On **{image_name}**, as {model_name} sees it at {resolution} px, for the class **{class_name}** at layer "
            f"**{layer}**: the photo, model, class and layer chosen in the sidebar (the same as on the other pages).")


def cost_line() -> str:
    """What the button costs, from the registry's cost of each method (one source of those numbers)."""
    costs = "; ".join(f"{METHODS[key].display_name}: {METHODS[key].cost}" for key in WALKED_METHODS)
    return (f"The button runs the three methods once more and keeps every number they compute on the way ({costs}). "
            "The Score-CAM family's masked passes take the longest; the result is kept for this photo and setting.")


def layer_line(steps: MethodSteps, layer: str) -> str:
    channels, height, width = steps.activations.shape
    return (f"The photo goes through the network once. At layer **{layer}** it leaves {channels} channels, each a "
            f"{height} × {width} grid of numbers: how strongly each part of the photo excites that channel.")


def activation_caption(view: ChannelView, method_key: str) -> str:
    if method_key == "gradpp_scorecam":
        return f"channel {view.channel} · Grad-CAM++ weight {view.gradient_weight:.3g}"
    return f"channel {view.channel} · largest value {view.largest:.3g}"


def masked_caption(view: ChannelView) -> str:
    if view.score is None:
        return f"channel {view.channel}"
    return f"channel {view.channel} · score {view.score:+.3g}"


def numbers_table(walk_result: Walk) -> pd.DataFrame:
    """The shown channels' numbers, one row each, in the order of the pictures."""
    rows = []
    for view in walk_result.channels:
        row = {"Channel": view.channel, "Largest activation": view.largest}
        if walk_result.method_key == "gradpp_scorecam":
            row["Grad-CAM++ weight w"] = view.gradient_weight
        if walk_result.method_key == "gradcam":
            row["Mean gradient (the weight)"] = view.weight
        else:
            row["Score C"] = view.score
            row["Softmax share of C"] = view.score_term
            row["Final weight α"] = view.weight
        rows.append(row)
    return pd.DataFrame(rows).set_index("Channel")


def share_line(walk_result: Walk) -> str:
    """How much of the weighted sum the shown channels make: whether the pictures tell most of the story."""
    contributions = walk_result.steps.contributions
    positive = float(np.clip(contributions, 0, None).sum())
    if positive <= 0:
        return "No channel adds anything positive: the map is empty (all zeros) for this class at this layer."
    shown = float(np.clip(contributions[[view.channel for view in walk_result.channels]], 0, None).sum())
    return (f"These {len(walk_result.channels)} channels make {100 * shown / positive:.0f} % of the positive part of "
            f"the weighted sum (each channel's weight times the sum of its grid); the other "
            f"{walk_result.steps.channel_count - len(walk_result.channels)} channels make the rest.")


def empty_channels_note(walk_result: Walk) -> str | None:
    """Said when some of the channels Grad++ScoreCAM picked are zero everywhere on this photo."""
    empty = walk_result.steps.empty_chosen()
    if walk_result.method_key != "gradpp_scorecam" or not empty:
        return None
    return (f"{empty} of the {len(walk_result.steps.chosen)} channels with the largest Grad-CAM++ weights are zero "
            "everywhere on this photo. The Grad-CAM++ formula gives such a channel a large weight (the sum of its grid, "
            "in the denominator, is 0), but its mask is blank, its score 0, and it adds nothing to the map: those "
            "masked passes are spent for nothing.")


def scored_line(walk_result: Walk) -> str:
    """How many channels were scored on masked photos, and whether some scores were predicted rather than measured."""
    steps, params = walk_result.steps, walk_result.params
    if steps.chosen is None:
        return ""
    count = len(steps.chosen)
    sampled = params.get("sampled_channels")
    text = f"{count} masked photos were scored (one per channel scored)"
    if sampled and sampled < count:
        text = (f"{sampled} of the {count} channels were scored on masked photos and the others' scores predicted "
                "from their masks (the Fast setting; choose Exact on the main page to measure every one)")
    size = params.get("perturbation_size")
    if size:
        text += f", each at {size} px on its shorter side"
    return text + "."


def map_line(walk_result: Walk) -> str:
    name = METHODS[walk_result.method_key].display_name
    low, high = walk_result.steps.raw_range
    return (f"Adding up the channels, each times its weight, and cutting off what is below zero gives the small map "
            f"on the left; enlarged to the photo and scaled to [0, 1] (its values ran from {low:.3g} to {high:.3g}) it "
            f"is {name}'s map on the right, the same map as on the **Compare methods** page at this setting.")
