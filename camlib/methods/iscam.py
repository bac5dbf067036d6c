"""IS-CAM: Score-CAM with each channel's score integrated over growing masks (Naidu et al., 2020)."""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from camlib.methods.base import LayerCapture, ProgressCallback
from camlib.methods.masked_passes import MaskedPassCAM
from camlib.methods.params import check_params
from camlib.methods.repeated_passes import averaged_channel_scores
from camlib.methods.tokens import SpatialReshape

Path = Literal["cumulative", "linear"]


def mask_scale(step: int, n_samples: int, path: Path) -> float:
    """The factor of the smooth mask at step ``step`` (0-based) of ``n_samples``."""
    if path == "linear":
        return (step + 1) / n_samples
    return sum(j / n_samples for j in range(1, step + 2))


class ISCAM(MaskedPassCAM, key="iscam"):
    r"""IS-CAM, from `IS-CAM: Integrated Score-CAM for axiomatic-based explanations
    <https://arxiv.org/abs/2010.03023>`_ (Naidu, Ghosh, Maurya, Nayak K and Kundu, arXiv 2010.03023, 2020).

    Score-CAM's score of channel :math:`k` averaged along a path of scaled masks :math:`m_i H_k`:

    .. math::
        C_k = \frac{1}{N} \sum_{i=1}^{N} f^c(X \circ m_i H_k) - f^c(X_b), \qquad
        L^c = \mathrm{ReLU}\Big(\sum_k \mathrm{softmax}_k(C_k) A_k\Big)

    Cost: one forward pass plus ``n_samples`` masked passes per non-constant channel, on Score-CAM's batches.

    Left open, and camlib's choices: the factors :math:`m_i`. torchcam's ``ISCAM`` code, which camlib
    follows by default (``path="cumulative"``), adds :math:`i/N` at each step, so
    :math:`m_i = \sum_{j=1}^{i} j/N` grows to :math:`(N+1)/2` (5.5 for :math:`N = 10`): the masked input is
    brighter than the image. Its docstring writes the sum from :math:`j = 0` to :math:`i - 1` instead.
    ``path="linear"`` takes :math:`m_i = i/N`, the straight path from the baseline to the masked input that
    an integral of the score (as in Integrated Gradients) suggests. The baseline :math:`X_b` is all zeros
    (torchcam subtracts the score of the image; the constant cancels in the softmax). ``n_samples=10``
    as torchcam. A constant channel scores 0 without passes.

    Args:
        n_samples: steps along the path, :math:`N`.
        path: ``"cumulative"`` or ``"linear"``.
        sampled_channels, seed, batch_size, perturbation_size, mixed_precision, progress: see
            :class:`~camlib.methods.masked_passes.MaskedPassCAM`.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        n_samples: int = 10,
        path: Path = "cumulative",
        progress: ProgressCallback | None = None,
        reshape: SpatialReshape | None = None,
        **options,
    ) -> None:
        check_params(type(self), {"n_samples": n_samples, "path": path, **options})
        super().__init__(model, target_layer, progress=progress, reshape=reshape, **options)
        self.n_samples = n_samples
        self.path = path

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        def change_for(step: int, _image: int):
            scale = mask_scale(step, self.n_samples, self.path)
            return lambda masks: masks * scale

        scores = averaged_channel_scores(self, inputs, capture.activations, targets, change_for, self.n_samples)
        return scores.softmax(dim=1)
