"""Train camlib's example digits classifier (camlib/examples/digits.py) and write its weights and classes.

Data: scikit-learn's ``load_digits`` (ships inside the scikit-learn wheel; nothing is downloaded), split
80 / 20 stratified with ``random_state=0``: 1437 training images, 360 held-out test images that training
never sees. Training pictures are augmented (digit size 12–32 px on the 32-px canvas, random position,
paper and ink grey levels, a little noise); the test pictures are drawn without augmentation, once
filling the canvas and once at the size a digit has in a pair picture (14 px, centred).

Deterministic: fixed seeds, one CPU thread, deterministic algorithms. About a minute on one core.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python bench/train_digits.py            # writes camlib/examples/
    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python bench/train_digits.py --out /tmp/d  # elsewhere
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from camlib.examples import digits as ex

SEED = 0
EPOCHS = 30
BATCH = 64
LEARNING_RATE = 3e-3
SIZES = range(12, ex.INPUT_SIZE + 1)
CLASS_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def augmented_batch(inks: dict[int, np.ndarray], indices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each digit at a random size and position with random paper, ink and noise, (B, 32, 32) grey."""
    size = ex.INPUT_SIZE
    canvas = np.zeros((len(indices), size, size), dtype=np.float32)
    for row, index in enumerate(indices):
        side = int(rng.choice(list(SIZES)))
        top, left = rng.integers(0, size - side + 1, size=2)
        canvas[row, top : top + side, left : left + side] = inks[side][index]
    paper = rng.uniform(0.7, 1.0, len(indices))
    ink = rng.uniform(0.0, 0.35, len(indices))
    pictures = ex.paint(canvas, paper, ink)
    noise = rng.normal(0.0, 1.0, pictures.shape) * rng.uniform(0.0, 0.05, (len(indices), 1, 1))
    return np.clip(pictures + noise, 0.0, 1.0).astype(np.float32)


def accuracy(model: torch.nn.Module, pictures: np.ndarray, labels: np.ndarray) -> str:
    """Top-1 accuracy with a 95 % bootstrap interval over the images (2000 resamples, seed 0)."""
    model.eval()
    with torch.inference_mode():
        correct = (model(ex.to_inputs(pictures)).argmax(1).numpy() == labels).astype(np.float64)
    resampled = np.random.default_rng(0).choice(correct, size=(2000, len(correct))).mean(axis=1)
    low, high = np.percentile(resampled, [2.5, 97.5])
    return f"{correct.mean():.4f} [{low:.4f}, {high:.4f}] ({int(correct.sum())}/{len(correct)})"


def centred_at(digits: np.ndarray, side: int) -> np.ndarray:
    """Each digit at ``side`` px centred on the 32-px canvas: the scale of a digit in a pair picture."""
    size = ex.INPUT_SIZE
    canvas = np.zeros((len(digits), size, size), dtype=np.float32)
    start = (size - side) // 2
    canvas[:, start : start + side, start : start + side] = ex.ink_at_size(digits, side)
    return ex.paint(canvas)


def train(x_train: np.ndarray, y_train: np.ndarray, log=print) -> torch.nn.Module:
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    model = ex.build()
    inks = {side: ex.ink_at_size(x_train, side) for side in SIZES}
    steps = EPOCHS * int(np.ceil(len(x_train) / BATCH))
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LEARNING_RATE, total_steps=steps)
    labels = torch.as_tensor(y_train, dtype=torch.long)
    for epoch in range(EPOCHS):
        model.train()
        order = rng.permutation(len(x_train))
        total = 0.0
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            loss = F.cross_entropy(model(ex.to_inputs(augmented_batch(inks, batch, rng))), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(batch)
        log(f"epoch {epoch + 1:2d}/{EPOCHS}  training loss {total / len(order):.4f}")
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ex.EXAMPLES_DIR, help="folder for digits.safetensors and digits_classes.txt")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    x_train, x_test, y_train, y_test = ex.heldout_split()
    started = time.perf_counter()
    model = train(x_train, y_train)
    print(f"trained in {time.perf_counter() - started:.0f} s on {torch.get_num_threads()} thread(s)")
    print(f"train accuracy (1437 training images, full canvas): {accuracy(model, ex.single_pictures(x_train), y_train)}")
    print(f"test accuracy (360 held-out images, full canvas):   {accuracy(model, ex.single_pictures(x_test), y_test)}")
    pair_side = int(round(ex.INPUT_SIZE * ex.PAIR_DIGIT_FRACTION))
    print(f"test accuracy (360 held-out images, {pair_side} px centred):  {accuracy(model, centred_at(x_test, pair_side), y_test)}")
    args.out.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    # one metadata key: safetensors writes several in a random order, and the file should be byte-identical run to run
    save_file(state, str(args.out / "digits.safetensors"), metadata={"trained_by": "bench/train_digits.py on load_digits (80/20 stratified, seed 0)"})
    (args.out / "digits_classes.txt").write_text("\n".join(CLASS_NAMES) + "\n", encoding="utf-8")
    print(f"wrote {args.out / 'digits.safetensors'} and {args.out / 'digits_classes.txt'}")


if __name__ == "__main__":
    main()
