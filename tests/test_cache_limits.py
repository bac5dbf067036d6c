"""Every cache the app and the library keep has a bound, written in camlib.cache_limits, and the bound holds.

Each check runs on the real cache and on a planted unbounded variant, which it must catch.
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from camlib import cache_limits, intervals
from camlib.lru import BoundedCache, size_of

pytest.importorskip("streamlit")
import streamlit as st

from camlib.app import inputs, layers, map_requests as maps, models
from camlib.explain import MethodResult

REPO_ROOT = Path(__file__).resolve().parents[1]
MiB = 2**20


def big_array(nbytes: int) -> np.ndarray:
    """An array whose ``nbytes`` is ``nbytes`` without allocating them (a broadcast view of one float32)."""
    return np.broadcast_to(np.zeros(1, np.float32), (nbytes // 4,))


def overflow(cache: BoundedCache, *, entries: int, entry_bytes: int) -> list[str]:
    """Put ``entries`` values of ``entry_bytes`` each into ``cache``; the bounds broken afterwards (none: [])."""
    for index in range(entries):
        cache.get(("key", index), lambda: big_array(entry_bytes))
    broken = []
    if len(cache) > cache.max_entries:
        broken.append(f"{len(cache)} entries > {cache.max_entries}")
    if cache.bytes > cache.max_bytes or size_of(list(cache._entries.values())) > cache.max_bytes + 64 * 1024:
        broken.append(f"{cache.bytes} bytes > {cache.max_bytes}")
    return broken


class UnboundedCache(BoundedCache):
    """The planted error: a cache that never drops anything."""

    def put(self, key, value) -> None:
        size = self._sizer(value)
        with self._lock:
            self._entries[key] = (value, size)
            self._bytes += size


# -- the bounded cache itself ----------------------------------------------------------------------


@pytest.mark.parametrize("cache_class, holds", [(BoundedCache, True), (UnboundedCache, False)])
def test_a_bounded_cache_keeps_its_entry_and_byte_bounds(cache_class, holds):
    by_count = cache_class(max_entries=5, max_bytes=100 * MiB)
    by_bytes = cache_class(max_entries=1000, max_bytes=10 * MiB)
    broken = overflow(by_count, entries=20, entry_bytes=MiB) + overflow(by_bytes, entries=20, entry_bytes=MiB)
    assert (broken == []) is holds, broken


def test_a_bounded_cache_drops_the_least_recently_used_first_and_keeps_no_oversized_value():
    cache = BoundedCache(max_entries=3, max_bytes=10 * MiB)
    for key in "abc":
        cache.get(key, lambda: big_array(MiB))
    cache.get("a", lambda: pytest.fail("'a' was cached"))  # used: now the most recent
    cache.get("d", lambda: big_array(MiB))
    assert "a" in cache and "b" not in cache and len(cache) == 3
    oversized = cache.get("huge", lambda: big_array(11 * MiB))
    assert oversized.nbytes == 11 * MiB and "huge" not in cache and len(cache) == 3


def test_a_failed_computation_caches_nothing_and_one_key_is_computed_once_across_threads():
    cache = BoundedCache(max_entries=4, max_bytes=MiB)
    with pytest.raises(ZeroDivisionError):
        cache.get("x", lambda: 1 / 0)
    assert "x" not in cache and cache.bytes == 0
    calls, gate = [], threading.Event()

    def slow():
        calls.append(1)
        gate.wait(5)
        return np.ones(4)

    threads = [threading.Thread(target=cache.get, args=("y", slow)) for _ in range(4)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(10)
    assert len(calls) == 1


def test_size_of_counts_arrays_inside_results_and_a_modules_parameters():
    result = MethodResult("gradcam", "Grad-CAM", np.zeros((224, 224), np.float32), 0.1)
    assert 224 * 224 * 4 <= size_of(result) < 224 * 224 * 4 + 4096
    assert size_of(nn.Linear(10, 10)) == (100 + 10) * 4


# -- the app's caches ---------------------------------------------------------------------------------


def app_caches_broken(maps_cache: BoundedCache, monkeypatch) -> list[str]:
    """Fill the maps cache through the app's own path, twice its byte bound; the bounds broken afterwards."""
    monkeypatch.setattr(maps, "MAPS", maps_cache)
    monkeypatch.setattr(maps, "_computed", lambda request, image, progress: MethodResult(
        request.method_key, "fake", big_array(MiB), 0.0))
    choice = models.ModelChoice("efficientnet_lite0")
    for index in range(2 * cache_limits.MAPS_BYTES // MiB):
        maps._cached_result(maps.MapRequest(f"digest-{index}", choice, "layer", 1, "gradcam"), None)
    broken = []
    if len(maps_cache) > cache_limits.MAPS or maps_cache.bytes > cache_limits.MAPS_BYTES:
        broken.append(f"maps: {len(maps_cache)} entries, {maps_cache.bytes / MiB:.0f} MiB")
    return broken


@pytest.mark.parametrize("cache_class, holds", [(BoundedCache, True), (UnboundedCache, False)])
def test_the_apps_map_cache_stays_within_its_bytes(cache_class, holds, monkeypatch):
    assert (maps.MAPS.max_entries, maps.MAPS.max_bytes) == (cache_limits.MAPS, cache_limits.MAPS_BYTES)
    fresh = cache_class(cache_limits.MAPS, cache_limits.MAPS_BYTES)
    assert (app_caches_broken(fresh, monkeypatch) == []) is holds


class FakeBackbone:
    def __init__(self, megabytes: int) -> None:
        self.model = nn.Module()
        self.model.weight = nn.Parameter(torch.zeros(1).expand(megabytes * MiB // 4), requires_grad=False)


@pytest.mark.parametrize("cache_class, holds", [(BoundedCache, True), (UnboundedCache, False)])
def test_the_apps_model_cache_stays_within_its_count_and_bytes(cache_class, holds, monkeypatch):
    assert (models.MODELS.max_entries, models.MODELS.max_bytes) == (cache_limits.MODELS, cache_limits.MODELS_BYTES)
    fresh = cache_class(cache_limits.MODELS, cache_limits.MODELS_BYTES, sizer=models.model_bytes)
    monkeypatch.setattr(models, "MODELS", fresh)
    sizes = {f"model-{index}": megabytes for index, megabytes in enumerate([1, 2, 3, 4, 5, 600, 700, 800, 1])}
    monkeypatch.setattr(models, "load_choice", lambda choice: FakeBackbone(sizes[choice.spec]))
    for spec in sizes:
        assert models.shared_model(models.ModelChoice(spec)).backbone.model.weight.numel() == sizes[spec] * MiB // 4
    within = len(fresh) <= cache_limits.MODELS and fresh.bytes <= cache_limits.MODELS_BYTES
    assert within is holds


@pytest.mark.parametrize("cache_class, holds", [(BoundedCache, True), (UnboundedCache, False)])
def test_the_apps_decoded_photos_stay_within_their_bytes(cache_class, holds, monkeypatch):
    assert (inputs.DECODED.max_entries, inputs.DECODED.max_bytes) == (cache_limits.DECODED_IMAGES, cache_limits.DECODED_IMAGES_BYTES)
    fresh = cache_class(cache_limits.DECODED_IMAGES, cache_limits.DECODED_IMAGES_BYTES)
    monkeypatch.setattr(inputs, "DECODED", fresh)
    monkeypatch.setattr(inputs, "load_image_with_notes", lambda data, name: big_array(100 * MiB))
    for index in range(12):
        inputs._decoded(f"digest-{index}", "photo.png", b"bytes")
    within = len(fresh) <= cache_limits.DECODED_IMAGES and fresh.bytes <= cache_limits.DECODED_IMAGES_BYTES
    assert within is holds


def st_cache_bound(function) -> int | None:
    """The ``max_entries`` of an ``st.cache_data`` function (``None``: unbounded)."""
    return function._info.max_entries


def test_the_apps_small_caches_have_their_bounds_and_streamlit_keeps_to_them():
    assert st_cache_bound(models.top_predictions) == cache_limits.PREDICTIONS
    assert st_cache_bound(models.class_probability) == cache_limits.PREDICTIONS
    assert st_cache_bound(layers.layer_grid) == cache_limits.LAYER_GRIDS
    assert st_cache_bound(inputs.sample_bytes) == cache_limits.SAMPLE_FILES

    calls = []

    @st.cache_data(max_entries=3, show_spinner=False)
    def bounded(index: int) -> int:
        calls.append(index)
        return index

    @st.cache_data(show_spinner=False)  # the planted error: no bound
    def unbounded(index: int) -> int:
        return index

    assert st_cache_bound(unbounded) is None
    for index in [*range(6), 0]:  # index 0 was dropped for 3, 4, 5: computed again
        bounded(index)
    assert calls == [0, 1, 2, 3, 4, 5, 0]


# -- the library's caches -----------------------------------------------------------------------------


def test_the_bootstrap_draws_stay_within_their_bytes(monkeypatch):
    fresh = BoundedCache(cache_limits.BOOTSTRAP_DRAWS, cache_limits.BOOTSTRAP_DRAWS_BYTES)
    monkeypatch.setattr(intervals, "_DRAWS", fresh)
    for count in range(100, 160):
        draws = intervals._draws(count, 0, 10_000)
        assert draws.shape == (10_000, count)
    assert len(fresh) <= cache_limits.BOOTSTRAP_DRAWS and fresh.bytes <= cache_limits.BOOTSTRAP_DRAWS_BYTES
    planted = UnboundedCache(cache_limits.BOOTSTRAP_DRAWS, cache_limits.BOOTSTRAP_DRAWS_BYTES)
    monkeypatch.setattr(intervals, "_DRAWS", planted)
    for count in range(100, 160):
        intervals._draws(count, 0, 10_000)
    assert planted.bytes > cache_limits.BOOTSTRAP_DRAWS_BYTES


CACHE_DECORATORS = {"cache", "lru_cache", "cache_data", "cache_resource"}
BOUND_KEYWORDS = {"maxsize", "max_entries", "ttl"}


def unbounded_caches(source: str, name: str) -> list[str]:
    """``file:line`` of each cache decorator in ``source`` without a bound (``@cache``, ``lru_cache()`` or
    ``lru_cache(maxsize=None)``, ``st.cache_data``/``st.cache_resource`` without ``max_entries`` or ``ttl``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        for decorator in getattr(node, "decorator_list", []):
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            label = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if label not in CACHE_DECORATORS:
                continue
            bounds = {keyword.arg: keyword.value for keyword in (call.keywords if call else []) if keyword.arg in BOUND_KEYWORDS}
            if call and label == "lru_cache" and call.args:
                bounds["maxsize"] = call.args[0]
            if not bounds or all(isinstance(value, ast.Constant) and value.value is None for value in bounds.values()):
                found.append(f"{name}:{decorator.lineno}")
    return found


def test_every_cache_in_the_app_and_the_library_has_a_bound():
    files = [REPO_ROOT / "app.py", *sorted((REPO_ROOT / "pages").glob("*.py")), *sorted((REPO_ROOT / "camlib").rglob("*.py"))]
    found = [hit for path in files for hit in unbounded_caches(path.read_text(), str(path.relative_to(REPO_ROOT)))]
    assert found == []
    planted = "from functools import cache, lru_cache\nimport streamlit as st\n@cache\ndef a(): ...\n" \
              "@lru_cache(maxsize=None)\ndef b(): ...\n@st.cache_data(show_spinner=False)\ndef c(): ...\n" \
              "@lru_cache(maxsize=8)\ndef d(): ...\n@st.cache_resource(max_entries=2)\ndef e(): ...\n"
    assert unbounded_caches(planted, "planted") == ["planted:3", "planted:5", "planted:7"]
