"""Photos with several objects of one class: how many separate regions each method's map finds."""

from __future__ import annotations

import cv2
import numpy as np

from camlib.explain import MethodResult


def hot_regions(saliency: np.ndarray, *, threshold: float = 0.5, min_area_fraction: float = 0.005) -> int:
    """How many separate regions of the map reach ``threshold`` (ignoring specks below the area fraction)."""
    mask = (np.nan_to_num(saliency) >= threshold).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    minimum = min_area_fraction * saliency.size
    return int(sum(1 for label in range(1, count) if stats[label, cv2.CC_STAT_AREA] >= minimum))


def instances_note(results: dict[str, MethodResult], instances: int | None) -> str:
    """A short note on which methods spread over several instances, from the regions of each map."""
    counts = {result.display_name: hot_regions(result.saliency) for result in results.values() if result.saliency is not None}
    if not counts:
        return "No method produced a map."
    listing = ", ".join(f"{name}: {count}" for name, count in counts.items())
    note = f"Separate regions at or above half the map's maximum: {listing}."
    if instances:
        found = [name for name, count in counts.items() if count >= instances]
        if found:
            note += f" With {instances} instances in the photo, {', '.join(found)} separate{'s' if len(found) == 1 else ''} all of them."
        else:
            best = max(counts.values())
            leaders = [name for name, count in counts.items() if count == best]
            note += f" None separates all {instances} instances; {', '.join(leaders)} come{'s' if len(leaders) == 1 else ''} closest with {best}."
    note += (
        " Grad-CAM averages the gradient over the whole map, so one strong instance can dominate; Grad-CAM++ "
        "weights each location's positive gradient, and the Score-CAM family scores each channel by masking "
        "the input, which tends to give every instance its share. Neighbouring instances can merge into one region."
    )
    return note
