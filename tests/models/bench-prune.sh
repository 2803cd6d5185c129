#!/usr/bin/env bash
# Structured pruning benchmark: every pruned model is timed against its fp32 parent in the same run
# (interleaved rounds), with one thread and with all threads; the ISA is printed with the figures.
# Usage: tests/models/bench-prune.sh EDGERT [WORK_DIR]
set -euo pipefail
EDGERT=${1:?usage: bench-prune.sh EDGERT [WORK_DIR]}
WORK=${2:-.cache/bench-prune}
MODELS=${EDGERT_MODEL_CACHE:-.cache/models}
ALL=$(nproc)
mkdir -p "$WORK"

echo "== generated CNNs, 30% of every group, rounded to the probe's multiple vs not rounded"
for threads in 1 "$ALL"; do
  "$EDGERT" --threads "$threads" bench-prune --generated --size 96 --ratio 0.3
done

OCR="$MODELS/ppocr-cls/ch_ppocr_mobile_v2.0_cls_infer.onnx"
if [ -f "$OCR" ]; then
  echo "== PP-OCR direction classifier, 30% structured, rounded to 16, least-squares reconstruction on 256 lines (seed 777)"
  "$EDGERT" upgrade "$OCR" -o "$WORK/cls-opset13.onnx" --opset 13 >/dev/null
  "$EDGERT" models lines --count 256 --seed 777 -o "$WORK/cls-calib" >/dev/null
  "$EDGERT" --threads 1 prune "$WORK/cls-opset13.onnx" --method structured --ratio 0.3 --round-to 16 --calib "$WORK/cls-calib/x.npy" \
    -o "$WORK/cls-pruned30.onnx" --allow-slower
  echo "-- agreement with fp32 on the 500 held-out lines"
  "$EDGERT" diff "$WORK/cls-opset13.onnx" "$WORK/cls-pruned30.onnx" --data "$MODELS/ppocr-cls/data/x.npy"
  for threads in 1 "$ALL"; do
    "$EDGERT" --threads "$threads" bench-prune "$WORK/cls-opset13.onnx" "$WORK/cls-pruned30.onnx" --shape x=1x3x48x192
  done
else
  echo "PP-OCR classifier not in $MODELS (make models): skipped"
fi

MINILM="$MODELS/minilm/model.onnx"
if [ -f "$MINILM" ]; then
  D="$MODELS/minilm/data"
  echo "== MiniLM, 50% of every FFN's neurons, rounded, least-squares reconstruction on the 256 generated sentences"
  "$EDGERT" prune "$MINILM" --method structured --ratio 0.5 -o "$WORK/minilm-ffn50.onnx" --allow-slower \
    --calib input_ids="$D/input_ids.npy" attention_mask="$D/attention_mask.npy" token_type_ids="$D/token_type_ids.npy"
  echo "-- cosine to fp32 (the same 256 sentences)"
  "$EDGERT" diff "$MINILM" "$WORK/minilm-ffn50.onnx" \
    --data input_ids="$D/input_ids.npy" --data attention_mask="$D/attention_mask.npy" --data token_type_ids="$D/token_type_ids.npy"
  for threads in 1 "$ALL"; do
    "$EDGERT" --threads "$threads" bench-prune "$MINILM" "$WORK/minilm-ffn50.onnx" \
      --shape input_ids=1x128 attention_mask=1x128 token_type_ids=1x128
  done
else
  echo "MiniLM not in $MODELS (make models): skipped"
fi
