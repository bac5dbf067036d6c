"""The example digits model on digits it has never seen the like of: typed in the fonts matplotlib ships.

load_digits' held-out split (bench/train_digits.py, bench/digits_discrimination.py) comes from the same
writers and the same scanner as the training images. Typed digits do not: 12 fonts (DejaVu Sans, Serif and
Mono in several styles, STIX, Computer Modern), black on white, drawn at 256 px and resized to the model's
32 px with PIL's bilinear filter as an uploaded picture is. Reports top-1 accuracy on the 120 single digits
(10 digits × 12 fonts, each glyph's height filling the picture) and the class discrimination of
bench/digits_discrimination.py on 540 typed pairs (the 45 pairs of different digits × 12 fonts, the left
one chosen at random, seed 2). Intervals: 95 % bootstrap over the pictures (they share fonts and digits,
so the intervals are, if anything, too narrow).

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python bench/digits_typed.py
"""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib
import numpy as np
import torch
from digits_discrimination import bootstrap, report
from PIL import Image, ImageDraw, ImageFont
from safetensors.torch import load_file

from camlib.examples import digits as ex

FONT_DIR = Path(matplotlib.__file__).resolve().parent / "mpl-data" / "fonts" / "ttf"
FONTS = [
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSansMono.ttf", "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf", "cmr10.ttf",
    "cmss10.ttf", "cmtt10.ttf",
]  # fmt: skip
CANVAS = 256


def glyph(digit: int, font: str, height: int) -> Image.Image:
    """The digit's ink (white on black, mode L) cropped to its bounding box and scaled to ``height`` px tall."""
    face = ImageFont.truetype(str(FONT_DIR / font), 400)
    page = Image.new("L", (600, 600), 0)
    ImageDraw.Draw(page).text((100, 50), str(digit), font=face, fill=255)
    ink = page.crop(page.getbbox())
    width = max(1, round(ink.width * height / ink.height))
    return ink.resize((min(width, height), height), Image.Resampling.LANCZOS)


def typed_picture(digits: list[int], font: str, box: int) -> np.ndarray:
    """Digits typed side by side, each centred in its share of the width, as model inputs at 32 px (3, 32, 32)."""
    ink = Image.new("L", (CANVAS, CANVAS), 0)
    share = CANVAS // len(digits)
    for slot, digit in enumerate(digits):
        letter = glyph(digit, font, box)
        ink.paste(letter, (slot * share + (share - letter.width) // 2, (CANVAS - letter.height) // 2))
    picture = Image.fromarray(255 - np.asarray(ink)).convert("RGB")
    small = picture.resize((ex.INPUT_SIZE, ex.INPUT_SIZE), Image.Resampling.BILINEAR)
    grey = np.asarray(small, dtype=np.float32)[..., 0] / 255.0
    return ex.to_inputs(grey[None])[0]


def main() -> None:
    torch.set_num_threads(1)
    model = ex.build()
    model.load_state_dict(load_file(str(ex.WEIGHTS_PATH)))
    model.eval()
    singles = torch.stack([typed_picture([digit], font, CANVAS - 16) for font in FONTS for digit in range(10)])
    labels = np.tile(np.arange(10), len(FONTS))
    with torch.inference_mode():
        correct = (model(singles).argmax(1).numpy() == labels).astype(np.float64)
    mean, low, high = bootstrap(correct)
    print(f"typed digits, {len(FONTS)} fonts × 10: top-1 accuracy {mean:.3f} [{low:.3f}, {high:.3f}] ({int(correct.sum())}/{len(correct)})")
    for font, row in zip(FONTS, correct.reshape(len(FONTS), 10)):
        print(f"  {font:<24} {int(row.sum())}/10")
    rng = np.random.default_rng(2)
    pairs = [(a, b) if rng.random() < 0.5 else (b, a) for _ in FONTS for a, b in itertools.combinations(range(10), 2)]
    fonts = [font for font in FONTS for _ in range(45)]
    box = round(CANVAS * ex.PAIR_DIGIT_FRACTION)
    inputs = torch.stack([typed_picture(list(pair), font, box) for pair, font in zip(pairs, fonts)])
    left, right = np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])
    print(f"\n{len(pairs)} typed pairs (45 pairs of different digits × {len(FONTS)} fonts); a map that ignores the class scores 0.5")
    report("trained weights (camlib/examples/digits.safetensors), typed pairs", model, inputs, left, right)


if __name__ == "__main__":
    main()
