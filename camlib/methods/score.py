"""Score-weighted methods, re-exported for the code that imports them from here.

The methods live in :mod:`camlib.methods.scorecam` and :mod:`camlib.methods.gradpp_scorecam`; the
masked passes in :mod:`camlib.methods.masked_passes`, their batch size in
:mod:`camlib.methods.batch_sizing`, and the fast setting's surrogate in :mod:`camlib.methods.surrogate`.
"""

from camlib.methods.batch_sizing import (
    CPU_BATCH_CANDIDATES,
    CPU_BATCH_LIMIT,
    CUDA_BATCH_SIZE,
    BatchSizer,
    remember_batch_size,
    remembered_batch_size,
)
from camlib.methods.gradpp_scorecam import COMBINATIONS, Combination, GradPPScoreCAM, combine_scores
from camlib.methods.masked_passes import (
    MaskedPassCAM,
    MaskedPasses,
    MaskedPassOptions,
    ScoreKind,
    masked_input_scores,
    prefers_channels_last,
)
from camlib.methods.sampled_scores import sampled_channel_scores
from camlib.methods.scorecam import ScoreCAM
from camlib.methods.surrogate import SURROGATE_GRID, SURROGATE_RIDGE, mask_features, surrogate_scores

__all__ = [
    "COMBINATIONS",
    "CPU_BATCH_CANDIDATES",
    "CPU_BATCH_LIMIT",
    "CUDA_BATCH_SIZE",
    "SURROGATE_GRID",
    "SURROGATE_RIDGE",
    "BatchSizer",
    "Combination",
    "GradPPScoreCAM",
    "MaskedPassCAM",
    "MaskedPassOptions",
    "MaskedPasses",
    "ScoreCAM",
    "ScoreKind",
    "combine_scores",
    "mask_features",
    "masked_input_scores",
    "prefers_channels_last",
    "remember_batch_size",
    "remembered_batch_size",
    "sampled_channel_scores",
    "surrogate_scores",
]
