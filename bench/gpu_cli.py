"""``camlib`` with TF32 off, so maps on an NVIDIA GPU are float32 like the CPU's (bench/gpu_report.sh)."""

import sys

import torch

torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False

from camlib.cli import main

sys.exit(main(sys.argv[1:]))
