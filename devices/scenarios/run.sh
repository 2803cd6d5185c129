#!/usr/bin/env bash
# The main job: every scenario in this folder, on the embedded fixture model by default, or with
# EDGERT_SCENARIO_MODEL=ppocr-cls on the PP-OCR direction classifier's variant ladder (fetched as
# `make models` does, its input pinned to 3x48x192 so every layer's MACs are counted, the ladder built
# once and cached in .cache/ladder); if the real model cannot be had, the first line says why and the
# fixture runs instead.
# Usage: devices/scenarios/run.sh OUT_DIR [more edgert simulate options]
#   EDGERT=path/to/edgert (required)   EDGERT_MODEL_CACHE=DIR (default .cache/models)
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
        || { reason="not the PP-OCR classifier: it could not be fetched ($(tail -n 1 "$work/fetch.log"))"; return 1; }
    local source="$models/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx"
    # The published model leaves batch, height and width symbolic; the MAC counter sizes symbolic dims as 1,
    # which would leave the board cost model almost nothing to count. Pin them to one 48x192 text line.
    "${PYTHON:-/usr/bin/python3}" - "$source" "$work/ppocr-cls-pinned.onnx" >"$work/pin.log" 2>&1 <<'PY' \
        || { reason="not the PP-OCR classifier: pinning its input shape needs python3-onnx ($(tail -n 1 "$work/pin.log"))"; return 1; }
import sys, onnx
model = onnx.load(sys.argv[1])
for dim, value in zip(model.graph.input[0].type.tensor_type.shape.dim, (1, 3, 48, 192)):
    dim.Clear()
    dim.dim_value = value
onnx.save(model, sys.argv[2])
PY
    "$EDGERT" upgrade "$work/ppocr-cls-pinned.onnx" -o "$work/ppocr-cls-13.onnx" --opset 13 >"$work/upgrade.log" 2>&1 \
        || { reason="not the PP-OCR classifier: upgrading it failed ($(tail -n 1 "$work/upgrade.log"))"; return 1; }
    "$EDGERT" models lines --count 512 --seed 777 -o "$work/calib" >"$work/lines.log" 2>&1 \
        || { reason="not the PP-OCR classifier: generating calibration lines failed ($(tail -n 1 "$work/lines.log"))"; return 1; }
    # Quality of each rung: agreement with the generator's labels on the 500 held-out lines fetch wrote.
    "$EDGERT" build "$work/ppocr-cls-13.onnx" -o "$ladder" --calib "$work/calib/x.npy" --prune 0.3,0.5 --prune-samples 512 \
        --data "$models/ppocr-cls/data/x.npy" --labels "$models/ppocr-cls/data/labels.npy" >"$work/build.log" 2>&1 \
        || { rm -rf "$ladder"; reason="not the PP-OCR classifier: building its ladder failed ($(tail -n 1 "$work/build.log"))"; return 1; }
}

if [[ "${EDGERT_SCENARIO_MODEL:-fixture}" != ppocr-cls ]]; then
    reason="the default; EDGERT_SCENARIO_MODEL=ppocr-cls runs the PP-OCR classifier's ladder"
elif [[ ! -f "$ladder/manifest.json" ]]; then
    echo "building the PP-OCR classifier's variant ladder once into .cache/ladder (later runs reuse it) ..." >&2
    build_ladder || true
fi
if [[ -z "$reason" && -f "$ladder/manifest.json" ]]; then
    exec "$EDGERT" simulate --scenario "$scenarios" --bundle "$ladder" --out "$out" "$@"
fi
echo "model: the embedded fixture ($reason)"
exec "$EDGERT" simulate --scenario "$scenarios" --out "$out" "$@"
