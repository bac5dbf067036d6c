#!/usr/bin/env bash
# The report-half tables of docs/results.md and the tuning-half choice of Grad++ScoreCAM's defaults, in one
# GPU run (16 CPU cores, one GPU; about 6 minutes on an H100). Everything reads IMAGES_DIR's name-sorted
# images: the tuning half (even 0-based indices) for the study and the choice, the report half (odd) for
# every number reported.
#
#   bash bench/gpu_report.sh OUT_DIR IMAGES_DIR [BACKBONE]
#
# SMOKE=1 runs each step on 2 images / 1 grid with small grids, to check the script on a CPU.
set -uo pipefail
out=${1:?usage: gpu_report.sh OUT_DIR IMAGES_DIR [BACKBONE]}
images=${2:?usage: gpu_report.sh OUT_DIR IMAGES_DIR [BACKBONE]}
backbone=${3:-efficientnet_lite0}
export CAMLIB_OFFLINE=1 PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
work=${WORK:-/tmp/camlib_report}
mkdir -p "$out" "$work"/{study,eval,point,tune_eval,tune_point,logs}
cli="python3 bench/gpu_cli.py"
methods=cam,gradcam,gradcampp,smoothgradcampp,scorecam,baselines
limit=(); grids=20; study_grid=(--top-ks 8,16,32,48,64,128,256,all --combinations softmax_w,softmax,relu_w,linear:0.25,linear:0.5,linear:0.75
                                 --sampled 32,48,64,128)
if [ "${SMOKE:-0}" = 1 ]; then
    limit=(--limit 2); grids=1; methods=cam,gradcam,baselines; study_grid=(--top-ks 8,all --combinations softmax_w,softmax --sampled 16)
fi
common=(--backbone "$backbone" --offline)
log() { echo "[$(date +%T)] $*" | tee -a "$out/progress.txt"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/device.txt" 2>&1
python3 -c "import torch, torchvision, timm; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'timm', timm.__version__)" >> "$out/device.txt"
log "start: $backbone on $(head -2 "$out/device.txt" | tail -1)"

# A. The study (tuning half) and every report-half run that does not depend on its outcome, in parallel.
if [ -n "${STUDY_DIR:-}" ]; then  # a study already run (same command): reuse its CSVs
    cp "$STUDY_DIR"/*.csv "$work/study/"; study_cmd=true
else
    study_cmd="python3 bench/study_gradpp_scorecam.py"
fi
$study_cmd "$images" --backbone "$backbone" --layer bn2 --half tuning "${limit[@]}" "${study_grid[@]}" \
    --sizes full --no-check --max-seconds "${STUDY_SECONDS:-200}" --out-dir "$work/study" > "$work/logs/study.txt" 2>&1 &
study=$!
for layer in bn2 conv_head; do
    $cli evaluate "$images" "${common[@]}" --half report "${limit[@]}" --layer $layer --methods $methods --sanity \
        --out "$work/eval/methods_$layer.csv" > "$work/logs/eval_$layer.txt" 2>&1 &
    [ -n "${SKIP_METHOD_POINTING:-}" ] || $cli pointing-game "$images" "${common[@]}" --half report --grids $grids --layer $layer \
        --methods $methods --out "$work/point/methods_$layer.csv" > "$work/logs/point_$layer.txt" 2>&1 &
done
$cli evaluate "$images" "${common[@]}" --half report "${limit[@]}" --layer bn2 --methods scorecam,baselines --speed fast --sanity \
    --out "$work/eval/scorecam_fast_bn2.csv" > "$work/logs/eval_fast.txt" 2>&1 &
wait $study
log "study done: $(tail -1 "$work/logs/study.txt")"

# B. The shortlist, scored with every metric and the pointing game on the tuning half.
python3 bench/choose_gradpp_defaults.py shortlist "$work/study" --keep 4 > "$work/shortlist.json"
names=$(python3 -c "import json,sys; print(' '.join(c['name'] for c in json.load(open(sys.argv[1]))))" "$work/shortlist.json")
log "shortlist: $names"
tuning_jobs=()
for name in $names; do
    params=$(python3 -c "import json,sys; print(' '.join('--param '+a for c in json.load(open(sys.argv[1])) if c['name']==sys.argv[2] for a in c['param_arguments']))" "$work/shortlist.json" "$name")
    $cli evaluate "$images" "${common[@]}" --half tuning "${limit[@]}" --layer bn2 --methods gradpp_scorecam $params \
        --out "$work/tune_eval/$name.csv" > "$work/logs/tune_eval_$name.txt" 2>&1 &
    tuning_jobs+=($!)
    $cli pointing-game "$images" "${common[@]}" --half tuning --grids $grids --layer bn2 --methods gradpp_scorecam $params \
        --out "$work/tune_point/$name.csv" > "$work/logs/tune_point_$name.txt" 2>&1 &
    tuning_jobs+=($!)
done
wait "${tuning_jobs[@]}"
python3 bench/choose_gradpp_defaults.py choose --shortlist "$work/shortlist.json" --evaluate-dir "$work/tune_eval" \
    --pointing-dir "$work/tune_point" > "$work/choice.json"
chosen=$(python3 -c "import json,sys; print(' '.join('--param '+a for a in json.load(open(sys.argv[1]))['chosen']['param_arguments']))" "$work/choice.json")
log "chosen on the tuning half: $chosen"

# C. The chosen Grad++ScoreCAM and the paper's own form (every channel) on the report half.
for layer in bn2 conv_head; do
    $cli evaluate "$images" "${common[@]}" --half report "${limit[@]}" --layer $layer --methods gradpp_scorecam $chosen --sanity \
        --out "$work/eval/gradpp_chosen_$layer.csv" > "$work/logs/eval_chosen_$layer.txt" 2>&1 &
    $cli pointing-game "$images" "${common[@]}" --half report --grids $grids --layer $layer --methods gradpp_scorecam $chosen \
        --out "$work/point/gradpp_chosen_$layer.csv" > "$work/logs/point_chosen_$layer.txt" 2>&1 &
done
$cli evaluate "$images" "${common[@]}" --half report "${limit[@]}" --layer bn2 --methods gradpp_scorecam \
    --param gradpp_scorecam.top_k=None --param gradpp_scorecam.combination=softmax_w \
    --out "$work/eval/gradpp_paper_bn2.csv" > "$work/logs/eval_paper.txt" 2>&1 &
wait
log "report half done"
for log_file in "$work"/logs/*.txt; do echo "== $log_file"; tail -c 2500 "$log_file"; done > "$out/logs.txt"
tar czf "$out/results.tgz" -C "$work" study eval point tune_eval tune_point shortlist.json choice.json
log "end"
