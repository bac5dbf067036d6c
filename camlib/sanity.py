"""Model randomisation sanity check: does a map change when the model it explains is destroyed?

Adebayo et al., "Sanity checks for saliency maps", NeurIPS 2018 (arXiv:1810.03292), cascading
randomisation: re-initialise the classifier, then also the last block, then the block before it, and
compare each map with the map of the trained model. A map that still looks the same explains the image
(edges, the centre) rather than the model, and fails.

Similarity, per image and stage k, between the trained model's map ``S`` and the randomised one ``S_k``:

- Spearman rank correlation ``rho = pearson(rank(S), rank(S_k))`` over all pixels, ties ranked by
  their average (as ``scipy.stats.spearmanr``). Adebayo report it on the maps and on their absolute
  values; camlib maps are non-negative, so the two are the same.
- SSIM (Wang et al., "Image quality assessment: from error visibility to structural similarity",
  IEEE TIP 2004) with scikit-image's defaults: a 7 x 7 uniform window, sample covariance,
  ``K1 = 0.01, K2 = 0.03``, ``data_range = 1`` (camlib maps lie in [0, 1]), averaged over the pixels
  where the window fits.

Randomisation (the same procedure as Quantus's ``MPRT`` / ``ModelParameterRandomisation``, so
``RandomisationCheck(seed=s)`` and ``quantus.MPRT(seed=s, layer_order="top_down")`` build identical
weights on the same device; CPU and CUDA draw different numbers from the same seed): every submodule of a randomised unit that has ``reset_parameters()`` (convolutions, linear
layers, batch norms) is reset to PyTorch's default initialisation right after
``torch.manual_seed(seed + 1)``, inside ``torch.random.fork_rng`` so that the caller's random state is
left alone. A batch norm is reset to the identity (weight 1, bias 0, running mean 0, variance 1);
Adebayo re-draw weights from a truncated normal instead.

Stages (:func:`randomisation_stages`) come from the module order: stage 1 is the model's last
top-level child with parameters (the classifier: ``classifier`` for EfficientNet-Lite0, VGG16 and
AlexNet, ``fc`` for ResNet50); then, from the top down, the blocks of the body, where a ``Sequential``
child is split into its children (``blocks.6``, ``layer4.2``, ``features.28``) and a normalisation layer
stays with the layer before it (``conv_head`` + ``bn2``). Stage k randomises the units of stages 1..k.

Verdict (:func:`sanity_verdict`): a method passes when its mean Spearman correlation over the images
at the last stage is below ``SANITY_THRESHOLD = 0.5``. Adebayo's "absolute value" variant takes the
absolute value of the *maps* (a gradient's sign is arbitrary), not of the correlation, and Quantus's
``MPRT(abs=True)`` does the same; camlib's maps are non-negative already, so rho is used as it is. A
negative rho means the map moved to other pixels, which is a change, so it passes. Neither paper nor
library gives a threshold: Adebayo judge from plots, where the maps they call insensitive (Guided
BackProp, Guided Grad-CAM) keep a rank correlation near 1 through the cascade and the sensitive ones
(Gradient, Grad-CAM) fall towards 0. 0.5 is the midpoint of those two regimes, fixed before camlib's
methods were measured: a map that keeps more than half its rank agreement after the classifier and the
last blocks are gone explains little of the model. The model-free baselines (``center``, ``uniform``,
``random``) give rho = 1 exactly and fail, which shows that the check can fail.

Cost: ``stages`` extra maps per image and method, and ``stages`` copies of the model in memory (for
VGG16, about 0.55 GB each). Run it only when asked for. An evaluation loop calls it like this::

    from camlib.explain import compute_map
    from camlib.sanity import SANITY_FIELDS, RandomisationCheck, summarize_sanity

    check = RandomisationCheck(backbone, seed=0, stages=3)  # copies built once, before the loop
    for path in files:
        inputs = backbone.preprocess(load_image(path))
        target = int(backbone.probabilities(inputs).argmax(dim=1)[0])
        for key in methods:  # methods and baselines alike
            saliency = compute_map(key, backbone, inputs, target, layer=layer, params=params.get(key))
            row = {"file": path.name, "method": key, ...}
            row.update({name: f"{value:.6f}" for name, value in
                        check.scores(key, saliency, inputs, target, layer=layer, params=params.get(key)).items()})
            writer.writerow(row)  # a csv.DictWriter whose fieldnames include SANITY_FIELDS
    table = summarize_sanity(rows)  # {method: {"rand_spearman_3": ..., "passes": False, ...}}
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from camlib.backbones import Backbone
from camlib.baselines import is_baseline
from camlib.errors import InvalidParameterError
from camlib.intervals import ABOVE, BELOW, mean_of, verdict
from camlib.map_similarity import MAX_PIXELS, SSIM_WINDOW, spearman, ssim  # noqa: F401  (re-exported with the check)

DEFAULT_STAGES = 3
MAX_STAGES = 8
SANITY_THRESHOLD = 0.5
SANITY_FIELDS = [f"rand_{measure}_{stage}" for stage in range(1, DEFAULT_STAGES + 1) for measure in ("spearman", "ssim")]
"""The result columns for the default three stages: rand_spearman_1, rand_ssim_1, ..., rand_ssim_3."""


_NORMALISATION = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm)


# -- which modules each stage randomises ------------------------------------------------------------


def randomisation_stages(backbone_or_model: Backbone | nn.Module, *, stages: int = DEFAULT_STAGES) -> list[tuple[str, list[str]]]:
    """The cascade of the model's top ``stages`` units: ``[(stage name, module names randomised)]``.

    Stage k's list holds the modules of stages 1..k (cumulative). For EfficientNet-Lite0:
    ``classifier``; ``classifier, conv_head, bn2``; ``classifier, conv_head, bn2, blocks.6``. The same
    rule gives ResNet50 ``fc``, ``layer4.2``, ``layer4.1`` and VGG16 / AlexNet ``classifier`` and their
    last two convolutions, so camlib's backbones need no override. A model wrapped in a container with
    one child (``nn.Sequential(model)``) is looked into.
    """
    if not 1 <= stages <= MAX_STAGES:
        raise InvalidParameterError(f"The randomisation check takes 1..{MAX_STAGES} stages, got {stages}.")
    model = backbone_or_model.model if isinstance(backbone_or_model, Backbone) else backbone_or_model
    units = _units_top_down(model)
    if not units:
        raise InvalidParameterError("The model has no parameters to randomise.")
    cascade: list[tuple[str, list[str]]] = []
    randomised: list[str] = []
    for unit in units[:stages]:
        randomised = randomised + unit
        cascade.append(("+".join(unit), list(randomised)))
    return cascade


def _units_top_down(model: nn.Module) -> list[list[str]]:
    """The head, then the body's blocks from the output back, each a list of module names."""
    prefix = ""
    children = _parameterised_children(model, prefix)
    while len(children) == 1 and _parameterised_children(children[0][1], ""):  # a wrapper around the real model
        prefix = children[0][0] + "."
        children = _parameterised_children(children[0][1], prefix)
    if not children:
        return []
    head_name, _ = children[-1]
    body: list[tuple[str, nn.Module]] = []
    for name, child in children[:-1]:
        if isinstance(child, nn.Sequential | nn.ModuleList):
            body += _parameterised_children(child, f"{name}.")
        else:
            body.append((name, child))
    units: list[list[str]] = []
    for name, module in body:
        if isinstance(module, _NORMALISATION) and units:
            units[-1].append(name)  # a norm layer belongs to the layer before it
        else:
            units.append([name])
    return [[head_name]] + units[::-1]


