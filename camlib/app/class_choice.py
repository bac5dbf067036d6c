"""Which classes a page explains, how a class is named in a box, and what the page says about the model's confidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from camlib.app.inputs import Sample

Top = list[tuple[int, str, float]]  # (class index, name, probability), most likely first
UNSURE_BELOW = 0.2  # a top-1 probability under this gets the "the model is unsure" note


def sample_for(sample: Sample | None, class_names: Sequence[str]) -> Sample | None:
    """The sample, when its known classes (ImageNet indices) mean something to this model, else ``None``."""
    from camlib.app.models import is_imagenet

    return sample if sample is not None and is_imagenet(class_names) else None


def search_label(class_names: Sequence[str], text: str = "Class") -> str:
    """A class box's label, with how many classes there are to search."""
    return f"{text} (type to search all {len(class_names)})"


def class_option(class_names: Sequence[str], index: int) -> str:
    """"tabby (281)": a class as the class boxes list it."""
    return f"{class_names[index]} ({index})"


def class_choice_option(class_names: Sequence[str], index: int | None) -> str:
    """A class box entry where ``None`` stands for each backbone's own top-1."""
    return "Each backbone's top-1" if index is None else class_option(class_names, index)


def target_or_top_1(top: Top, choice: int | None) -> int:
    """The class chosen, or the model's top-1 when none is."""
    return top[0][0] if choice is None else choice


def top_classes(top: Top, k: int) -> list[int]:
    return [index for index, _, _ in top[:k]]


def suggested_classes(sample: Sample | None, top: Top) -> list[int]:
    """The classes compared first: the sample's known classes when it has two or more (pass a sample only to an
    ImageNet model: :func:`sample_for`), else the model's top 2."""
    if sample and len(sample.classes) >= 2:
        return list(sample.classes)
    return top_classes(top, 2)


def first_known_class(sample: Sample | None, top: Top) -> int:
    """The sample's first known class (the one its instances were counted for), else the model's top-1."""
    return sample.classes[0] if sample and sample.classes else top[0][0]


def enough_classes(classes: Sequence[int]) -> bool:
    """Whether there are classes enough to compare (two or more)."""
    return len(classes) >= 2


def outside_top_5_note(class_names: Sequence[str], top: Top, target_class: int, probability: float) -> str | None:
    """The model's probability for a chosen class that is not among the top predictions shown."""
    if target_class in top_classes(top, len(top)):
        return None
    return f"**{class_names[target_class]}** is not in the top {len(top)}: the model gives it {probability:.2%}."


@dataclass(frozen=True)
class AtResolution:
    """What the advice on resolution must know: the screen's resolution, whether a higher one can be offered (not at
    the highest, nor for a model with a fixed input size), the size the model was trained at, and the chosen class's
    probability there (``None`` when the screen is at that size)."""

    resolution: int
    higher_offered: bool
    trained: int
    probability_at_trained: float | None = None

    def lowered(self, probability: float) -> bool:
        """Whether this higher resolution lowers the class's probability below half of what it is at the trained size."""
        return (self.probability_at_trained is not None and self.resolution > self.trained
                and probability < self.probability_at_trained / 2)


def unsure_note(top: Top, at: AtResolution | None = None) -> str | None:
    """What to try when the model's top-1 is weak (under :data:`UNSURE_BELOW`): a higher resolution only where one is
    offered and the screen's resolution is not what lowered the confidence."""
    if top[0][2] >= UNSURE_BELOW:
        return None
    text = f"The model is unsure about this image (its top-1 has only {top[0][2]:.0%})."
    if at is not None and at.resolution > at.trained:
        return text + (f" It was trained at {at.trained} px, so a lower resolution may help; a class chosen by hand can "
                       "still be explained.")
    if at is None or at.higher_offered:
        return text + " Small objects fill little of the input: a higher resolution may help, and a class chosen by hand can still be explained."
    return text + " A class chosen by hand can still be explained."


def resolution_drop_note(class_name: str, probability: float, at: AtResolution) -> str | None:
    """When the screen's higher resolution is what lowered the chosen class's probability (:meth:`AtResolution.lowered`)."""
    if not at.lowered(probability):
        return None
    return (f"At {at.resolution} px the model gives **{class_name}** {probability:.1%}; at {at.trained} px, the size it was "
            f"trained at, {at.probability_at_trained:.1%}. The higher resolution lowers it: objects look larger than in "
            "its training photos. The maps explain the class all the same.")
