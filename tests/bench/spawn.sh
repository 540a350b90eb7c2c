#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Benchmark: what systemd's spawn of a sandboxed task costs, by property, in the sandbox's control
# container (a real systemd 252). Each figure is the median of N `systemd-run --wait --pipe` of
# `/bin/date +%s%N` (Type=exec): from just before systemd-run to the task's first output, so it holds
# systemd-run's own connect (the "none" row) and systemd's fork and set-up of the sandbox.
#   groups        none; the mount namespace's properties; the seccomp-like ones; the rest; all;
#                 all but ProtectKernelTunables
#   leave-one-out all, then all but each property (slow: 30 × N runs)
# The properties are those of generator/lib/unit-sandbox.c unit_add_sandboxing() (plain build); keep them in step.
#
# Usage: tests/bench/spawn.sh ENV [groups|leave-one-out] [N]   (N: 20 by default)
# Results: tests/bench/RESULTS.md. Nothing stays behind in the sandbox.

set -euo pipefail

ENV=${1:-}
WHAT=${2:-groups}
N=${3:-20}
if [ ! -r "$ENV" ] || [[ $WHAT != groups && $WHAT != leave-one-out ]] || [[ ! $N =~ ^[1-9][0-9]*$ ]]; then
        echo "Usage: $0 ENV [groups|leave-one-out] [N]  (ENV: the env file of a sandbox that is up)" >&2
        exit 2
fi
NAME=$(sed -n 's/^SANDBOX_NAME=//p' "$ENV")
ROOT=$(sed -n 's/^CONTROL_ROOT=//p' "$ENV")
SANDBOX=$(cd "$(dirname "$0")/../sandbox" && pwd)/sandbox
INNER=var/tmp/scheduler-spawn-bench.sh

# The part that runs inside the container, written into its root for the duration.
cat > "$ROOT/$INNER" <<'EOF'
WHAT=$1 N=$2
MNT=(ProtectSystem=strict PrivateTmp=yes PrivateDevices=yes ProtectHome=yes ProtectKernelTunables=yes
     ProtectKernelModules=yes ProtectKernelLogs=yes ProtectControlGroups=yes ProtectProc=invisible
     ProcSubset=pid)
SEC=(NoNewPrivileges=yes RestrictNamespaces=yes RestrictRealtime=yes RestrictSUIDSGID=yes LockPersonality=yes
     "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" SystemCallArchitectures=native
     MemoryDenyWriteExecute=yes SystemCallFilter=@system-service "SystemCallFilter=~@privileged @resources"
     SystemCallErrorNumber=EPERM ProtectClock=yes ProtectHostname=yes)
OTHER=(User=scheduler PrivateUsers=yes RemoveIPC=yes CapabilityBoundingSet= UMask=0077)
ALL=("${MNT[@]}" "${SEC[@]}" "${OTHER[@]}")

measure() {     # LABEL PROPERTY...: the median, in ms
        local label=$1 args=() p t0 t1 i v=()
        shift
        for p in "$@"; do args+=(-p "$p"); done
        for ((i = 0; i < N; i++)); do
                t0=$(date +%s%N)
                t1=$(systemd-run -q --wait --pipe -p Type=exec "${args[@]}" /bin/date +%s%N < /dev/null)
                v+=($(((t1 - t0) / 1000)))
        done
        printf '%s\n' "${v[@]}" | sort -n |
                awk -v l="$label" '{ a[NR] = $1 } END { printf "  %-50s median %6.1f ms\n", l, a[int((NR + 1) / 2)] / 1000 }'
}

echo "systemd's spawn of /bin/date, $N times each (from before systemd-run to its output):"
measure "none"
measure "all" "${ALL[@]}"
if [[ $WHAT == groups ]]; then
        measure "the mount namespace's (${#MNT[@]})" "${MNT[@]}"
        measure "  ProtectKernelTunables alone" ProtectKernelTunables=yes
        measure "seccomp and the like (${#SEC[@]})" "${SEC[@]}"
        measure "User, PrivateUsers, RemoveIPC, caps, umask" "${OTHER[@]}"
        measure "all but ProtectKernelTunables" "${MNT[@]:0:4}" "${MNT[@]:5}" "${SEC[@]}" "${OTHER[@]}"
else
        for ((k = 0; k < ${#ALL[@]}; k++)); do
                measure "all but ${ALL[k]}" "${ALL[@]:0:k}" "${ALL[@]:k+1}"
        done
fi
EOF
trap 'rm -f "$ROOT/$INNER"' EXIT
"$SANDBOX" control --name "$NAME" bash "/$INNER" "$WHAT" "$N"
