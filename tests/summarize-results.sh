#!/usr/bin/env bash
# Prints why each skipped test skipped (from the TRX files) and then the closing line
# "N passed, N failed, N skipped" (from the test runner's per-assembly summaries).
# Usage: tests/summarize-results.sh TEST_LOG RESULTS_DIR
set -euo pipefail
log="$1"
results="$2"

if compgen -G "$results/*.trx" >/dev/null; then
    # A skipped result is <UnitTestResult ... outcome="NotExecuted"> whose <Message> is the reason.
    awk '
        /<UnitTestResult / { skipped = ($0 ~ /outcome="NotExecuted"/) }
        skipped && /<Message>/ {
            reason = $0
            sub(/.*<Message>/, "", reason); sub(/<\/Message>.*/, "", reason)
            gsub(/&amp;/, "\\&", reason); gsub(/&lt;/, "<", reason); gsub(/&gt;/, ">", reason)
            gsub(/&quot;/, "\"", reason); gsub(/&apos;/, "'\''", reason)
            count[reason]++
            skipped = 0
        }
        END { for (r in count) printf "skipped %d: %s\n", count[r], r }
    ' "$results"/*.trx | sort
fi

awk '/(Passed|Failed)! +- +Failed: +[0-9]+, Passed: +[0-9]+/ {
        for (i = 1; i <= NF; i++) {
            if ($i == "Failed:") f += $(i+1)
            if ($i == "Passed:") p += $(i+1)
            if ($i == "Skipped:") s += $(i+1)
        }
    }
    END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
