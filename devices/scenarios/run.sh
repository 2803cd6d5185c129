#!/usr/bin/env bash
# The main job: every scenario in this folder on the PP-OCR direction classifier's variant ladder (fetched
# as `make models` does, the ladder built once and cached in .cache/ladder), or, when the real model cannot
# be had (registries offline, a step failing) or EDGERT_SCENARIO_MODEL=fixture, on the embedded fixture
# model; the first line names the model and, for the fixture, why.
# Usage: devices/scenarios/run.sh OUT_DIR [more edgert simulate options]
#   EDGERT=path/to/edgert (required)   EDGERT_MODEL_CACHE=DIR (default .cache/models)
#   EDGERT_SCENARIO_MODEL=ppocr-cls (default) | fixture
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:?usage: run.sh OUT_DIR}"; shift
: "${EDGERT:?set EDGERT to the edgert binary}"
models="${EDGERT_MODEL_CACHE:-$root/.cache/models}"
ladder="$root/.cache/ladder/ppocr-cls"
scenarios="$root/devices/scenarios"
# How the ladder is made; a cached ladder made another way is rebuilt. The input shape (1x3x48x192, one
# text line) comes from the calibration lines and is recorded in the manifest, so every layer's MACs count.
# Pruning at 50 and 70% (reconstruction, then a few passes of distillation to fp32), each also in int8, makes
# a ladder whose lightest rung costs about a quarter of fp32 on the boards. Quality is agreement with the
# generator's labels on 2000 lines of another seed: on 500, rungs a point apart trade places by chance.
recipe="ppocr-cls opset13 calib=512/777 eval=2000/4242 prune=0.5,0.7(+int8) round-to=16 prune-samples=512 distill-epochs=4 keep-dominated"
reason=""

fail() { reason="not the PP-OCR classifier: $1 ($(tail -n 1 "$2"))"; return 1; }

build_ladder() {
    local work="$root/.cache/ladder/build"
    rm -rf "$work" "$ladder" && mkdir -p "$work"
    local started=$SECONDS
    "$EDGERT" models fetch --cache "$models" --model ppocr-cls >"$work/fetch.log" 2>&1 || { fail "it could not be fetched" "$work/fetch.log"; return 1; }
    local source="$models/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx"
    "$EDGERT" upgrade "$source" -o "$work/ppocr-cls-13.onnx" --opset 13 >"$work/upgrade.log" 2>&1 \
        || { fail "upgrading it failed" "$work/upgrade.log"; return 1; }
    "$EDGERT" models lines --count 512 --seed 777 -o "$work/calib" >"$work/lines.log" 2>&1 \
        || { fail "generating calibration lines failed" "$work/lines.log"; return 1; }
    "$EDGERT" models lines --count 2000 --seed 4242 -o "$work/eval" >"$work/eval-lines.log" 2>&1 \
        || { fail "generating evaluation lines failed" "$work/eval-lines.log"; return 1; }
    # The ladder is priced with the boards' costs, so its channel alignment is fixed rather than probed here: the
    # probe picks what runs fastest on this machine (and, on a busy one, by noise), and another multiple changes which
    # channels survive and so every pruned rung's quality. 16 is a multiple of every SIMD width the boards' kernels
    # block channels by (NEON: 4 fp32, 8 fp16, 16 int8 lanes). For the same reason every rung is kept
    # (--keep-dominated): which rungs this machine's latencies put off the Pareto front depends on its ISA and
    # its load at the time (int8 of this small model runs slower than fp32 on x86, not on the boards' cores), and
    # the boards' cost models, not this machine, decide what each rung is worth.
    "$EDGERT" build "$work/ppocr-cls-13.onnx" -o "$ladder" --calib "$work/calib/x.npy" --prune 0.5,0.7 --round-to 16 --prune-samples 512 \
        --keep-dominated --distill-epochs 4 --data "$work/eval/x.npy" --labels "$work/eval/labels.npy" >"$work/build.log" 2>&1 \
        || { rm -rf "$ladder"; fail "building its ladder failed" "$work/build.log"; return 1; }
    echo "$recipe" >"$ladder/recipe"
    echo "ladder built in $((SECONDS - started)) s (log in .cache/ladder/build)" >&2
}

if [[ "${EDGERT_SCENARIO_MODEL:-ppocr-cls}" == fixture ]]; then
    reason="EDGERT_SCENARIO_MODEL=fixture"
elif [[ "${EDGERT_SCENARIO_MODEL:-ppocr-cls}" != ppocr-cls ]]; then
    reason="EDGERT_SCENARIO_MODEL='$EDGERT_SCENARIO_MODEL' is neither ppocr-cls nor fixture"
elif [[ ! -f "$ladder/manifest.json" || "$(cat "$ladder/recipe" 2>/dev/null)" != "$recipe" ]]; then
    echo "building the PP-OCR classifier's variant ladder once into .cache/ladder (later runs reuse it) ..." >&2
    build_ladder || true
fi
if [[ -z "$reason" && -f "$ladder/manifest.json" ]]; then
    exec "$EDGERT" simulate --scenario "$scenarios" --bundle "$ladder" --out "$out" "$@"
fi
echo "model: the embedded fixture, not a real model: $reason"
exec "$EDGERT" simulate --scenario "$scenarios" --out "$out" "$@"