def _parameterised_children(module: nn.Module, prefix: str) -> list[tuple[str, nn.Module]]:
    return [(prefix + name, child) for name, child in module.named_children() if any(True for _ in child.parameters())]


def randomise_modules(model: nn.Module, names: Iterable[str], *, seed: int) -> None:
    """Re-initialise, in place, every submodule of the named modules that has ``reset_parameters``,
    each right after ``torch.manual_seed(seed + 1)`` (Quantus's procedure). A parameter that no such
    submodule owns (rare: a custom layer) is drawn from N(0, 0.01²) after the same seeding."""
    modules = dict(model.named_modules())
    names = list(names)
    missing = [name for name in names if name not in modules]
    if missing:
        raise InvalidParameterError(f"No module named '{missing[0]}' to randomise.")
    devices = sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        for name in names:
            for sub in modules[name].modules():
                if hasattr(sub, "reset_parameters"):
                    torch.manual_seed(seed + 1)
                    sub.reset_parameters()
                else:
                    for parameter in sub.parameters(recurse=False):
                        torch.manual_seed(seed + 1)
                        parameter.normal_(0.0, 0.01)


# -- the check ---------------------------------------------------------------------------------------


class RandomisationCheck:
    """Cascading model randomisation for one backbone; the randomised copies are built once.

    Args:
        backbone: the trained backbone (left untouched).
        seed: seed of the re-initialisation (same meaning as Quantus's ``MPRT(seed=...)``).
        stages: how many stages of :func:`randomisation_stages` to run (default 3).
    """

    def __init__(self, backbone: Backbone, *, seed: int = 0, stages: int = DEFAULT_STAGES) -> None:
        self.backbone = backbone
        self.seed = seed
        self.stages = randomisation_stages(backbone, stages=stages)
        self.randomised: list[Backbone] = []
        for _, names in self.stages:
            model = copy.deepcopy(backbone.model)
            randomise_modules(model, names, seed=seed)
            self.randomised.append(dataclasses.replace(backbone, model=model.eval()))

    @property
    def stage_names(self) -> list[str]:
        """The newest unit of each stage, e.g. ``["classifier", "conv_head+bn2", "blocks.6"]``."""
        return [name for name, _ in self.stages]

    @property
    def fields(self) -> list[str]:
        """This check's result columns (a prefix of :data:`SANITY_FIELDS` for up to three stages)."""
        return [f"rand_{measure}_{k}" for k in range(1, len(self.stages) + 1) for measure in ("spearman", "ssim")]

    def scores(self, key: str, saliency: np.ndarray, inputs, target: int, *, layer: str | None = None, params: dict | None = None) -> dict[str, float]:
        """Spearman and SSIM between ``saliency`` (the trained model's (H, W) map for ``inputs``) and
        the map of the same method on each randomised model. Raises :class:`CamlibError` when the
        method cannot run."""
        from camlib.explain import compute_map

        results: dict[str, float] = {}
        for stage, randomised in enumerate(self.randomised, start=1):
            if is_baseline(key):
                other = compute_map(key, self.backbone, inputs, target)  # a baseline ignores the model
            else:
                other = compute_map(key, randomised, inputs, target, layer=layer, params=params)
            results[f"rand_spearman_{stage}"] = spearman(saliency, other)
            results[f"rand_ssim_{stage}"] = ssim(saliency, other)
        return results


