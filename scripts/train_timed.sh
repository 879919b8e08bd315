#!/usr/bin/env bash
# Train models from scratch side by side within a time budget (a GPU lease of a few minutes): a short
# probe times each model while all run together, then each schedule gets the epochs that fit what is
# left, so every run ends its learning-rate schedule rather than stopping part-way.
#
#   MINUTES=9 bash scripts/train_timed.sh FER2013 [RUNS]        # RUNS: default runs/timed
#
# Environment: MINUTES (default 9: the whole script, probe included), MODELS (default
# "resnet18 vgg19 squeezenet"), DEVICE (default cuda), EXTRA (more fer-desktop-train options for
# every run), WHEELS (a folder of wheels to install first, for a machine without network that lacks
# one of the trainer's pure-Python needs, such as platformdirs). Fuse the members afterwards with
# `python -m trainer.fuse` or `fer-desktop-train --model ensemble --out RUNS`.
set -euo pipefail
data=$(realpath "${1:?usage: MINUTES=9 bash scripts/train_timed.sh FER2013_PATH [RUNS_DIR]}")
runs=$(realpath -m "${2:-runs/timed}")
t0=$(date +%s)
deadline=$((t0 + $(awk "BEGIN { print int(${MINUTES:-9} * 60) }")))
models=${MODELS:-resnet18 vgg19 squeezenet}
device=${DEVICE:-cuda}
EXTRA=${EXTRA:-}
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python  # what scripts/setup.sh installed into
if [[ -n ${WHEELS:-} ]]; then
    $python -m pip install -q --no-index --no-deps --no-compile --target "$runs/site" "$WHEELS"/*.whl
    export PYTHONPATH=$runs/site${PYTHONPATH:+:$PYTHONPATH}
fi
mkdir -p "$runs/probe"
# Decoded once here, so the runs below share the cache instead of decoding side by side.
faces=$($python -c "from trainer.data import load_fer; print(load_fer('$data').counts()['train'])")

epoch_line() {  # the last "epoch N/M · ..." line of a log (tqdm's progress is written with \r)
    tr '\r' '\n' < "$1" | grep -E "^epoch [0-9]+/[0-9]+ ·" | tail -n 1
}

# The probe: three short epochs of each model, all at once, as they will run; the last one's speed counts.
for m in $models; do
    # shellcheck disable=SC2086  # EXTRA is a list of options
    $python -m trainer.train --model "$m" --data "$data" --out "$runs/probe" --epochs 100 --stop-after 3 \
        --limit 8192 --device "$device" --no-recalibrate $EXTRA > "$runs/probe/$m.log" 2>&1 &
done
wait
# 45 s of what is left go to each run's start and to its end (BatchNorm recalibration, the report).
left=$((deadline - $(date +%s) - 45))
declare -A epochs
for m in $models; do
    rate=$(epoch_line "$runs/probe/$m.log" | sed -nE 's/.* ([0-9]+) img\/s$/\1/p')
    if [[ -z $rate ]]; then echo "$m: the probe failed; see $runs/probe/$m.log" >&2; exit 1; fi
    # An epoch: the training pass at the probe's speed, plus about 1.5 s of validation and saving.
    epochs[$m]=$(awk "BEGIN { n = int($left / ($faces / $rate + 1.5)); print (n < 1 ? 1 : n) }")
    echo "$m: $rate images/s side by side; ${epochs[$m]} epochs fit in $left s"
done

pids=()
for m in $models; do
    # --time-limit only guards against a slower machine than the probe measured: it ends the run early.
    # shellcheck disable=SC2086
    $python -m trainer.train --model "$m" --data "$data" --out "$runs" --epochs "${epochs[$m]}" --device "$device" \
        --time-limit "$(awk "BEGIN { m = ($deadline - $(date +%s)) / 60; print (m < 0.1 ? 0.1 : m) }")" $EXTRA > "$runs/$m.log" 2>&1 &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
for m in $models; do echo "$m: $(epoch_line "$runs/$m.log")"; done
echo "finished in $(($(date +%s) - t0)) s; weights in $runs/MODEL/ (logs beside them)"
exit $status
