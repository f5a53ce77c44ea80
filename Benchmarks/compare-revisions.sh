#!/usr/bin/env bash
# Runs the hot path's figures (Benchmarks/hot-path.c: round trip, pipelined,
# 4 threads) for an older revision and for the staged library, alternating
# processes round by round, so that both see the same machine: on a noisy
# VM only figures from one run compare. The older revision is built in its
# own worktree under build/bench-revs (kept for the next run).
#   Benchmarks/compare-revisions.sh OLD_REV [ROUNDS]     (default 5 rounds)
# Prints each round, then per figure both medians over the rounds, new/old,
# and "regressed" when the new median is worse by more than 10% and every
# new round is worse than every old one.
set -euo pipefail
cd "$(dirname "$0")/.."
old_rev=$(git rev-parse --short "${1:?usage: $0 OLD_REV [ROUNDS]}^{commit}")
rounds="${2:-5}"
stage="$PWD/build/stage"
[ -f "$stage/lib/pkgconfig/crochet.pc" ] || { echo "no staged library in $stage: run make stage" >&2; exit 1; }
out="$PWD/build/bench-revs"
tree="$out/$old_rev"
mkdir -p "$out"
if [ ! -f "$tree/build/stage/lib/pkgconfig/crochet.pc" ]; then
    [ -d "$tree" ] || git worktree add --detach "$tree" "$old_rev" >/dev/null
    echo "building $old_rev in $tree ..." >&2
    make -C "$tree" stage >"$out/$old_rev.build.log" 2>&1 || { tail -20 "$out/$old_rev.build.log" >&2; exit 1; }
fi
build() {   # build PREFIX OUTPUT
    cc -O2 -Wall -Wextra -pthread Benchmarks/hot-path.c -o "$2" \
        $(PKG_CONFIG_PATH="$1/lib/pkgconfig" pkg-config --cflags --libs crochet) -Wl,-rpath,"$1/lib" -lm
}
build "$tree/build/stage" "$out/hot-path-$old_rev"
build "$stage" "$out/hot-path-new"
results="$out/results.tsv"
: >"$results"
for r in $(seq 1 "$rounds"); do
    for which in old new; do
        bin="$out/hot-path-$([ $which = old ] && echo "$old_rev" || echo new)"
        line=$("$bin" 5)
        echo "round $r $which: $line"
        echo "$which $line" >>"$results"
    done
done
echo
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources include || echo '+changes') (staged) vs $old_rev, $rounds rounds, load $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
    function med(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } return a[int((n + 1) / 2)] }
    { w = $1; for (f = 2; f < NF; f += 2) { k = $f; v = $(f + 1); n[w, k]++; val[w, k, n[w, k]] = v; keys[k] = 1 } }
    END {
        split("rt_ns pipelined_Mps threads4_kps", order, " ")
        printf "%-14s %10s %10s %8s  %s\n", "figure", "old", "new", "new/old", "verdict"
        for (o = 1; o <= 3; o++) {
            k = order[o]; if (!(k in keys)) continue
            lower = (k == "rt_ns")   # smaller is better
            no = n["old", k]; nn = n["new", k]
            for (i = 1; i <= no; i++) { a[i] = val["old", k, i] } ; mo = med(a, no)
            worstNewBetterThanOld = 0; minNew = 1e18; maxNew = -1; minOld = 1e18; maxOld = -1
            for (i = 1; i <= nn; i++) { b[i] = val["new", k, i]; if (b[i] < minNew) minNew = b[i]; if (b[i] > maxNew) maxNew = b[i] }
            for (i = 1; i <= no; i++) { if (val["old", k, i] < minOld) minOld = val["old", k, i]; if (val["old", k, i] > maxOld) maxOld = val["old", k, i] }
            mn = med(b, nn)
            worse = lower ? (mn > mo * 1.10 && minNew > maxOld) : (mn < mo / 1.10 && maxNew < minOld)
            printf "%-14s %10.3f %10.3f %7.2fx  %s\n", k, mo, mn, mn / mo, worse ? "regressed" : "no regression beyond noise"
        }
    }' "$results"
