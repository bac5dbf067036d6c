"""CAM: the class activation map of Zhou et al. (2016)."""

from __future__ import annotations

from torch import Tensor, nn

from camlib.errors import MethodNotApplicableError
from camlib.methods.base import BaseCAM, LayerCapture, ProgressCallback, resolve_layer
from camlib.methods.tokens import SpatialReshape, is_token_model

NOT_APPLICABLE_REASON = (
    "CAM needs global average pooling followed by one linear layer, whose weights give each channel's "
    "importance for a class. {model} has no such head, so CAM is not defined for it; use Grad-CAM, "
    "which generalises CAM to any architecture."
)
TOKEN_MODEL = (
    "A Vision Transformer (its layers output tokens, not a map that is average-pooled into one linear layer: "
    "it classifies from its class token, or from tokens pooled after a final norm)"
)


class CAM(BaseCAM, key="cam"):
    r"""Class activation map, from `Learning Deep Features for Discriminative Localization
    <https://arxiv.org/abs/1512.04150>`_ (Zhou et al., CVPR 2016).

    The channel weights are the classifier's weights for class :math:`c`:

    .. math:: L^c_{CAM}(x, y) = \mathrm{ReLU}\Big(\sum_k w_k^c A_k(x, y)\Big)

    where :math:`A_k` is channel :math:`k` of the layer that feeds global average pooling and
    :math:`w^c` is row :math:`c` of the single linear layer after it. One forward pass, no gradients.

    Called as ``CAM(model, "layer4", classifier_layer="fc")(images, targets)`` (examples: :class:`BaseCAM`).

    Args:
        model: a classifier ending in global average pooling and one ``nn.Linear``.
        target_layer: the layer whose output is pooled (``layer4`` for ResNets).
        classifier_layer: the ``nn.Linear`` after the pooling, or its dotted name.
        progress: unused; accepted so every method takes the same arguments.
        reshape: see :class:`BaseCAM`.

    On a Vision Transformer CAM does not apply: whatever the classifier, it raises
    :class:`~camlib.errors.MethodNotApplicableError` saying why. On a Swin, whose final norm is
    average-pooled into one linear layer (timm's ``norm`` and ``head.fc``), it does.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        classifier_layer: str | nn.Module | None = None,
        progress: ProgressCallback | None = None,
        reshape: SpatialReshape | None = None,
    ) -> None:
        super().__init__(model, target_layer, progress=progress, reshape=reshape)
        if is_token_model(model):
            raise MethodNotApplicableError(NOT_APPLICABLE_REASON.format(model=TOKEN_MODEL))
        if classifier_layer is None:
            raise MethodNotApplicableError(NOT_APPLICABLE_REASON.format(model="This model"))
        classifier = resolve_layer(model, classifier_layer)
        if not isinstance(classifier, nn.Linear):
            raise MethodNotApplicableError(
                f"CAM needs the layer after global average pooling to be one nn.Linear, got {type(classifier).__name__}."
            )
        self.classifier = classifier

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        if capture.layout == "tokens":
            raise MethodNotApplicableError(NOT_APPLICABLE_REASON.format(model=TOKEN_MODEL))
        channels = capture.activations.shape[1]
        if self.classifier.in_features != channels:
            raise MethodNotApplicableError(
                f"CAM needs the layer that feeds global average pooling: the target layer has {channels} channels "
                f"but the classifier expects {self.classifier.in_features}."
            )
        return self.classifier.weight[targets].detach()
