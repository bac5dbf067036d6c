"""Photos with several objects of one class: the separate hot spots of each method's map.

A hot spot is a local maximum of the map that reaches half the map's maximum and is the highest point
within one feature-map cell around it, so two hot spots are at least a cell apart. The cell is the layer's
stride, read from the model (:func:`camlib.app.layers.stride`: 32 input pixels at a CNN's last stage, 16 at a
ResNet's layer3 or a ViT with 16-pixel patches), never assumed. Counting connected regions above a threshold does not work for instances:
neighbouring animals touch, and their regions merge into one. Hot spots count peaks, not animals: a
method may put two peaks on one animal or none on another, so the note reports counts and leaves the
judgement to the eye. tests/test_app.py checks them against instances counted by hand on the shared
photos (six dogs, five puppies) at 448 px.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from camlib.app.inputs import ImageInput, Sample, sample_input
from camlib.backbones import BACKBONES
from camlib.explain import MethodResult

DEFAULT_CELL = 32  # hot_spots' default cell, in input pixels; the page passes the layer's own stride
CURRENT = "current"  # the crowd box's entry for the current image
TRAINED_RESOLUTION = 224  # the shorter side of the photos the models learned from


def hot_spots(saliency: np.ndarray, *, threshold: float = 0.5, cell: int = DEFAULT_CELL) -> list[tuple[int, int]]:
    """The (row, column) of each hot spot: a local maximum within a ``cell`` × ``cell`` window that reaches
    ``threshold`` × the map's maximum. A flat top (several equal pixels side by side) counts once."""
    values = np.nan_to_num(saliency.astype(np.float32))
    peak = float(values.max())
    if peak <= 0.0:
        return []
    is_top = (values == ndimage.maximum_filter(values, size=cell, mode="nearest")) & (values >= threshold * peak)
    labels, count = ndimage.label(is_top, structure=np.ones((3, 3)))
    centres = ndimage.center_of_mass(is_top, labels, range(1, count + 1))
    return [(round(row), round(column)) for row, column in centres]


def instances_note(results: dict[str, MethodResult], *, resolution: int, stride: int, instances: int | None = None,
                   fixed_size: bool = False) -> str:
    """What the hot spots of each map say, in one paragraph for the page; ``stride`` is the layer's (pixels per
    cell of its output, :func:`camlib.app.layers.stride`), ``instances`` a count made by eye, and ``fixed_size``
    says the model's input cannot grow with the resolution."""
    counts = {
        result.display_name: len(hot_spots(result.saliency, cell=stride)) for result in results.values() if result.saliency is not None
    }
    if not counts:
        return "No method produced a map."
    listing = ", ".join(f"{name}: {count}" for name, count in counts.items())
    note = (
        f"Hot spots (separate peaks reaching half the map's maximum, at least {stride} pixels apart, one cell of the layer): "
        f"{listing}."
    )
    if instances:
        note += f" The photo shows {instances} (counted by eye)."
    note += " A peak is not an object: one object can hold two peaks, so look whether each instance has its own."
    if resolution // stride < 10:
        cells = resolution // stride
        note += f" This layer's map is only about {cells} cells across, too coarse to separate neighbouring objects"
        if fixed_size:
            note += ": the model takes a fixed input size, so a higher resolution cannot help; an earlier layer has a finer grid."
        else:
            note += f" at {resolution} px: try 448 px." if resolution < 448 else ": an earlier layer has a finer grid."
    return note


def _interval(summary, name: str) -> str:
    """``[low, high]`` of a pointing mean (bootstrap over grids, :mod:`camlib.intervals`)."""
    interval = summary.interval(name)
    return f"[{interval.low:.3f}, {interval.high:.3f}]"


def pointing_table(methods, backbone: str, layer: str):
    """The grid pointing game of camlib's evaluation for ``methods`` at ``backbone`` / ``layer`` (2 × 2 grids
    of four report-half ImageNet photos of different classes; chance 0.25), or ``None`` when not measured."""
    import pandas as pd

    from camlib.explain import display_name
    from camlib.measured import pointing_summaries

    summaries = pointing_summaries(backbone, layer)
    shown = [key for key in [*methods, "center"] if key in summaries]
    if not shown:
        return None
    return pd.DataFrame(
        {
            "energy share in the right cell": [summaries[key].energy_share for key in shown],
            "energy share, 95 % interval": [_interval(summaries[key], "energy_share") for key in shown],
            "maximum in the right cell": [summaries[key].hit_rate for key in shown],
            "maximum, 95 % interval": [_interval(summaries[key], "hit_rate") for key in shown],
            "cells": [summaries[key].cells for key in shown],
        },
        index=[display_name(key) for key in shown],
    )


def crowd_options(crowds: dict[str, Sample]) -> tuple[list[str], int]:
    """The crowd box's entries (the current image, then the counted samples) and the one it opens on:
    the first counted sample when there is one."""
    return [CURRENT, *crowds], 1 if crowds else 0


def no_crowd_note(crowds: dict[str, Sample]) -> str | None:
    """What to do when no counted sample is on this machine."""
    if crowds:
        return None
    return "Upload a photo with several objects of one class to see how each method spreads over them."


def crowd_option_label(choice: str, image_name: str) -> str:
    return f"The current image ({image_name})" if choice == CURRENT else choice


def crowd_photo(choice: str, current: ImageInput, crowds: dict[str, Sample]) -> ImageInput:
    return current if choice == CURRENT else sample_input(crowds[choice])


def resolution_note(resolution: int) -> str | None:
    """Why the predictions may be less confident at a resolution other than the models' own."""
    if resolution == TRAINED_RESOLUTION:
        return None
    return (
        f"At {resolution} px the objects look larger than in the {TRAINED_RESOLUTION}-px photos the model learned from, so its "
        "predictions are often less confident; the maps are still for the classes you choose."
    )


def pointing_missing_text(backbone_key: str, layer: str) -> str:
    """What to run when the pointing game was not measured for this backbone and layer."""
    if backbone_key not in BACKBONES:
        return (
            "The pointing game was measured on ImageNet photos for the built-in backbones with their shipped weights only. "
            f"For {backbone_key}, "
            "run `camlib pointing-game` on photos of its own classes (labels.csv may name the classes)."
        )
    return (
        f"Not measured for {BACKBONES[backbone_key].display_name} at layer {layer}. Run "
        f"`camlib pointing-game IMAGES_DIR --backbone {backbone_key} --layer {layer} --half report`."
    )
