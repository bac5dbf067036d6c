"""Every cache's bound, in one place: the app's caches, shared by all sessions of one server process, and the
library's own memoised functions. The README's "The app's memory" section lists them.

The large entries (maps, decoded photos, models) are bounded by bytes as well as by count, in a
:class:`camlib.lru.BoundedCache`, which drops the least recently used entries first; the small ones by count
(``st.cache_data``'s ``max_entries``, ``functools.lru_cache``'s ``maxsize``). Together the app's caches hold
at most about 2.2 GiB (:func:`app_bytes_bound`) plus the small entries (a few MB).

Not here: a session's own state, which goes when the session closes (its last upload, at most the upload
limit; the Faithfulness page's latest evaluations, :data:`SESSION_EVALUATIONS`).
"""

from __future__ import annotations

MiB = 2**20

# -- the app (camlib/app) -------------------------------------------------------------------------
MODELS = 4  # loaded models
MODELS_BYTES = 1536 * MiB  # their parameters and buffers (EfficientNet-Lite0 is 19 MB, ResNet50 98 MB, ViT-B/16 330 MB)
MAPS = 4096  # computed maps (a float32 map is 196 KiB at 224 × 224, up to 1.5 MiB at 448 × 896)
MAPS_BYTES = 256 * MiB
DECODED_IMAGES = 8  # decoded photos (an upload may have 50 megapixels: 143 MiB as RGB)
DECODED_IMAGES_BYTES = 384 * MiB
SAMPLE_FILES = 16  # the sample photos' encoded bytes
PREDICTIONS = 256  # top-5 lists, and class probabilities (each a few hundred bytes)
LAYER_GRIDS = 64  # a layer's output grid size (two integers)
SESSION_EVALUATIONS = 8  # per session: the Faithfulness page's latest evaluations (kept while the session lives)

# -- the library (camlib) --------------------------------------------------------------------------
LOGITS_CLASSES = 64  # camlib.backbones.layers: a model class wrapped to return logits
METHOD_PARAMETERS = 64  # camlib.methods.params: a method class's user-settable parameters
MEASURED_FILES = 64  # camlib.measured: a shipped results file, read and summarised
POINTING_SUMMARIES = 64  # camlib.measured: the pointing game's rows for a (backbone, layer)
BOOTSTRAP_DRAWS = 32  # camlib.intervals: resample indices, one array of resamples × images per entry
BOOTSTRAP_DRAWS_BYTES = 128 * MiB  # 10 000 resamples of 250 images are 19 MiB; a larger array is not kept


def app_bytes_bound() -> int:
    """The most bytes the app's byte-bounded caches may hold together."""
    return MODELS_BYTES + MAPS_BYTES + DECODED_IMAGES_BYTES
