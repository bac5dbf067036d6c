"""The batch size of the masked passes: given, remembered for a model, or chosen by timing the first batches."""

from __future__ import annotations

import threading
import weakref

import torch
from torch import nn

CPU_BATCH_CANDIDATES = (2, 4, 8, 16)
"""Batch sizes tried on the CPU when ``batch_size`` is left to camlib."""
CPU_BATCH_LIMIT = 64
"""The largest batch camlib tries on the CPU, only while each doubling beyond 16 proves faster."""
CUDA_BATCH_SIZE = 128
"""The masked passes' batch size on CUDA when ``batch_size`` is left to camlib (halved on out-of-memory)."""


_tuned_sizes: weakref.WeakKeyDictionary[nn.Module, dict[tuple, int]] = weakref.WeakKeyDictionary()
_tuned_sizes_lock = threading.Lock()


def remembered_batch_size(model: nn.Module, key: tuple) -> int | None:
    """The batch size an earlier call tuned for this model and input shape, if any."""
    with _tuned_sizes_lock:
        return _tuned_sizes.get(model, {}).get(key)


def remember_batch_size(model: nn.Module, key: tuple, size: int) -> None:
    with _tuned_sizes_lock:
        _tuned_sizes.setdefault(model, {})[key] = size


class BatchSizer:
    """The batch size of the masked passes: the one given, or one chosen by timing the first batches.

    On the CPU the fastest batch size depends on the model and the processor's caches (small batches win on
    EfficientNet-Lite0, large ones on AlexNet: measured in the README's Performance section). So when no size is given, one warm-up batch and then one batch of
    each of :data:`CPU_BATCH_CANDIDATES` run timed, and the rest run at the size that was fastest per
    image. If the largest size tried was the fastest, its double is tried too, up to
    :data:`CPU_BATCH_LIMIT`. These batches are real work: nothing is computed twice. The size chosen is
    remembered for the model and input shape (weakly: it goes when the model goes), and a later call
    passes it as ``remembered`` and skips the trials. On CUDA larger batches are faster until memory
    runs out: :data:`CUDA_BATCH_SIZE`, halved on out-of-memory.
    """

    def __init__(self, batch_size: int | None, device: torch.device, remembered: int | None = None) -> None:
        self.trials: list[int] = []
        self.seconds_per_item: dict[int, float] = {}
        if batch_size is not None:
            self.size = batch_size
        elif remembered is not None:
            self.size = remembered
        elif device.type == "cuda":
            self.size = CUDA_BATCH_SIZE
        else:
            self.size = CPU_BATCH_CANDIDATES[1]
            self.trials = [self.size, *CPU_BATCH_CANDIDATES]  # the first one warms up and is not timed
        self._warm = False
        self._attempted: set[int] = set()

    def next_size(self) -> int:
        return self.trials[0] if self.trials else self.size

    def record(self, count: int, seconds: float) -> None:
        """Record that a batch of ``count`` masked images took ``seconds``."""
        if not self.trials:
            return
        size = self.trials.pop(0)
        if self._warm and count == size:  # a short last batch says nothing about its size
            self.seconds_per_item[size] = seconds / count
        self._warm = True
        self._attempted.add(size)
        if not self.trials and self.seconds_per_item:
            self.size = min(self.seconds_per_item, key=self.seconds_per_item.__getitem__)
            larger = 2 * max(self.seconds_per_item)
            if self.size == larger // 2 and larger <= CPU_BATCH_LIMIT and larger not in self._attempted:
                self.trials = [larger]

    @property
    def tuned(self) -> bool:
        """Whether this sizer chose its size by timing, and has finished doing so."""
        return bool(self.seconds_per_item) and not self.trials

    def halve(self) -> int:
        """Halve the next batch (after an out-of-memory error) and keep that size from then on."""
        self.size = max(1, self.next_size() // 2)
        self.trials = []
        return self.size
