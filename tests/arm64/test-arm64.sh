#!/usr/bin/env bash
# Runs the linux-arm64 build of edgert under qemu user emulation and checks that it gives the same
# answers as this machine's build: same top-1 and agreement on the fixture model, real ONNX Runtime
# inference through ORT's arm64 native library.
# Usage: test-arm64.sh X86_EDGERT ARM64_PUBLISH_DIR SYSROOT WORK_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
x86_edgert="$(realpath "${1:?x86 edgert}")"
arm64_dir="$(realpath "${2:?arm64 publish directory}")"
sysroot="$(realpath "${3:?sysroot}")"
work="$(realpath -m "${4:?work directory}")"
model="$(realpath "$here/../../src/EdgeRuntime.Samples/FashionCnn/fashion-cnn.onnx")"
qemu="${QEMU:-qemu-aarch64-static}"

command -v "$qemu" >/dev/null || { echo "test-arm64: $qemu not found (Debian package qemu-user-static)" >&2; exit 1; }
for lib in libonnxruntime.so; do
    if ! od -An -tx1 -j18 -N2 "$arm64_dir/$lib" | grep -q "b7 00"; then
        echo "test-arm64: $arm64_dir/$lib is not an AArch64 ELF file" >&2
        exit 1
    fi
done
if od -An -tx1 -j18 -N2 "$arm64_dir/edgert" | grep -qv "b7 00"; then
    echo "test-arm64: $arm64_dir/edgert is not an AArch64 executable" >&2
    exit 1
fi
echo "arm64 ORT library: $arm64_dir/libonnxruntime.so (ELF machine AArch64)"

# .NET maps JIT code twice (write XOR execute); under qemu user emulation that crashes at random
# (illegal instruction, segmentation fault), so emulated runs turn it off.
export DOTNET_EnableWriteXorExecute=0
arm64() { "$qemu" -L "$sysroot" "$arm64_dir/edgert" "$@"; }

rm -rf "$work" && mkdir -p "$work"
python3 "$here/make_npy.py" "$work" 128
data_sets=("generated:--data $work/images.npy --labels $work/labels.npy")
if [[ -d /usr/share/dataset-fashion-mnist || -n "$(ls /usr/share/*/fashion-mnist* 2>/dev/null)" ]] && "$x86_edgert" eval "$model" --dataset fashion-mnist --limit 1 --json >/dev/null 2>&1; then
    data_sets+=("fashion-mnist:--dataset fashion-mnist --limit 300")
fi

failed=0
for entry in "${data_sets[@]}"; do
    name="${entry%%:*}"
    read -r -a args <<<"${entry#*:}"
    "$x86_edgert" eval "$model" "${args[@]}" --batch 32 --json --threads 1 >"$work/$name.x86.json"
    start=$SECONDS
    arm64 eval "$model" "${args[@]}" --batch 32 --json --threads 1 >"$work/$name.arm64.json"
    echo "arm64 eval on $name took $((SECONDS - start)) s under emulation"
    python3 - "$work/$name.x86.json" "$work/$name.arm64.json" "$name" <<'PY' || failed=1
import json, sys
x86, arm, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
ok = True
for a, b in zip(x86["variants"], arm["variants"]):
    # Floating-point sums differ between AVX and NEON kernels; allow one borderline sample to flip.
    slack = 1.0 / a["samples"] + 1e-9
    same = a["error"] is None and b["error"] is None and abs(a["top1"] - b["top1"]) <= slack and abs(a["agreement"] - b["agreement"]) <= slack
    ok &= same
    print(f"{name:14} {a['variant']:8} samples {a['samples']:4}  top-1 x86 {a['top1']:.4f} arm64 {b['top1']:.4f}  "
          f"agreement x86 {a['agreement']:.4f} arm64 {b['agreement']:.4f}  {'OK' if same else 'MISMATCH'}")
ok &= len(x86["variants"]) == len(arm["variants"]) > 0
sys.exit(0 if ok else 1)
PY
done

arm64 bench "$model" --runs 20 --warmup 2 --threads 1 >"$work/bench.arm64.txt" || { cat "$work/bench.arm64.txt"; failed=1; }
cat "$work/bench.arm64.txt"

if ((failed)); then
    echo "test-arm64: FAILED" >&2
    exit 1
fi
echo "edgert under emulation: passed"
