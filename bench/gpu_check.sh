#!/usr/bin/env bash
# The checks that need a GPU, in one run: the app's six-method grid (ResNet50 and EfficientNet-Lite0),
# the benchmark against the peer libraries on all four backbones, and exact Score-CAM over an image
# folder at both EfficientNet-Lite0 layers (TF32 off, so the maps are float32 like the CPU's).
#
#   bash bench/gpu_check.sh OUT_DIR IMAGES_DIR
set -uo pipefail
out=${1:?usage: gpu_check.sh OUT_DIR IMAGES_DIR}
images=${2:?usage: gpu_check.sh OUT_DIR IMAGES_DIR}
export CAMLIB_OFFLINE=1 PYTHONUNBUFFERED=1
mkdir -p "$out"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/device.txt"
python3 -c "import torch, torchvision, timm; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'timm', timm.__version__)" | tee -a "$out/device.txt"

python3 bench/app_grid.py --backbone resnet50 --repeats 5 | tee "$out/grid.md"
python3 bench/app_grid.py --backbone efficientnet_lite0 --repeats 5 | tee -a "$out/grid.md"
python3 bench/bench_methods.py --repeats 3 | tee "$out/bench.md"

evaluate() {  # layer
    python3 - "$images" "$1" "$out/scorecam_$1.csv" <<'EOF'
import sys
import torch

torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False
from camlib.cli import main

images, layer, csv = sys.argv[1:]
sys.exit(main(["evaluate", images, "--layer", layer, "--methods", "scorecam", "--out", csv]))
EOF
}
evaluate conv_head > "$out/evaluate_conv_head.txt" 2>&1 &
evaluate bn2 > "$out/evaluate_bn2.txt" 2>&1 &
wait
for log in "$out"/evaluate_*.txt; do echo "== $log"; tail -c 1500 "$log"; done
