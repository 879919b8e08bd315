#!/usr/bin/env bash
# Train every model the app ships, on one GPU: ResNet18 and VGG19 side by side, their fusion (the
# ensemble), then the SqueezeNet distilled from the ensemble. Each run resumes where a killed one
# stopped, so the same command continues an interrupted chain.
#
#   bash scripts/train_all.sh FER2013 [RUNS]        # RUNS: default runs/
#
# Environment: MEMBER_EPOCHS (default 200), STUDENT_EPOCHS (default 200), DEVICE (default cuda),
# EXTRA (more fer-desktop-train options for every run, e.g. "--limit 256" for a smoke test).
# It needs no installed package beyond the trainer's dependencies: a GPU machine without network
# runs it from a checkout.
set -euo pipefail
data=$(realpath "${1:?usage: bash scripts/train_all.sh FER2013_PATH [RUNS_DIR]}")
runs=$(realpath -m "${2:-runs}")
member_epochs=${MEMBER_EPOCHS:-200}
student_epochs=${STUDENT_EPOCHS:-200}
device=${DEVICE:-cuda}
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python  # what scripts/setup.sh installed into
EXTRA=${EXTRA:-}

train() {  # model, its runs folder, then options; resumes a begun run, skips a finished one
    local model=$1 out=$2
    shift 2
    if [[ -f $out/$model/report/metrics.json ]]; then echo "$model: finished run found in $out/$model"; return; fi
    local resume=()
    [[ -f $out/$model/checkpoint.pt ]] && resume=(--resume)
    # shellcheck disable=SC2086  # EXTRA is a list of options
    $python -m trainer.train --model "$model" --data "$data" --out "$out" --device "$device" "${resume[@]}" $EXTRA "$@"
}

mkdir -p "$runs"
# The members are small for one GPU: side by side they take about the time of the slower one.
train resnet18 "$runs" --epochs "$member_epochs" > "$runs/resnet18.log" 2>&1 &
resnet=$!
train vgg19 "$runs" --epochs "$member_epochs" > "$runs/vgg19.log" 2>&1 &
vgg=$!
status=0
wait $resnet || status=$?
wait $vgg || status=$?
tail -n 2 "$runs/resnet18.log" "$runs/vgg19.log"
if ((status)); then echo "a member's run failed: see $runs/resnet18.log and $runs/vgg19.log" >&2; exit $status; fi

# Both members are finished, so this only picks the fusion weight on PublicTest.
train ensemble "$runs" --epochs "$member_epochs"
train squeezenet "$runs/distilled" --epochs "$student_epochs" --teacher "$runs/ensemble/ensemble.json"

for m in resnet18 vgg19 ensemble; do
    $python -m trainer.evaluate --model "$m" --data "$data" --weights "$runs/$m" --device "$device"
done
$python -m trainer.evaluate --model squeezenet --data "$data" --weights "$runs/distilled/squeezenet" --device "$device"
echo "weights: $runs/resnet18, $runs/vgg19, $runs/ensemble (the fusion), $runs/distilled/squeezenet;"
echo "try them with fer-desktop --weights FOLDER, ship them by copying the files into weights/"
