#!/usr/bin/env bash
# Builds a private arm64 sysroot for qemu-aarch64-static -L: Debian's arm64 runtime libraries unpacked
# with dpkg-deb -x, plus an ARM /proc/cpuinfo. ONNX Runtime's arm64 library reads /proc/cpuinfo at load
# and fails on the host's x86 one; qemu's -L prefix redirects that read into the sysroot.
# apt runs against a private state directory, so the system's architectures and packages are untouched.
set -euo pipefail
root="$(realpath -m "${1:?usage: sysroot.sh SYSROOT_DIR}")"
packages=(libc6 libstdc++6 libgcc-s1 libssl3 zlib1g libicu72)
stamp="$root/.complete"
if [[ -f "$stamp" ]]; then
    exit 0
fi
work="$root.apt"
rm -rf "$root" "$work"
mkdir -p "$root" "$work"/{lists/partial,archives/partial,etc/sources.list.d,etc/preferences.d,debs}
: > "$work/status"
# Reuse the machine's Debian sources, but only for reading package lists into the private state.
if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then cp /etc/apt/sources.list.d/*.sources "$work/etc/sources.list.d/"; fi
if compgen -G "/etc/apt/sources.list.d/*.list" >/dev/null; then cp /etc/apt/sources.list.d/*.list "$work/etc/sources.list.d/"; fi
if [[ -f /etc/apt/sources.list ]]; then cp /etc/apt/sources.list "$work/etc/sources.list"; else : > "$work/etc/sources.list"; fi
apt_options=(
    -o APT::Architecture=arm64 -o APT::Architectures=arm64
    -o Dir::State="$work" -o Dir::State::Lists="$work/lists" -o Dir::State::status="$work/status"
    -o Dir::Cache="$work" -o Dir::Cache::archives="$work/archives"
    -o Dir::Etc::sourcelist="$work/etc/sources.list" -o Dir::Etc::sourceparts="$work/etc/sources.list.d"
    -o Dir::Etc::preferencesparts="$work/etc/preferences.d"
    -o Debug::NoLocking=1
)
apt-get "${apt_options[@]}" update -qq
(cd "$work/debs" && apt-get "${apt_options[@]}" download "${packages[@]/%/:arm64}")
for deb in "$work"/debs/*.deb; do
    dpkg-deb -x "$deb" "$root"
done
mkdir -p "$root/proc"
cp "$(dirname "$0")/cortex-a72.cpuinfo" "$root/proc/cpuinfo"
rm -rf "$work"
touch "$stamp"
echo "arm64 sysroot ready: $root"
