"""The badges under a map in the comparison grid: a few characters each ("= CAM", "at bn2", "✗ rand", "≈ blob") on
one button, so that a tile about 110 px wide keeps them on one or two lines, and behind it, one click away, what each
is about (this photo, the method, or camlib's benchmark with its setting), its figure, its interval and its reason.

Plain functions of what the grid computed; :func:`camlib.app.widgets.grid.overlay_grid` only draws them. The
benchmark's notes come from :func:`camlib.measured.caveat_notes`, which keeps only the verdicts the intervals
support and none where the screen's model, layer, parameters or resolution differ from the measured ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from camlib.app.compare import MEASURE_TEXT, SameAs

THIS_PHOTO = "This photo"
BENCHMARK = "camlib's benchmark"


@dataclass(frozen=True)
class Badge:
    """A few words under a map (``label``), what they are about, and the sentence behind them."""

    label: str
    about: str
    text: str


def same_map_badge(same: SameAs, names: dict[str, str]) -> Badge:
    """"= Grad-CAM" (or "≈ Grad-CAM"): on this photo this map is (nearly) an earlier method's."""
    other = names.get(same.reference, same.reference)
    mark = "=" if same.agreement.same else "≈"
    pearson = "" if same.agreement.pearson is None else f", Pearson r = {same.agreement.pearson:.3f}"
    return Badge(f"{mark} {other}", THIS_PHOTO,
                 f"{same.badge(names)}: largest pixel difference {same.agreement.max_difference:.3f}{pearson} "
                 f"({MEASURE_TEXT}).")


def cam_layer_badge(layer: str, pooling_layer: str | None) -> Badge | None:
    """CAM's own layer, always in its cell: it reads the layer before the pooling whatever layer the page chose."""
    if pooling_layer is None:
        return None
    text = f"CAM always uses the layer feeding the global average pooling, `{pooling_layer}`: its weights are the classifier's."
    if layer != pooling_layer:
        text += f" The layer chosen for the other methods, `{layer}`, does not apply to it."
    return Badge(f"at {pooling_layer}", "CAM", text)


def benchmark_badges(notes) -> list[Badge]:
    """The measured notes (:class:`camlib.measured.Caveat`) as badges; each sentence names its benchmark and setting."""
    return [Badge(note.badge, BENCHMARK, note.text) for note in notes]


BADGE_KEY = ("rand: the model randomisation check (✗ fails, ? cannot be told from its threshold); blob: a centred blob that "
       "knows nothing of the model (< below it, ≈ indistinguishable); = or ≈ another method: the same or nearly the same map.")


def badge_line(badges: list[Badge]) -> str:
    """The button's label: each different badge once, in order ("≈ CAM ✗ rand ≈ blob"); each starts with its sign."""
    return " ".join(dict.fromkeys(badge.label for badge in badges))


def badge_details(badges: list[Badge]) -> list[str]:
    """Behind the button: one line per badge, saying what it is about, then its figure, interval and reason."""
    return [f"**{badge.label}** ({badge.about}): {badge.text}" for badge in badges]
