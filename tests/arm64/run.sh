#!/usr/bin/env bash
# `make test-arm64`: publishes edgert for linux-arm64 (self-contained, so no arm64 .NET is needed), builds the
# arm64 sysroot, runs edgert under qemu-aarch64-static against this machine's build, then cross-compiles the
# native sparse library and runs its CTest suite (real ONNX Runtime arm64 inference) under emulation.
# Needs Debian's qemu-user-static, g++-aarch64-linux-gnu, cmake and ninja-build (or make).
# Usage: run.sh X86_EDGERT
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
x86_edgert="${1:?usage: run.sh X86_EDGERT}"
dotnet="${DOTNET:-dotnet}"
config="${CONFIG:-Release}"
sysroot="$repo/.cache/arm64-sysroot"
publish_dir="$repo/artifacts/edgert-linux-arm64-self-contained"

for tool in qemu-aarch64-static aarch64-linux-gnu-g++ cmake dpkg-deb apt-get python3; do
    command -v "$tool" >/dev/null || { echo "test-arm64: '$tool' not found (apt-get install qemu-user-static g++-aarch64-linux-gnu cmake)" >&2; exit 1; }
done

echo "== arm64 sysroot"
tests/arm64/sysroot.sh "$sysroot"

echo "== dotnet publish -r linux-arm64 --self-contained"
# A separate artifacts path keeps this restore for linux-arm64 out of the obj folders other builds use.
"$dotnet" publish src/EdgeRuntime.Cli -c "$config" -r linux-arm64 --self-contained true \
    --artifacts-path "$repo/.cache/arm64-build" -o "$publish_dir" -nologo -v quiet

echo "== edgert under qemu-aarch64"
tests/arm64/test-arm64.sh "$x86_edgert" "$publish_dir" "$sysroot" "$repo/artifacts/arm64"

echo "== xunit subset (runtime tests) under qemu-aarch64"
tests_dir="$repo/artifacts/edgert-tests-linux-arm64"
"$dotnet" publish tests/EdgeRuntime.Tests -c "$config" -r linux-arm64 --self-contained true \
    --artifacts-path "$repo/.cache/arm64-build" -o "$tests_dir" -nologo -v quiet
# Real ONNX Runtime sessions through ModelRuntime; the whole suite takes minutes under emulation, these seconds.
suite=EdgeRuntime.Tests.RuntimeTests
filters=()
for test in Runs_the_current_variant_and_switches_to_another Outputs_follow_the_batch_size_of_each_request \
    Runs_a_named_variant_without_switching Bad_inputs_are_rejected_naming_the_problem \
    RunAsync_completes_with_the_same_result_and_honours_cancellation Status_reports_latency_per_variant; do
    filters+=(-method "$suite.$test")
done
DOTNET_EnableWriteXorExecute=0 qemu-aarch64-static -L "$sysroot" "$tests_dir/EdgeRuntime.Tests" "${filters[@]}" -noColor

echo "== native library, cross-compiled for arm64, CTest under qemu-aarch64"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S native -B .cache/native-arm64 "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$repo/native/cmake/aarch64-linux-gnu.cmake" -DARM64_SYSROOT="$sysroot" >/dev/null
cmake --build .cache/native-arm64
ctest --test-dir .cache/native-arm64 --output-on-failure -V 2>&1 | grep -E "checks|tests passed|tests failed|FAIL" || true
ctest --test-dir .cache/native-arm64 --output-on-failure >/dev/null
echo "test-arm64: all passed"
