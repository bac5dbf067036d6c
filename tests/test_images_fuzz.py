"""Fuzzing the image loader: random bytes and mutated valid files end in an RGB image or ImageLoadError.

Any other exception class would reach the user as a traceback; this test fails on it and names it.
The seeds are small valid files of every supported format (tests/image_samples.py); the mutations flip,
insert and delete bytes and cut the file short, as damaged uploads and hostile files do. Bounded to a
few hundred examples each, so it runs in seconds; raise ``CAMLIB_FUZZ_EXAMPLES`` for a longer run.
"""

from __future__ import annotations

import numpy as np
import pytest
from budgets import IMAGES_FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from image_samples import valid_files

from camlib.errors import ImageLoadError
from camlib.images import load_image

# Pillow warns (UserWarning) about the broken TIFF metadata the mutations make; the loader lets its
# warnings through rather than change the process-wide warning filters.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")

SEEDS = valid_files()
EXAMPLES = IMAGES_FUZZ_EXAMPLES
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # timing varies on a shared machine; a hang would still show as a slow test
    derandomize=True,  # the same examples on every run, so a failure reproduces
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


def check_loader(data: bytes) -> None:
    try:
        image = load_image(data, name="fuzz.bin")
    except ImageLoadError as error:
        message = str(error)
        assert message.startswith("fuzz.bin ") and "\n" not in message, message
        return
    except Exception as error:  # noqa: BLE001 - the point of the test
        pytest.fail(f"load_image raised {type(error).__name__} ({error}) instead of ImageLoadError for {data[:32]!r}...")
    assert image.mode == "RGB"
    assert image.width >= 1 and image.height >= 1
    assert np.asarray(image).dtype == np.uint8


@st.composite
def mutated_file(draw) -> bytes:
    """A seed file with 1 to 16 random byte-level mutations.

    The positions and values come from a ``random.Random`` that hypothesis controls (so every example
    reproduces), spread evenly over the file; drawing them one by one from hypothesis would bias them
    towards the first bytes, where most mutations just make the format unrecognisable.
    """
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    rnd = draw(st.randoms(use_true_random=False))
    for _ in range(rnd.choice([1, 1, 1, 2, 3, 4, 8, 16])):
        if not data:
            break
        at = rnd.randrange(len(data))
        action = rnd.random()
        if action < 0.5:
            data[at] = rnd.randrange(256)
        elif action < 0.7:
            del data[at : at + rnd.randrange(1, 64)]
        elif action < 0.85:
            data[at:at] = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 16)))
        else:
            del data[at:]
    return bytes(data)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    check_loader(data)


@FUZZ
@given(st.sampled_from(sorted(SEEDS)), st.binary(max_size=512))
def test_valid_header_with_random_body(kind, tail):
    """The first 16 to 64 bytes of a real file (so the format is recognised), then garbage."""
    seed = SEEDS[kind]
    check_loader(seed[: 16 + len(tail) % 48] + tail)


@FUZZ
@given(mutated_file())
def test_mutated_valid_files(data):
    check_loader(data)


# Files this fuzzing found that once escaped as other exceptions (found with a longer run, then shrunk).
FOUND_BY_FUZZING = {
    # GIF whose second frame is cut off inside its header: Pillow's is_animated raised IndexError.
    "gif-cut-frame-IndexError": ("474946383761000000000000002c000000060006000000000021f904"),
    # Two-page TIFF whose second page has no size: counting the pages raised TypeError.
    "tiff-page-without-size-TypeError": (
        "49492a00080000000a000001040001000000060000000101040001000000060000000201030003000000860000000000"
        "000000000000000000000601030001000000020000001101040001000000000000001501030001000000030000000000"
        "0000000000000000000000000000000000000000000000000000000000000000000000010000080008000800"
    ),
    # Two-page TIFF whose second page has an unknown compression code: Pillow raised KeyError.
    "tiff-unknown-compression-KeyError": (
        "49492a00080000000a000001040001000000060000000101040001000000060000000201030003000000860000000000"
        "000000000000000000000601030001000000020000001101040001000000000000001501030001000000030000000000"
        "000000000000000000000000000000000000000000000000000000000000000000000801000008000800080000000000"
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000a0000000000000000000000000000000000000000000000"
        "0000000000000000000000000000030103000100000000000000"
    ),
}


@pytest.mark.parametrize("name", FOUND_BY_FUZZING)
def test_inputs_found_by_fuzzing(name):
    check_loader(bytes.fromhex(FOUND_BY_FUZZING[name]))


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_seeds_are_valid(kind):
    """The unmutated seeds load, so the mutations start from files the loader accepts."""
    assert load_image(SEEDS[kind]).mode == "RGB"
