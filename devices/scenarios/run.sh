#!/usr/bin/env bash
# The main job: every scenario in this folder on a real model's variant ladder when the model's registry
# answers (the PP-OCR direction classifier, fetched as `make models` does; its ladder is built once and
# cached in .cache/ladder), otherwise on the embedded fixture model, which the first line then says.
# Usage: devices/scenarios/run.sh OUT_DIR [more edgert simulate options]
#   EDGERT=path/to/edgert (required)   EDGERT_MODEL_CACHE=DIR (default .cache/models)
#   EDGERT_SCENARIO_MODEL=fixture      skip the real model
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:?usage: run.sh OUT_DIR}"; shift
: "${EDGERT:?set EDGERT to the edgert binary}"
models="${EDGERT_MODEL_CACHE:-$root/.cache/models}"
ladder="$root/.cache/ladder/ppocr-cls"
scenarios="$root/devices/scenarios"
reason=""

build_ladder() {
    local work="$root/.cache/ladder/work"
    rm -rf "$work" "$ladder" && mkdir -p "$work"
    "$EDGERT" models fetch --cache "$models" --model ppocr-cls >"$work/fetch.log" 2>&1 \
        || { reason="the PP-OCR classifier could not be fetched ($(tail -n 1 "$work/fetch.log"))"; return 1; }
    local source="$models/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx"
    "$EDGERT" upgrade "$source" -o "$work/ppocr-cls-13.onnx" --opset 13 >"$work/upgrade.log" 2>&1 \
        || { reason="upgrading the PP-OCR classifier failed ($(tail -n 1 "$work/upgrade.log"))"; return 1; }
    "$EDGERT" models lines --count 512 --seed 777 -o "$work/calib" >"$work/lines.log" 2>&1 \
        || { reason="generating calibration lines failed ($(tail -n 1 "$work/lines.log"))"; return 1; }
    # Quality of each rung: agreement with the generator's labels on the 500 held-out lines fetch wrote.
    "$EDGERT" build "$work/ppocr-cls-13.onnx" -o "$ladder" --calib "$work/calib/x.npy" --prune 0.3,0.5 --prune-samples 512 \
        --data "$models/ppocr-cls/data/x.npy" --labels "$models/ppocr-cls/data/labels.npy" >"$work/build.log" 2>&1 \
        || { rm -rf "$ladder"; reason="building the ladder failed ($(tail -n 1 "$work/build.log"))"; return 1; }
}

if [[ "${EDGERT_SCENARIO_MODEL:-}" == fixture ]]; then
    reason="EDGERT_SCENARIO_MODEL=fixture"
elif [[ ! -f "$ladder/manifest.json" ]]; then
    echo "building the PP-OCR classifier's variant ladder once into .cache/ladder (later runs reuse it) ..." >&2
    build_ladder || true
fi
if [[ -z "$reason" && -f "$ladder/manifest.json" ]]; then
    exec "$EDGERT" simulate --scenario "$scenarios" --bundle "$ladder" --out "$out" "$@"
fi
echo "model: the embedded fixture, not a real model: $reason"
exec "$EDGERT" simulate --scenario "$scenarios" --out "$out" "$@"
