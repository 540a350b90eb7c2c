#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Benchmark: how long scheduler-generator takes at boot and on daemon-reload with many customers.
#
# Builds a config of CUSTOMERS customers and their stores, PER schedules each (one-shots and
# weekly, a few paused), runs the built generator RUNS times into a fresh output dir on a tmpfs
# (as systemd's /run/systemd/generator is) and prints the median wall time next to that of `cat`
# over the same input files (the target: under 50 ms, and at most 5x cat) and that of `cp -r` of
# the generated tree: what creating that many files costs on this machine, at least.
#
# Usage: tests/bench/generator.sh BUILDDIR      (CUSTOMERS=1000 PER=10 RUNS=9 by default)

set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1/generator/scheduler-generator" ]; then
        echo "Usage: $0 BUILDDIR  (with generator/scheduler-generator built in it)" >&2
        exit 2
fi
GENERATOR=$(cd "$1" && pwd)/generator/scheduler-generator
BUILDTYPE=$(grep -o '"name": "buildtype", "value": "[a-z]*"' "$1/meson-info/intro-buildoptions.json" 2>/dev/null |
            sed 's/.*"value": //; s/"//g' || true)
CUSTOMERS=${CUSTOMERS:-1000}
PER=${PER:-10}
RUNS=${RUNS:-9}

# Output on a tmpfs when there is one; the input where the caller's TMPDIR is.
OUTBASE=/dev/shm
[ -d "$OUTBASE" ] && [ -w "$OUTBASE" ] || OUTBASE=${TMPDIR:-/tmp}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/scheduler-bench-XXXXXX")
OUTS=$(mktemp -d "$OUTBASE/scheduler-bench-out-XXXXXX")
trap 'rm -rf "$WORK" "$OUTS"' EXIT
mkdir "$WORK/schedules.d"

# One awk process writes it all: a bash loop would take longer than what it measures.
awk -v dir="$WORK" -v customers="$CUSTOMERS" -v per="$PER" 'BEGIN {
        conf = dir "/scheduler.conf"
        printf "[matrix]\nhomeserver = http://127.0.0.1:8008\nuser_id = @bot:bench\n" > conf
        printf "password_file = /etc/scheduler/secret\n\n[scheduler]\n" > conf
        printf "schedules_dir = %s/schedules.d\n", dir > conf
        split("Monday Tuesday Wednesday Thursday Friday Saturday Sunday", days, " ")
        split("ping disk price maintenance restart", commands, " ")
        for (c = 0; c < customers; c++) {
                name = sprintf("customer-%04d", c)
                printf "\n[customer %s]\nowners = @owner%d:bench\ndomain = %s.bench\n", name, c, name > conf
                printf "ssh_host = 192.0.2.1\nssh_key_file = /etc/scheduler/keys/%s\n", name > conf
                printf "ssh_known_host_key = ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6\n" > conf
                if (c % 3 == 0)
                        printf "maintenance = %s 0%d:30\n", days[c % 7 + 1], c % 10 > conf
                store = dir "/schedules.d/" name ".conf"
                printf "# bench\n" > store
                for (j = 0; j < per; j++) {
                        command = commands[(c + j) % 5 + 1]
                        # Half the customers keep the default maintenance: the generator adds it.
                        if (command == "maintenance" && c % 2)
                                command = "ping"
                        printf "\n[s%d]\ncommand = %s\n", j, command > store
                        if (command == "restart")
                                printf "args = matrix-synapse\n" > store
                        if (j % 2 == 0 && command != "restart")
                                printf "weekday = %s\ntime = %02d:%02d\n", days[j % 7 + 1], j, c % 60 > store
                        else
                                printf "date = 2099-%02d-%02d\ntime = %02d:%02d\n", j % 12 + 1, c % 28 + 1,
                                       j, c % 60 > store
                        if (j == 0 && c % 4 == 0 && command != "restart")
                                printf "state = paused\n" > store
                }
                close(store)
        }
}'

now_ns() { date +%s%N; }

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

gen_times=()
cat_times=()
cp_times=()
for ((i = 0; i < RUNS; i++)); do
        out="$OUTS/run$i"
        mkdir "$out"
        t0=$(now_ns)
        SCHEDULER_CONFIG="$WORK/scheduler.conf" "$GENERATOR" "$out"
        t1=$(now_ns)
        cat "$WORK/scheduler.conf" "$WORK"/schedules.d/*.conf >/dev/null
        t2=$(now_ns)
        # What the kernel alone takes to create the same files.
        cp -r "$out" "$OUTS/copy"
        t3=$(now_ns)
        gen_times+=($(( (t1 - t0) / 1000 )))
        cat_times+=($(( (t2 - t1) / 1000 )))
        cp_times+=($(( (t3 - t2) / 1000 )))
        rm -rf "$OUTS/copy"
        [ "$i" -eq 0 ] || rm -rf "$out"
done

first="$OUTS/run0"
units=$(find "$first" -maxdepth 1 -name 'scheduler-*' -type f | wc -l)
timers=$(find "$first" -maxdepth 1 -name 'scheduler-*.timer' -type f | wc -l)
# The timers timers.target wants: named in the generator's drop-in, several to a Wants= line.
wanted=$(sed -n 's/^Wants=//p' "$first"/timers.target.d/*.conf 2>/dev/null | tr ' ' '\n' | grep -c . || true)
gen=$(printf '%s\n' "${gen_times[@]}" | median)
cat=$(printf '%s\n' "${cat_times[@]}" | median)
cp=$(printf '%s\n' "${cp_times[@]}" | median)
ms() { printf '%d.%03d ms' $(($1 / 1000)) $(($1 % 1000)); }

printf 'input:      %d customers, %d stored schedules (%d store files)\n' "$CUSTOMERS" \
        "$((CUSTOMERS * PER))" "$CUSTOMERS"
printf 'written:    %d units (%d timers + their services), %d wanted by a timers.target drop-in, in %s\n' \
        "$units" "$timers" "$wanted" "$OUTBASE"
printf 'generator:  median %s over %d runs, %s build (all, us: %s)\n' "$(ms "$gen")" "$RUNS" \
        "${BUILDTYPE:-unknown}" "${gen_times[*]}"
printf 'cat:        median %s (the same input files)\n' "$(ms "$cat")"
printf 'cp -r:      median %s (a copy of the generated tree: creating the files alone)\n' "$(ms "$cp")"
awk -v g="$gen" -v c="$cat" 'BEGIN {
        printf "target:     < 50 ms: %s; <= 5x cat: %s (%.1fx)\n", g < 50000 ? "yes" : "NO",
               g <= 5 * c ? "yes" : "NO", g / c
}'
