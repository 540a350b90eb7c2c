#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Benchmark: the systemd side of schedules, in the sandbox's control container (a real systemd 252),
# with the sandbox's own build's units-bench (tests/bench/units-bench.c; built, not installed):
#
#   creating schedules  CREATE one-shots (timer + service) each way, interleaved: the notifier's
#                       path (store load and atomic save, render, StartTransientUnit) vs. a bare
#                       client's StartTransientUnit alone (the floor) vs. the notifier's units sent
#                       alone; as the notifier's user `scheduler` (polkit decides each call) and as
#                       root; then `systemd-run --on-calendar` CREATE times
#   systemd itself      PID 1's RSS and the time of daemon-reload with LOADED scheduler timers
#   list                `list schedules` of one customer (50 timers) among them, through the
#                       notifier's own listing steps, and `systemctl list-timers --all`
#
# Usage: tests/bench/units.sh ENV     (ENV: the file `sandbox up` printed; CREATE=1000,
#                                      LOADED=20000, LIST_RUNS=21 by default; CREATE=0: only the
#                                      load, systemd itself and list)
# Full sizes take the machine for a few minutes: not while tests run on it. The timers stay in
# the sandbox until `sandbox down`.

set -euo pipefail

if [ $# -ne 1 ] || [ ! -r "$1" ]; then
        echo "Usage: $0 ENV  (the env file of a sandbox that is up)" >&2
        exit 2
fi
env_get() { awk -F= -v k="$1" '$1 == k { print substr($0, length(k) + 2) }' "$ENV"; }
ENV=$1
NAME=$(env_get SANDBOX_NAME)
BUILD=$(env_get BUILD_DIR)
ROOT=$(env_get CONTROL_ROOT)
LEADER=$(env_get CONTROL_LEADER)
SANDBOX=$(cd "$(dirname "$0")/../sandbox" && pwd)/sandbox
CREATE=${CREATE:-1000}
LOADED=${LOADED:-20000}
LIST_RUNS=${LIST_RUNS:-21}
BIN=$BUILD/tests/bench/units-bench
[ -x "$BIN" ] || { echo "$0: no $BIN: build the sandbox's build dir ($BUILD) first" >&2; exit 1; }

in_control() { "$SANDBOX" control --name "$NAME" "$@"; }
as_scheduler() { in_control setpriv --reuid=scheduler --regid=scheduler --init-groups "$@"; }
now_ns() { date +%s%N; }
ms_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
cpu_ms() { awk '{ print ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"' }' "/proc/$LEADER/stat"; }
rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$LEADER/status"; }
scheduler_timers() {
        in_control systemctl list-units --all --no-legend --plain 'scheduler-*.timer' | wc -l
}

# A fresh tag a run, so a second run on the same sandbox makes new units.
TAG=$(openssl rand -hex 3)
BENCH=/usr/local/libexec/scheduler-bench/units-bench
STORE=/var/lib/scheduler-bench
LIST_TAG=${LIST_TAG:-$TAG}
install -D -m 0755 "$BIN" "$ROOT$BENCH"
in_control install -d -o scheduler -g scheduler -m 0700 "$STORE" "$STORE/${TAG}s" "$STORE/${TAG}r"
buildtype=$(grep -o '"name": "buildtype", "value": "[a-z]*"' "$BUILD/meson-info/intro-buildoptions.json" |
            sed 's/.*"value": //; s/"//g' || true)
version=$(in_control systemctl --version | awk 'NR == 1 { print $2 }')
echo "sandbox $NAME, build $BUILD (${buildtype:-unknown}); tag $TAG; systemd $version;" \
        "scheduler timers loaded before: $(scheduler_timers)"

if ((CREATE > 0)); then
echo
echo "== creating schedules: as the notifier's user, scheduler (polkit asked for each call)"
as_scheduler "$BENCH" create "$CREATE" "${TAG}s" "$STORE/${TAG}s"
echo
echo "== creating schedules: as root (no polkit)"
in_control "$BENCH" create "$CREATE" "${TAG}r" "$STORE/${TAG}r"
echo
echo "== systemd-run --on-calendar, as root"
# One shell in the container runs them all: nsenter per call would be timed too.
in_control bash -c 't0=$(date +%s%N)
        for ((i = 0; i < $1; i++)); do
                systemd-run --quiet --on-calendar="2027-06-01 12:30" --unit="bench-run$2-$i" /bin/true
        done
        echo "$t0 $(date +%s%N)"' - "$CREATE" "$TAG" |
        awk -v n="$CREATE" '{ printf "systemd-run --on-calendar: %.3f ms each, %.1f ms in all\n",
                                     ($2 - $1) / 1e6 / n, ($2 - $1) / 1e6 }'
fi

echo
echo "== systemd itself with $LOADED scheduler timers"
have0=$(scheduler_timers)
have=$have0
rss0=$(rss_mb)
if ((have < LOADED)); then
        in_control "$BENCH" load "$((LOADED - have))" "$TAG"
fi
have=$(scheduler_timers)
units=$(in_control systemctl list-units --all --no-legend --plain | wc -l)
rss1=$(rss_mb)
echo "scheduler timers: $have (units in all, with their services and the rest: $units)"
echo "PID 1 RSS: $rss0 MB before the load, $rss1 MB with them"
# Over systemd's private socket (PID 1 leaves the system bus while it reloads, so a Reload call
# through dbus gets no reply). A reload this size can outlast systemctl's wait: then the reload is
# over when PID 1 answers again. Its CPU time says what it costs on a machine busy with other work.
t0=$(now_ns)
c0=$(cpu_ms)
in_control systemctl daemon-reload || echo "(systemctl gave up waiting: polling until PID 1 answers)"
until IN_TIMEOUT=5 in_control systemctl show --property=Version >/dev/null 2>&1; do sleep 1; done
reload=$(ms_since "$t0")
echo "daemon-reload: $reload ms, $(($(cpu_ms) - c0)) ms of PID 1's CPU; PID 1 RSS after it: $(rss_mb) MB"

echo
echo "== list with $have scheduler timers loaded"
# The first customer of the notifier's path as scheduler: 50 one-shots, in the store and systemd.
as_scheduler "$BENCH" list "bench-n${LIST_TAG}s-0" "$STORE/${LIST_TAG}s" "$LIST_RUNS"
times=()
for ((i = 0; i < 3; i++)); do
        t0=$(now_ns)
        lines=$(in_control systemctl list-timers --all --no-legend --no-pager | wc -l)
        times+=("$(ms_since "$t0")")
done
echo "systemctl list-timers --all: ${times[*]} ms (3 runs; $lines timers listed)"

echo
awk -v t="$have" -v added="$((have - have0))" -v r0="$rss0" -v r1="$rss1" -v l="$reload" 'BEGIN {
        printf "what it means: PID 1 grows ~%.1f KB a scheduler timer (with its service); a reload takes ",
               (added > 0 ? (r1 - r0) * 1024 / added : 0)
        printf "~%.2f ms a timer; at 50 schedules per customer (the most) %d timers are %d customers\n",
               l / t, t, t / 50
}'
