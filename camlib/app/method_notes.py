"""The teaching page's words: what the methods share and where they part, the three families, what each method is
known for, and why some maps are identical at the layer right before global average pooling.

Formulas come from the methods' docstrings and costs from the registry (:mod:`camlib.app.teaching`); this module
holds only the prose around them, in a teacher's words.
"""

from __future__ import annotations

from camlib.methods import FAMILIES, METHODS
from camlib.methods.registry import ACTIVATION_SCORE, GRADIENT, PERTURBATION

INTRO = (
    "Every method here looks inside one layer of the network, whose output is a stack of small grids, the "
    "channels $A_k$, and turns it into one map of the image, enlarged to the photo and scaled to [0, 1]. Most "
    "of them give each channel one weight and add the weighted channels up, "
    "$L^c = \\mathrm{ReLU}(\\sum_k \\alpha_k^c A_k)$; they differ in where the weights come from (the "
    "classifier, the gradient, the scores of masked photos, or, for **Ablation-CAM**, how much the score drops "
    "when a channel is removed) and in what that costs. Not all of them: **LayerCAM** and **HiResCAM** weight "
    "every position of every channel separately (gradient times activation, position by position); "
    "**Eigen-CAM** takes the main pattern of the channels (their first principal component) and ignores the "
    "class; **Recipro-CAM** keeps one position of the layer at a time and reads the class probability the rest "
    "of the network gives it, so its map has no channel weights at all; **Group-CAM** adds up masks made from "
    "groups of channels, each weighted by its masked photo's score, rather than the channels themselves."
)

FAMILY_TITLES = {
    GRADIENT: "Gradient methods",
    ACTIVATION_SCORE: "Activation and score methods",
    PERTURBATION: "Perturbation methods",
}

FAMILY_INTROS = {
    GRADIENT: (
        "They ask the network how the class score would change if a channel's values changed: one forward pass, "
        "one backward pass for the gradient, and some arithmetic on it. Fast, and defined at any layer."
    ),
    ACTIVATION_SCORE: (
        "They use the channels themselves: the classifier's weights on them (CAM), their main pattern (Eigen-CAM), "
        "or the class score of the photo shown through each channel as a mask (the Score-CAM family). Scoring masks "
        "needs no gradient but one forward pass per mask, which is what makes these methods slow."
    ),
    PERTURBATION: (
        "They change the layer's output, removing a channel or keeping only one position, run the rest of the "
        "network again, and watch the class score. No gradients; one partial pass per change."
    ),
}

KNOWN_FOR = {
    "cam": "The original class activation map. Exact and free, but only at the layer that feeds global average "
    "pooling, on networks that end with it and one linear layer; the reference the gradient methods reduce to there.",
    "gradcam": "The most widely used method: any layer, one backward pass. At the layer before global average "
    "pooling it gives exactly CAM's map. Its maps are as coarse as the layer's grid.",
    "gradcampp": "Weights each position by how the score's gradient curves, so that several objects of the same "
    "class each count; its paper reports better maps than Grad-CAM for photos with several instances.",
    "smoothgradcampp": "Grad-CAM++ with its gradients averaged over noisy copies of the photo: less speckled maps, at "
    "several times the cost. Where the gradient is the same at every position it adds nothing.",
    "gradpp_scorecam": "The paper this app follows: ranks channels by their Grad-CAM++ weight and scores only the top "
    "ones on masked photos, to get Score-CAM's faithfulness at a fraction of its cost (walked through below).",
    "scorecam": "Needs no gradient: each channel is judged by what the network says when it sees only the part of "
    "the photo that the channel lights up. Often among the most faithful on deletion and insertion tests, and the "
    "slowest: one forward pass per channel.",
    "hirescam": "Keeps the gradient at each position instead of averaging it first, so the map adds up to the "
    "class score's share of each position on networks that end in average pooling; there it equals Grad-CAM.",
    "xgradcam": "Grad-CAM's weights with each position's gradient counted by its share of the activation, chosen to "
    "satisfy two stated axioms (sensitivity and conservation).",
    "layercam": "Positive gradient times activation, position by position: useful at early layers, where it gives "
    "fine, sharp maps; torch-cam's documentation calls it the best localiser of its benchmark.",
    "eigencam": "No gradient and no class: the main pattern of the layer's channels. Fast and popular for "
    "detectors, but it draws the same map whichever class you ask about.",
    "reciprocam": "No gradient: each position of the layer is kept alone and passed through the rest of the "
    "network. Its authors report Score-CAM-like faithfulness at far lower cost on ResNets.",
    "groupcam": "Score-CAM's idea on a few groups of channels (32 by default) instead of every channel, scored "
    "against a blurred copy of the photo: about 32 masked passes.",
    "ablationcam": "No gradient: removes one channel at a time and weights it by how much the class score drops. "
    "One partial pass per channel.",
    "sscam": "Score-CAM with each mask scored on several noisy copies and averaged: smoother maps, at several times "
    "Score-CAM's cost.",
    "iscam": "Score-CAM with each mask scored at several strengths and averaged, in the manner of integrated "
    "gradients: fewer stray hot spots, at several times Score-CAM's cost.",
}

SAME_MAPS_TITLE = "Why some maps are identical at the layer before global average pooling"
SAME_MAPS = (
    "Networks such as ResNet and EfficientNet end with a layer whose channels are averaged over all positions "
    "(global average pooling) and fed to one linear layer: the class score is "
    "$y^c = \\sum_k w_k^c \\frac{1}{Z} \\sum_{i,j} A_k(i, j)$. At that layer the gradient of the score is the same "
    "at every position, $\\partial y^c / \\partial A_k(i, j) = w_k^c / Z$. So:\n\n"
    "- **Grad-CAM = CAM**: Grad-CAM's weight, the mean gradient, is $w_k^c / Z$: CAM's weight divided by a "
    "constant, and the maps are scaled to [0, 1], so they are the same map. HiResCAM gives the same map there too.\n"
    "- **SmoothGrad-CAM++ = Grad-CAM++**: the noisy copies change the gradient, but at that layer the gradient is "
    "the fixed classifier weights whatever the input, so averaging over noise leaves it as it was.\n\n"
    "At an earlier layer, with nonlinear blocks between it and the pooling, the gradient varies from position to "
    "position and the methods part ways."
)


SAME_MAPS_ANCHOR = "identical-maps"
WALK_TITLE = "On your photo, step by step"
WALK_ANCHOR = "on-your-photo"


def family_anchor(family: str) -> str:
    return "family-" + family.replace(" / ", "-").replace(" ", "-")


CONTENTS = "On this page: " + " · ".join(
    [*(f"[{FAMILY_TITLES[family]}](#{family_anchor(family)})" for family in FAMILIES),
     f"[identical maps](#{SAME_MAPS_ANCHOR})", f"[the paper's pipeline on your photo](#{WALK_ANCHOR})"]
)


def family_methods() -> dict[str, list[str]]:
    """The methods of each family, in the registry's order (every method in exactly one family)."""
    return {family: [key for key, info in METHODS.items() if info.family == family] for family in FAMILIES}
