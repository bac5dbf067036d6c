r"""Faithfulness and complexity metrics for explanation maps.

Average Drop and Average Increase (the Grad-CAM++ paper's, used in the Grad++ScoreCAM paper's Table 1),
insertion / deletion AUC (RISE), Average Drop at a fixed area, Complexity, Coherency and ADCC (Poppi et
al.) and the Gini sparseness (Chalasani et al., as in Quantus). Per-image functions take a map in
[0, 1] at input resolution; the ``evaluate`` module batches the forward passes they need.

For image :math:`i` and class :math:`c`, :math:`Y_i` is the softmax score of :math:`c` on the image and
:math:`O_i` the score of :math:`c` on the image multiplied by its explanation map :math:`M_i` (at input
resolution, values in [0, 1]):

.. math::
    \text{Average Drop} = \frac{100}{N} \sum_i \frac{\max(0, Y_i - O_i)}{Y_i}, \qquad
    \text{Average Increase} = \frac{100}{N} \sum_i [O_i > Y_i + \epsilon]

with :math:`\epsilon` = :data:`INCREASE_TOLERANCE` (1e-5 on a softmax score): a map of all ones leaves
the input unchanged, yet its score can differ from the image's in the sixth decimal (a batched and a
single forward pass round differently; the results CSVs store six decimals), and the paper's strict
:math:`O_i > Y_i` then counted such images as increases (5.6 % of the report half at ``bn2``, 7.2 %
at ``conv_head``, differing by device). In camlib's report tables those rises were at most 1e-6 (the
CSVs' last digit) and the smallest rise of any other row was 6.6e-4, so 1e-5 separates the two.

As in the Grad-CAM++ paper (:math:`E = I \circ M`), the map multiplies the model's input tensor, i.e. the
*normalised* image: where the map is 0 the pixel becomes the dataset mean, which is also what
Score-CAM's masks and torchcam's ``ClassificationMetric`` do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from camlib.errors import InvalidParameterError


@dataclass(frozen=True)
class ConfidencePair:
    """The class score on the image (``base``) and on the image times its map (``masked``), per image."""

    base: np.ndarray  # (N,)
    masked: np.ndarray  # (N,)

    @property
    def average_drop(self) -> float:
        return average_drop(self.base, self.masked)

    @property
    def average_increase(self) -> float:
        return average_increase(self.base, self.masked)


def average_drop(base: Sequence[float] | np.ndarray, masked: Sequence[float] | np.ndarray) -> float:
    """Average Drop in percent: 100/N · Σ max(0, Y − O) / Y."""
    base, masked = _as_pair(base, masked)
    if np.any(base <= 0):
        raise InvalidParameterError("Average Drop needs positive base scores Y.")
    return float(100.0 * np.mean(np.maximum(0.0, base - masked) / base))


INCREASE_TOLERANCE = 1e-5


def average_increase(base: Sequence[float] | np.ndarray, masked: Sequence[float] | np.ndarray) -> float:
    """Average Increase in percent: 100/N · Σ [O > Y + INCREASE_TOLERANCE] (see the module's docstring)."""
    base, masked = _as_pair(base, masked)
    return float(100.0 * np.mean(masked > base + INCREASE_TOLERANCE))


def _as_pair(base, masked) -> tuple[np.ndarray, np.ndarray]:
    base = np.asarray(base, dtype=np.float64).reshape(-1)
    masked = np.asarray(masked, dtype=np.float64).reshape(-1)
    if base.shape != masked.shape or base.size == 0:
        raise InvalidParameterError("Base and masked scores must be non-empty and of equal length.")
    return base, masked


def confidence_pair(
    model: nn.Module,
    inputs: Tensor,
    maps: Tensor | np.ndarray,
    targets: Sequence[int] | Tensor,
) -> ConfidencePair:
    """Softmax scores of each target on ``inputs`` (N, 3, H, W) and on ``inputs * maps`` (maps (N, H, W))."""
    device = next(model.parameters()).device
    inputs = inputs.to(device)
    maps = torch.as_tensor(np.asarray(maps) if not isinstance(maps, Tensor) else maps, dtype=inputs.dtype, device=device)
    if maps.shape != (inputs.shape[0], *inputs.shape[-2:]):
        raise InvalidParameterError(f"Maps of shape {tuple(maps.shape)} do not match inputs {tuple(inputs.shape)}.")
    targets = torch.as_tensor(list(targets) if not isinstance(targets, Tensor) else targets, device=device).long()
    with torch.inference_mode():
        base = model(inputs).float().softmax(dim=1).gather(1, targets[:, None])[:, 0]
        masked = model(inputs * maps[:, None]).float().softmax(dim=1).gather(1, targets[:, None])[:, 0]
    return ConfidencePair(base.cpu().numpy(), masked.cpu().numpy())


def gaussian_blur(inputs: Tensor, kernel_size: int = 11, sigma: float = 5.0) -> Tensor:
    coordinates = torch.arange(kernel_size, dtype=inputs.dtype, device=inputs.device) - kernel_size // 2
    kernel = torch.exp(-(coordinates**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = inputs.shape[1]
    padded = torch.nn.functional.pad(inputs, (kernel_size // 2,) * 4, mode="replicate")
    horizontal = torch.nn.functional.conv2d(padded, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    return torch.nn.functional.conv2d(horizontal, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)


def deletion_insertion_curves(
    model: nn.Module,
    inputs: Tensor,
    saliency: Tensor | np.ndarray,
    target: int,
    *,
    steps: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """The insertion and deletion curves of :func:`deletion_insertion_auc`: the target's softmax
    probability after 0, 1, …, ``steps`` steps, as two arrays of ``steps + 1`` values."""
    if steps < 1:
        raise InvalidParameterError("steps must be at least 1.")
    if isinstance(target, bool) or not isinstance(target, int | np.integer) or target < 0:
        raise InvalidParameterError(f"target must be a class index, an integer from 0; got {target!r}.")
    device = next(model.parameters()).device
    image = inputs[:1].to(device)
    height, width = image.shape[-2:]
    rank = pixel_ranks(saliency)
    if tuple(rank.shape) != (height, width):
        raise InvalidParameterError(f"The map is {tuple(rank.shape)}; the image is {(height, width)}.")
    rank = rank.to(device).view(1, 1, height, width)
    pixel_count = height * width
    thresholds = torch.linspace(0, pixel_count, steps + 1, device=device).round().long()
    moved = (rank[None] < thresholds.view(-1, 1, 1, 1, 1)).to(image.dtype)[:, 0]  # (steps+1, 1, H, W)

    blurred = gaussian_blur(image)
    deletion_inputs = image * (1 - moved)
    insertion_inputs = blurred * (1 - moved) + image * moved
    insertion, deletion = (class_scores(model, batch, target) for batch in (insertion_inputs, deletion_inputs))
    return insertion, deletion


def deletion_insertion_auc(
    model: nn.Module, inputs: Tensor, saliency: Tensor | np.ndarray, target: int, *, steps: int = 16
) -> tuple[float, float]:
    """Insertion and deletion AUCs of Petsiuk et al. (RISE, BMVC 2018) for one image (1, 3, H, W).

    Pixels are ranked by saliency, most salient first (ties in raster order, :func:`pixel_ranks`, the
    same on every device), and moved in ``steps`` equal steps of
    H·W/steps pixels. **Deletion** starts from the image and replaces pixels with the all-zero
    normalised input (the dataset mean colour); **insertion** starts from a Gaussian blur of the
    image (kernel 11, sigma 5, as in RISE) and puts the original pixels back. Each curve is the
    target's softmax probability after 0, 1, …, ``steps`` steps; its AUC is the trapezoidal area
    over the fraction of pixels moved, in [0, 1]. Returns ``(insertion, deletion)``.
    Higher insertion and lower deletion are better; the evaluation reports insertion − deletion too.

    The deletion curve is Quantus' ``PixelFlipping`` with ``perturb_baseline=0.0`` and
    ``features_in_step = H·W/steps`` on a one-channel input (tests/test_quantus.py), except that
    Quantus leaves out the untouched image (step 0) and integrates over step numbers, not fractions.
    """
    curves = deletion_insertion_curves(model, inputs, saliency, target, steps=steps)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    insertion, deletion = (float(np.trapezoid(curve, fractions)) for curve in curves)
    return insertion, deletion


def class_scores(model: nn.Module, batch: Tensor, target: int) -> np.ndarray:
    """The softmax probability of class ``target`` for every input of ``batch``, in one forward pass."""
    with torch.inference_mode():
        return model(batch).float().softmax(dim=1)[:, target].cpu().numpy()


# -- Complexity, Coherency, ADCC (Poppi et al.), sparseness (Chalasani et al.), fixed-area drop --------


def complexity(saliency: Tensor | np.ndarray) -> float:
    r"""Complexity of Poppi et al., "Revisiting the evaluation of class activation mapping for
    explainability: a novel metric and experimental analysis", CVPR Workshops 2021:

    .. math:: \text{Complexity}(M) = \lVert M \rVert_1 / (H W)

    the mean value of a map in [0, 1]; lower is better (a simpler, smaller map). A map of all ones
    scores 1. Quantus' ``Complexity`` (Bhatt et al. 2020) is a different quantity, the entropy of the
    normalised attributions; camlib follows Poppi, whose ADCC needs the L1 form.
    """
    values = _map_array(saliency)
    return float(np.abs(values).mean())


def coherency(saliency: Tensor | np.ndarray, saliency_on_masked: Tensor | np.ndarray) -> float:
    r"""Coherency of Poppi et al. (CVPR Workshops 2021): the map should not change when the input is
    reduced to what the map shows.

    .. math:: \text{Coherency}(x) = \frac{1}{2}\bigl(\rho(M(x), M(x \odot M(x))) + 1\bigr)

    with :math:`\rho` Pearson's correlation over pixels and :math:`x \odot M(x)` the same masked input
    as Average Drop's (the normalised image times the map). In [0, 1], higher is better. Pearson's
    correlation is undefined when either map is constant (e.g. the uniform baseline, or a map that is
    all zeros): camlib returns NaN there, shown as "—" and left out of the mean. A map that does not
    depend on the image (the baselines) is trivially coherent: 1.
    """
    first, second = _map_array(saliency).ravel(), _map_array(saliency_on_masked).ravel()
    if first.shape != second.shape:
        raise InvalidParameterError(f"Coherency needs two maps of one shape, got {first.size} and {second.size} values.")
    first, second = first - first.mean(), second - second.mean()
    norm = np.sqrt((first**2).sum() * (second**2).sum())
    if norm <= 0 or not np.isfinite(norm):
        return float("nan")
    correlation = float(np.clip((first * second).sum() / norm, -1.0, 1.0))
    return (correlation + 1.0) / 2.0


def adcc(coherency_value: float, complexity_value: float, drop: float) -> float:
    r"""ADCC of Poppi et al. (CVPR Workshops 2021), for one image: the harmonic mean of Coherency,
    1 − Complexity and 1 − Average Drop,

    .. math:: \text{ADCC} = 3 \Bigl(\frac{1}{\text{Coherency}} + \frac{1}{1 - \text{Complexity}}
              + \frac{1}{1 - \text{AD}}\Bigr)^{-1}

    with AD = max(0, Y − O)/Y this image's drop as a fraction (see :func:`image_drop`). In [0, 1],
    higher is better; the evaluation averages it over images as the paper does. A zero term gives 0
    (the harmonic mean's limit), so the uniform map (Complexity 1) scores 0 even though its Coherency
    is undefined; otherwise an undefined Coherency gives NaN.
    """
    terms = (coherency_value, 1.0 - complexity_value, 1.0 - drop)
    if any(np.isfinite(term) and term <= 0 for term in terms):
        return 0.0
    if not all(np.isfinite(term) for term in terms):
        return float("nan")
    return float(3.0 / sum(1.0 / term for term in terms))


def image_drop(base: float, masked: float) -> float:
    """One image's drop max(0, Y − O)/Y, a fraction in [0, 1] (Average Drop is its mean × 100)."""
    if base <= 0:
        raise InvalidParameterError("A drop needs a positive base score Y.")
    return max(0.0, base - masked) / base


def sparseness(saliency: Tensor | np.ndarray) -> float:
    r"""Sparseness of Chalasani et al., "Concise explanations of neural networks using adversarial
    training", ICML 2020, as Quantus' ``Sparseness`` computes it: the Gini index of the map's
    absolute values :math:`a_{(1)} \le \dots \le a_{(n)}` (ascending, n = H·W pixels),

    .. math:: G = \frac{\sum_{i=1}^{n} (2i - n - 1)\, a_{(i)}}{n \sum_i a_{(i)}}

    In [0, 1): 0 for a uniform map, near 1 when a few pixels hold all the mass; higher is better
    (more concentrated). Quantus adds 1e-7 to every value before sorting; camlib does not, and gives 0
    for an all-zero map (where Quantus' epsilon also gives 0).
    """
    values = np.sort(np.abs(_map_array(saliency)).ravel())
    total = values.sum()
    if total <= 0:
        return 0.0
    count = values.size
    weights = 2.0 * np.arange(1, count + 1) - count - 1
    return float((weights * values).sum() / (count * total))


def map_quality_scores(
    saliency: Tensor | np.ndarray, saliency_on_masked: Tensor | np.ndarray, base: float, masked: float
) -> dict[str, float]:
    """Complexity, Coherency, ADCC and sparseness of one map, with ``saliency_on_masked`` the map of the
    image masked by it and ``base``, ``masked`` the class scores Y and O; NaN where one is undefined."""
    coherent, simple = coherency(saliency, saliency_on_masked), complexity(saliency)
    return {
        "complexity": simple,
        "coherency": coherent,
        "adcc": adcc(coherent, simple, image_drop(base, masked)),
        "sparseness": sparseness(saliency),
    }


FIXED_AREAS: tuple[int, ...] = (10, 25, 50)
"""Percentages of the image kept by the fixed-area Average Drop."""


PIXEL_ORDER = "stable, ties in raster order"
"""How :func:`pixel_ranks` orders pixels, recorded in every results CSV: rows ranked another way
(camlib before 2026-11-26 sorted unstably on the map's device) are not mixed with these."""


def pixel_ranks(saliency: Tensor | np.ndarray) -> Tensor:
    """The rank of every pixel of a 2-D map, 0 for the most salient, as a (H, W) tensor on the CPU.

    Ties are broken by raster order (row by row, the earlier pixel first), with a stable sort on the
    CPU, so the order, and every metric built on it (insertion, deletion, the fixed-area drops), is the
    same on every device. An unstable sort does not: torch's default CPU sort scrambles tied pixels (a
    uniform map, the zeros of a ReLU'd map) where a GPU's kept them in raster order, and a uniform map's
    insertion AUC on one image came out 0.247 against 0.065.
    """
    values = torch.as_tensor(_map_array(saliency), dtype=torch.float32)
    height, width = values.shape
    order = torch.sort(values.reshape(-1), descending=True, stable=True).indices
    rank = torch.empty(height * width, dtype=torch.long)
    rank[order] = torch.arange(height * width)
    return rank.view(height, width)


def top_area_masks(saliency: Tensor | np.ndarray, percents: Sequence[int] = FIXED_AREAS) -> Tensor:
    r"""Binary masks (len(percents), H, W) that keep the top ``p`` % of pixels by the map, for the
    **Average Drop at a fixed area**: the image times such a mask (kept pixels unchanged, the others 0
    in normalised space: the dataset mean colour, as in Average Drop and deletion), scored like
    Average Drop. Every map is judged on the same area, so a broad map cannot win by being broad
    (cf. the fixed-budget evaluation of Fong & Vedaldi, "Interpretable explanations of black boxes by
    meaningful perturbation", ICCV 2017).

    Exactly k = ⌊p/100 · H·W + ½⌋ pixels are kept (at least 1), ranked by :func:`pixel_ranks`: ties go
    by raster order, so a uniform map keeps the top rows of the image, not the whole image.
    """
    rank = pixel_ranks(saliency)
    height, width = rank.shape
    pixel_count = height * width
    rank = rank.reshape(-1)
    masks = []
    for percent in percents:
        if not 0 < percent <= 100:
            raise InvalidParameterError(f"A fixed area is a percentage in (0, 100], got {percent}.")
        keep = max(1, math.floor(percent / 100.0 * pixel_count + 0.5))
        masks.append((rank < keep).view(height, width))
    return torch.stack(masks).float()


def _map_array(saliency: Tensor | np.ndarray) -> np.ndarray:
    values = saliency.detach().cpu().numpy() if isinstance(saliency, Tensor) else np.asarray(saliency)
    values = np.squeeze(values.astype(np.float64))
    if values.ndim != 2 or values.size == 0:
        raise InvalidParameterError(f"A map must be 2-D (H, W), got shape {np.shape(saliency)}.")
    return values
