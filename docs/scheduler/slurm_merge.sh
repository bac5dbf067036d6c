#!/usr/bin/env bash
# The last step of docs/scheduler/slurm_evaluate.sh: one CSV and one table from the shard CSVs.
#   sbatch --dependency=afterok:$jobid docs/scheduler/slurm_merge.sh
#SBATCH --job-name=camlib-merge
#SBATCH --cpus-per-task=1
#SBATCH --mem=4G
#SBATCH --time=00:30:00
#SBATCH --output=camlib-merge-%j.log
set -euo pipefail

OUT_DIR=${OUT_DIR:-$PWD/camlib-results}
CAMLIB=${CAMLIB:-camlib}

shopt -s nullglob
shards=("$OUT_DIR"/shard-*.csv)
if (( ${#shards[@]} == 0 )); then
  echo "no shard CSVs in $OUT_DIR" >&2
  exit 2
fi
# shellcheck disable=SC2086
$CAMLIB evaluate-merge "${shards[@]}" --common-images --out "$OUT_DIR/all.csv" > "$OUT_DIR/table.md"
cat "$OUT_DIR/table.md"
