"""Loading images in several threads leaves the process's warning filters as they were.

The loader keeps Pillow's DecompressionBombWarning quiet with ``warnings.catch_warnings``, which saves
and restores the process-wide filter list: two overlapping uses restore in the wrong order and leave a
filter behind. camlib's own loads are serialised by a lock; the planted error (no lock), with a slowed
``Image.open`` so the threads overlap every time, leaves the filter behind and fails the same check.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings

import pytest
from image_samples import encode, noise, png_header_only
from PIL import Image

import camlib.images
from camlib.errors import ImageLoadError
from camlib.images import load_image


def load_in_threads(monkeypatch, count: int = 4) -> list:
    real_open = Image.open

    def slow_open(*args, **kwargs):
        time.sleep(0.05)  # so that, without the lock, every thread is inside catch_warnings at once
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", slow_open)
    files = [png_header_only(10_000, 10_000), encode(noise(5, 5))] * (count // 2)
    outcomes: list = [None] * len(files)

    def load(index: int) -> None:
        try:
            outcomes[index] = load_image(files[index], name=f"{index}.png").size
        except ImageLoadError as error:
            outcomes[index] = str(error)

    threads = [threading.Thread(target=load, args=(index,)) for index in range(len(files))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_threads_leave_the_warning_filters_as_they_were(monkeypatch):
    before = list(warnings.filters)
    outcomes = load_in_threads(monkeypatch)
    assert list(warnings.filters) == before
    assert outcomes[1] == (5, 5) and "10000×10000 (100 megapixels)" in outcomes[0]


def test_check_catches_overlapping_catch_warnings(monkeypatch):
    monkeypatch.setattr(camlib.images, "_OPENING", contextlib.nullcontext())  # planted: no lock
    before = list(warnings.filters)
    try:
        load_in_threads(monkeypatch)
        leaked = list(warnings.filters) != before
    finally:
        warnings.filters[:] = before  # repair what the planted error broke
    assert leaked


@pytest.mark.parametrize("warning_filters", [[], [("error", None, Warning, None, 0)]], ids=["none", "error"])
def test_a_bomb_header_gives_no_warning_whatever_the_filters(warning_filters):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filters[:0] = warning_filters
        with pytest.raises(ImageLoadError, match="100 megapixels"):
            load_image(png_header_only(10_000, 10_000), name="bomb.png")
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
