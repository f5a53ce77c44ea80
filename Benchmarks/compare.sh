#!/usr/bin/env bash
# Compares two bench summaries (build/bench/summary.tsv files) row by row:
# libcrochet's median in each, new/old, and the ratio to the libuv peer in
# each run; then both runs' goal verdicts.
#   Benchmarks/compare.sh OLD.tsv [NEW.tsv]   (NEW defaults to build/bench/summary.tsv)
set -euo pipefail
old="$1"
new="${2:-$(dirname "$0")/../build/bench/summary.tsv}"
awk -F'\t' -v OLD="$old" '
    FNR == 1 && FILENAME == OLD { print "old: " substr($0, 3) }
    FNR == 1 && FILENAME != OLD { print "new: " substr($0, 3); print "" }
    $1 == "row" && FILENAME == OLD { om[$2] = $4; orat[$2] = $10 }
    $1 == "row" && FILENAME != OLD { keys[++n] = $2; nm[$2] = $4; unit[$2] = $3; nrat[$2] = $10 }
    $1 == "goal" && FILENAME == OLD { og[$2] = $3 }
    $1 == "goal" && FILENAME != OLD { gk[++g] = $2; ng[$2] = $3; gt[$2] = $4 }
    END {
        printf "%-28s %-6s %12s %12s %8s   %10s %10s\n", "row", "unit", "old", "new", "new/old", "old vs uv", "new vs uv"
        for (i = 1; i <= n; i++) {
            k = keys[i]
            o = (k in om) ? om[k] : "-"
            r = (k in om && om[k] + 0 != 0) ? sprintf("%.2fx", nm[k] / om[k]) : "-"
            printf "%-28s %-6s %12s %12s %8s   %10s %10s\n", k, unit[k], o, nm[k], r,
                   (k in orat) ? orat[k] : "-", nrat[k]
        }
        print ""
        for (i = 1; i <= g; i++) {
            k = gk[i]
            printf "%-4s -> %-4s  %s\n", (k in og) ? og[k] : "-", ng[k], gt[k]
        }
    }' "$old" "$new"
