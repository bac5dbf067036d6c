#!/usr/bin/env bash
# The leaderboard's data for the nine methods added beside the paper's six (issue #23), on the report half of
# IMAGES_DIR, at the default layer (bn2) of EfficientNet-Lite0, Lite1 and Lite2, on a CPU, one thread per run.
# The paper's six methods and the three baselines come from the report files that already ship
# (camlib/data/results/report_lite*_bn2*.csv and pointing_lite*_bn2.csv, docs/results.md says how they were made);
# the speed setting of each model follows those files: exact on Lite0, fast on Lite1 and Lite2.
#
#   bash bench/leaderboard_runs.sh OUT_DIR IMAGES_DIR [STEP ...]
#
# Steps: evaluate (insertion/deletion, fixed-area drops, ADCC, randomisation check), pointing (20 grids of
# 448 x 448, as the shipped rows of the paper's six), seconds (every method's seconds per map on the first 6 report images of each model, on this
# machine; SS-CAM and IS-CAM on the first image only: ten masked passes per channel, ten times exact
# Score-CAM's cost, several minutes a map on a CPU), sampled (SS-CAM and IS-CAM evaluated on the first
# SAMPLED_IMAGES report images, default 16 (the shipped rows: n in each table), with 128 channels measured and the others predicted, as Score-CAM's
# fast setting; no randomisation check: bench/leaderboard.py shows them in a table of their own per model).
# Then: python bench/leaderboard.py (the tables and the Pareto plot).
set -uo pipefail
out=${1:?usage: leaderboard_runs.sh OUT_DIR IMAGES_DIR [STEP ...]}
images=${2:?usage: leaderboard_runs.sh OUT_DIR IMAGES_DIR [STEP ...]}
shift 2
steps=${*:-evaluate pointing seconds sampled}
sampled_images=${SAMPLED_IMAGES:-16}
export CAMLIB_OFFLINE=1 PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
new_methods=hirescam,xgradcam,layercam,eigencam,reciprocam,groupcam,ablationcam
mkdir -p "$out"

speed_of() { [ "$1" = lite0 ] && echo exact || echo fast; }

for model in lite0 lite1 lite2; do
    speed=$(speed_of $model)
    common=(--model efficientnet_$model --half report --speed "$speed")
    for step in $steps; do
        case $step in
        evaluate)
            python -m camlib evaluate "$images" "${common[@]}" --methods $new_methods --metrics all --sanity \
                --resume --out "$out/extra_${model}_bn2.csv" ;;
        pointing)
            # --size 448: the grids of the shipped pointing rows of the six (run before the grid followed the model's input size)
            python -m camlib pointing-game "$images" "${common[@]}" --methods $new_methods --grids 20 --size 448 \
                --resume --out "$out/extra_pointing_${model}_bn2.csv" ;;
        seconds)
            python -m camlib evaluate "$images" "${common[@]}" --limit 6 \
                --methods cam,gradcam,gradcampp,smoothgradcampp,scorecam,gradpp_scorecam,$new_methods,baselines \
                --metrics basic --resume --out "$out/seconds_${model}_bn2.csv"
            python -m camlib evaluate "$images" "${common[@]}" --limit 1 --methods sscam,iscam \
                --metrics basic --resume --out "$out/seconds_sampled_${model}_bn2.csv" ;;
        sampled)
            python -m camlib evaluate "$images" "${common[@]}" --limit "$sampled_images" --methods sscam,iscam \
                --param sscam.sampled_channels=128 --param iscam.sampled_channels=128 --metrics all \
                --resume --out "$out/sampled_${model}_bn2.csv" ;;
        esac
    done
done
