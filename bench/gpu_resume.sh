#!/usr/bin/env bash
# Finish a results table on one GPU: SHARDS `camlib evaluate --resume --shard i/SHARDS` runs side by side
# (each starts from a copy of TABLE, so the images it already holds are skipped), TF32 off
# (bench/gpu_cli.py), then `evaluate-merge` of the shards into TABLE. A model as small as
# EfficientNet-Lite0 leaves an H200 mostly idle in one process, hence the shards.
#
#   bash bench/gpu_resume.sh TABLE.csv IMAGES_DIR SHARDS [camlib evaluate arguments...]
#
# e.g. bash bench/gpu_resume.sh docs/results/report_lite0_conv_head.csv ../shared/imagenet-sample 8 \
#          --half report --layer conv_head --methods all,baselines --sanity
# The evaluate arguments must give TABLE's configuration: --resume refuses a shard otherwise.
set -uo pipefail
table=${1:?usage: gpu_resume.sh TABLE.csv IMAGES_DIR SHARDS [evaluate arguments...]}
images=${2:?usage: gpu_resume.sh TABLE.csv IMAGES_DIR SHARDS [evaluate arguments...]}
shards=${3:?usage: gpu_resume.sh TABLE.csv IMAGES_DIR SHARDS [evaluate arguments...]}
shift 3
export CAMLIB_OFFLINE=1 PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
work=${WORK:-/tmp/camlib_resume}
mkdir -p "$work"
pids=()
for ((i = 0; i < shards; i++)); do
    cp "$table" "$work/shard_$i.csv"
    python3 bench/gpu_cli.py evaluate "$images" --offline "$@" --resume --shard "$i/$shards" \
        --out "$work/shard_$i.csv" > "$work/log_$i.txt" 2>&1 &
    pids+=($!)
done
failed=0
for ((i = 0; i < shards; i++)); do
    wait "${pids[$i]}" || { failed=1; echo "shard $i/$shards failed: $(tail -c 300 "$work/log_$i.txt")" >&2; }
done
[ "$failed" = 0 ] || exit 1
python3 bench/gpu_cli.py evaluate-merge "$work"/shard_*.csv --out "$table"
