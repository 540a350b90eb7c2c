#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Stress: does reading a command's output over SSH ever stall? Runs `scheduler-task acme disk` N times
# in the sandbox's control container, against its real sshd, with a `du` of our own on the customer's
# server that prints BYTES bytes of digits (the same hostile answer as test_task's). Each run should
# end in about a second with "failed: … (more than 1 MiB of output)"; a run that reaches WATCHDOG
# seconds is killed and counted as stalled. Prints the counts and the median and slowest run.
# (A stall used to be: the stderr read took stdout's last packets off the socket, and the bot then
# waited on a quiet socket until the 120 s timeout.)
#
# Usage: tests/bench/ssh-output.sh ENV [N] [BYTES] [WATCHDOG]   (100, 5000000 and 20 by default)
# Nothing stays behind in the sandbox.

set -euo pipefail

ENV=${1:-}
N=${2:-100}
BYTES=${3:-5000000}
WATCHDOG=${4:-20}
if [ ! -r "$ENV" ] || [[ ! $N =~ ^[1-9][0-9]*$ ]] || [[ ! $BYTES =~ ^[0-9]+$ ]] ||
        [[ ! $WATCHDOG =~ ^[1-9][0-9]*$ ]]; then
        echo "Usage: $0 ENV [N] [BYTES] [WATCHDOG]  (ENV: the env file of a sandbox that is up)" >&2
        exit 2
fi
NAME=$(sed -n 's/^SANDBOX_NAME=//p' "$ENV")
CUSTOMER_ROOT=$(sed -n 's/^CUSTOMER_ROOT=//p' "$ENV")
SANDBOX=$(cd "$(dirname "$0")/../sandbox" && pwd)/sandbox
DU=$CUSTOMER_ROOT/usr/local/bin/du

trap 'rm -f "$DU"' EXIT
printf '#!/bin/sh\nhead -c %s /dev/zero | tr "\\0" 9\n' "$BYTES" > "$DU"
chmod 755 "$DU"

ok=0 stalled=0 other=0 times=()
for ((i = 1; i <= N; i++)); do
        t0=$(date +%s%N)
        out=$("$SANDBOX" control --name "$NAME" timeout "$WATCHDOG" scheduler-task acme disk 2>/dev/null) &&
                rc=0 || rc=$?
        times+=($((($(date +%s%N) - t0) / 1000000)))
        if [ "$rc" = 124 ]; then
                stalled=$((stalled + 1))
        elif [[ $rc = 1 && $out == "failed: "*"(more than 1 MiB of output)" ]]; then
                ok=$((ok + 1))
        else
                other=$((other + 1))
                echo "run $i: exit $rc: $out" >&2
        fi
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "runs: $N, output: $BYTES bytes each, watchdog: $WATCHDOG s"
echo "clear failure: $ok, stalled: $stalled, other: $other"
echo "median: ${sorted[$((N / 2))]} ms, slowest: ${sorted[$((N - 1))]} ms"
