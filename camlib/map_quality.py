r"""Complexity, Coherency and ADCC (Poppi et al., CVPR Workshops 2021) and the Gini sparseness (Chalasani et
al., ICML 2020, as in Quantus): what a map looks like, and whether it holds when the image is reduced to it.

Part of :mod:`camlib.metrics`, which re-exports every public name here.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from camlib.errors import InvalidParameterError


def complexity(saliency: Tensor | np.ndarray) -> float:
    r"""Complexity of Poppi et al., "Revisiting the evaluation of class activation mapping for
    explainability: a novel metric and experimental analysis", CVPR Workshops 2021:

    .. math:: \text{Complexity}(M) = \lVert M \rVert_1 / (H W)

    the mean value of a map in [0, 1]; lower is better (a simpler, smaller map). A map of all ones
    scores 1. Quantus' ``Complexity`` (Bhatt et al. 2020) is a different quantity, the entropy of the
    normalised attributions; camlib follows Poppi, whose ADCC needs the L1 form.
    """
    values = map_array(saliency)
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
    first, second = map_array(saliency).ravel(), map_array(saliency_on_masked).ravel()
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
    values = np.sort(np.abs(map_array(saliency)).ravel())
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


def map_array(saliency: Tensor | np.ndarray) -> np.ndarray:
    """A map as a 2-D float64 array (axes of size 1 are dropped); anything else is refused."""
    values = saliency.detach().cpu().numpy() if isinstance(saliency, Tensor) else np.asarray(saliency)
    values = np.squeeze(values.astype(np.float64))
    if values.ndim != 2 or values.size == 0:
        raise InvalidParameterError(f"A map must be 2-D (H, W), got shape {np.shape(saliency)}.")
    return values