def sanity_verdict(mean_spearman_last_stage: float) -> bool:
    """True when a Spearman correlation is below :data:`SANITY_THRESHOLD`; NaN (nothing measured) fails. The
    rule for one map; a verdict on a method over images comes from the interval of its mean
    (:func:`summarize_sanity`, :func:`camlib.summary.sanity_verdict_of`), never from the mean alone."""
    value = float(mean_spearman_last_stage)
    return bool(math.isfinite(value) and value < SANITY_THRESHOLD)


def summarize_sanity(rows: Iterable[dict]) -> dict[str, dict]:
    """Per method (in order of first appearance), over the rows without error that have sanity columns:
    the mean of each column, ``images``, ``last_stage`` (the highest stage with values), ``interval`` (that
    stage's mean Spearman with its 95 % bootstrap interval over images, :mod:`camlib.intervals`) and ``passes``:
    True where the interval lies below :data:`SANITY_THRESHOLD`, False above, None where it straddles it
    (indistinguishable). Rows are dicts of strings, as in the CSV."""
    grouped: dict[str, dict[str, dict[str, float]]] = {}  # method -> image file -> its sanity values
    for row in rows:
        if row.get("error"):
            continue
        values = {name: float(row[name]) for name in _sanity_columns(row) if row[name] not in ("", None)}
        if values:
            images = grouped.setdefault(row["method"], {})
            images[row.get("file", str(len(images)))] = values
    summary: dict[str, dict] = {}
    for method, images in grouped.items():
        names = sorted({name for values in images.values() for name in values}, key=_stage_order)
        stages = [_stage_order(name)[0] for name in names if name.startswith("rand_spearman_")]
        if not stages:
            continue
        last = max(stages)
        means = {name: float(np.mean([values[name] for values in images.values() if name in values])) for name in names}
        last_name = f"rand_spearman_{last}"
        spearman = mean_of({file: values[last_name] for file, values in images.items() if last_name in values})
        summary[method] = {
            "images": len(images),
            **means,
            "last_stage": last,
            "interval": spearman,
            "passes": {BELOW: True, ABOVE: False}.get(verdict(spearman, SANITY_THRESHOLD)),
        }
    return summary


def _sanity_columns(row: dict) -> list[str]:
    return [name for name in row if name.startswith(("rand_spearman_", "rand_ssim_"))]


def _stage_order(name: str) -> tuple[int, str]:
    return int(name.rsplit("_", 1)[1]), name
