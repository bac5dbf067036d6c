"""Small model factories that ``module:function`` model descriptions name in the tests
(``model_factories:tuple_output`` etc.); tests/ is on sys.path when pytest runs."""

from __future__ import annotations

import torch
from torch import nn


class SmallNet(nn.Module):
    """conv -> ReLU -> conv (``features``) -> global average pooling -> ``fc``: CAM is exact at ``features``."""

    def __init__(self, num_classes: int = 5, side: int | None = None) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.act = nn.ReLU()
        self.features = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16, num_classes)
        self.side = side  # when set, the model takes only side x side inputs

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        if self.side is not None and tuple(x.shape[-2:]) != (self.side, self.side):
            raise ValueError(f"Input image size ({x.shape[-2]}*{x.shape[-1]}) doesn't match model ({self.side}*{self.side}).")
        return self.fc(self.features(self.act(self.stem(x))).mean(dim=(2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x)


def _seeded(model: nn.Module) -> nn.Module:
    torch.manual_seed(3)
    for parameter in model.parameters():
        nn.init.normal_(parameter, std=0.3)
    return model


class TupleNet(SmallNet):
    def forward(self, x):
        return self.logits(x), {"aux": x.mean()}


class DictNet(SmallNet):
    def forward(self, x):
        return {"aux": x.mean(), "logits": self.logits(x)}


class Output:
    def __init__(self, logits):
        self.logits = logits


class ObjectNet(SmallNet):
    def forward(self, x):
        return Output(self.logits(x))


def plain(num_classes: int = 5) -> nn.Module:
    return _seeded(SmallNet(num_classes))


def tuple_output() -> nn.Module:
    return _seeded(TupleNet())


def dict_output() -> nn.Module:
    return _seeded(DictNet())


def object_output() -> nn.Module:
    return _seeded(ObjectNet())


def only_64() -> nn.Module:
    """Takes only 64 x 64 inputs (as a ViT takes only its own size)."""
    return _seeded(SmallNet(side=64))


def raises() -> nn.Module:
    raise RuntimeError("the factory could not find its config")


def nan_output() -> nn.Module:
    model = _seeded(SmallNet())
    with torch.no_grad():
        model.fc.bias[0] = float("nan")  # in the model itself: no weights file to refuse
    return model


def not_a_module():
    return "a string"
