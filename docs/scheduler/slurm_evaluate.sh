#!/usr/bin/env bash
# camlib evaluate over the ImageNet validation set (50,000 images) as a Slurm job array.
#
#   jobid=$(sbatch --parsable docs/scheduler/slurm_evaluate.sh)
#   sbatch --dependency=afterok:$jobid docs/scheduler/slurm_merge.sh
#
# Each array task evaluates every 50th image (--shard auto reads SLURM_ARRAY_TASK_ID, _MIN and _COUNT)
# into its own CSV; --resume makes a requeued or re-submitted task compute only what is missing.
# 1,000 images a task: at 1-2 s an image for the full suite (six methods at --speed fast, three
# baselines, every metric) on one GPU, well inside the time limit. Keep the array contiguous
# (0-49, not 0-98:2): camlib checks that the index is below the count.
#SBATCH --job-name=camlib-evaluate
#SBATCH --array=0-49
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --mem=32G
#SBATCH --time=04:00:00
#SBATCH --output=camlib-evaluate-%A_%a.log
set -euo pipefail

IMAGES=${IMAGES:-/datasets/imagenet/val}          # the 50,000 validation images (flat or in wnid folders)
OUT_DIR=${OUT_DIR:-$PWD/camlib-results}           # shard CSVs, then the merged CSV and table
LABELS=${LABELS:-}                                # labels.csv (file,class_index) for --target label; empty: top-1
LAYER=${LAYER:-conv_head}
METHODS=${METHODS:-all,baselines}
CAMLIB=${CAMLIB:-camlib}                          # e.g. "python -m camlib" outside an installed environment
export CAMLIB_OFFLINE=1                           # compute nodes often have no internet: never download weights

target=(--target predicted)
if [[ -n "$LABELS" ]]; then target=(--target label --labels "$LABELS"); fi
mkdir -p "$OUT_DIR"
# shellcheck disable=SC2086  # CAMLIB may be a command with arguments
$CAMLIB evaluate "$IMAGES" --methods "$METHODS" --layer "$LAYER" --speed fast --metrics all "${target[@]}" \
  --shard auto --resume --out "$OUT_DIR/shard-${SLURM_ARRAY_TASK_ID}.csv" ${EXTRA_ARGS:-}
