#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs the built scheduler-generator against the fixtures in data/generator/ and compares what it
# writes, file by file and byte for byte, with data/generator/expected/ (there @DIR@ stands for the
# temporary directory, @TASK@ for scheduler-task's installed path, @USER@ for the user tasks run
# as); then the inputs it must skip without failing the boot. A sanitized build's tasks go without
# the system call filter and MemoryDenyWriteExecute (LeakSanitizer needs both): those lines of
# expected/ are left out for it.
#
# Usage: test-generator.sh GENERATOR TASK_PATH USER SANITIZED(0|1)      (meson test passes them)

set -u

if [ $# -ne 4 ]; then
        echo "Usage: $0 GENERATOR TASK_PATH USER SANITIZED" >&2
        exit 2
fi
GENERATOR=$1
TASK=$2
USER_NAME=$3
SANITIZED=$4
DATA=$(cd "$(dirname "$0")" && pwd)/data/generator
passed=0
failed=0

if [ ! -x "$GENERATOR" ] || [ ! -d "$DATA/expected" ]; then
        echo "$GENERATOR or $DATA/expected missing, skipping"
        exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/scheduler-test-generator-XXXXXX") || exit 77
trap 'rm -rf "$TMP"' EXIT

check() {
        local name=$1
        shift
        if "$@"; then
                echo "ok   $name"
                passed=$((passed + 1))
        else
                echo "FAIL $name"
                failed=$((failed + 1))
        fi
}

# setup DIR: the fixtures' config and stores under DIR, an empty output dir DIR/out.
setup() {
        mkdir -p "$1/out" "$1/schedules.d"
        sed "s|@DIR@|$1|g" "$DATA/scheduler.conf.in" >"$1/scheduler.conf"
        echo "not a real key" >"$1/acme.key"
        cp "$DATA"/schedules.d/*.conf "$1/schedules.d/"
}

# run DIR ARGS…: the generator on DIR's config, its stderr in DIR/stderr, its exit status in $rc.
run() {
        local dir=$1
        shift
        SCHEDULER_CONFIG="$dir/scheduler.conf" "$GENERATOR" "$@" 2>"$dir/stderr"
        rc=$?
}

expected_text() {
        local unsanitized='^(MemoryDenyWriteExecute|SystemCallFilter|SystemCallErrorNumber)='
        sed -e "s|@DIR@|$2|g" -e "s|@TASK@|$TASK|g" -e "s|@USER@|$USER_NAME|g" "$1" |
                if [ "$SANITIZED" = 1 ]; then grep -Ev "$unsanitized"; else cat; fi
}

# same_tree DIR: DIR/out holds exactly what expected/ does: the same names, files byte for byte
# (after substitution), links pointing at the same targets.
same_tree() {
        local dir=$1 exp=$DATA/expected f bad=0

        names() { (cd "$1" && find . -mindepth 1 | sort); }
        if ! diff <(names "$exp") <(names "$dir/out"); then
                echo "  the names differ (< expected, > written)"
                bad=1
        fi
        while IFS= read -r f; do
                if [ -L "$exp/$f" ]; then
                        if [ "$(readlink "$exp/$f")" != "$(readlink "$dir/out/$f")" ]; then
                                echo "  $f: not a link to $(readlink "$exp/$f")"
                                bad=1
                        fi
                elif [ -f "$dir/out/$f" ] && ! expected_text "$exp/$f" "$dir" | cmp -s - "$dir/out/$f"; then
                        echo "  $f differs:"
                        expected_text "$exp/$f" "$dir" | diff -u - "$dir/out/$f" | sed 's/^/    /'
                        bad=1
                fi
        done < <(cd "$exp" && find . \( -type f -o -type l \) | sort)
        return $bad
}

empty_dir() {
        [ -d "$1" ] && [ -z "$(ls -A "$1")" ]
}

stderr_is() {
        local want=$1 got
        got=$(cat "$2")
        [ "$got" = "$want" ] || { printf '  stderr:   %s\n  expected: %s\n' "$got" "$want"; return 1; }
}

# The units of all but initech, counted: as many as expected/ holds of them.
others_as_expected() {
        [ "$(find "$D/out" | grep -vc initech)" -eq "$(find "$DATA/expected" | grep -vc initech)" ]
}

# DIR/stderr is just the line about initech's broken store.
broken_store_said() {
        stderr_is "$D/schedules.d/initech.conf:5: [scheduler-initech-ping-weekly-mon-0800] weekday: \
'Funday' is not a weekday; customer initech gets no schedules until this is fixed, ignoring." "$D/stderr"
}

# The timers timers.target wants, one a line, from the generator's drop-in.
wanted() {
        sed -n 's/^Wants=//p' "$1"/timers.target.d/50-scheduler-generator.conf | tr ' ' '\n'
}

# Every unit of expected/ but the monitoring ones, and nothing else; no monitoring timer wanted.
all_but_monitoring() {
        [ "$(find "$D/out" -name '*-monitor.*' | wc -l)" -eq 0 ] &&
                [ "$(find "$D/out" | wc -l)" -eq "$(find "$DATA/expected" | grep -vc -- '-monitor\.')" ] &&
                ! wanted "$D/out" | grep -q -- '-monitor\.timer$' &&
                [ "$(wanted "$D/out" | wc -l)" -eq "$(wanted "$DATA/expected" | grep -vc -- '-monitor\.')" ]
}

# The fixtures, byte for byte (former.conf: a customer no longer configured gets nothing; umbrella
# is not monitored); the broken store skipped with one line naming file, line and why, its
# customer still monitored.
D=$TMP/fixtures
setup "$D"
run "$D" "$D/out"
check "exit 0 with a broken store" [ "$rc" -eq 0 ]
check "every unit and the timers.target drop-in as expected" same_tree "$D"
check "the broken store named: file, line, what is wrong, no timers" broken_store_said

# Run again into the same dir: nothing is overwritten, every unit says so.
run "$D" "$D/out"
check "a second run: exit 0" [ "$rc" -eq 0 ]
check "a second run overwrites nothing" same_tree "$D"
check "a second run says why" grep -qx \
        "Failed to write $D/out/scheduler-acme-disk-weekly-mon-0930.service, ignoring: File exists" "$D/stderr"

# The drop-in's name taken already (the dir is shared): not overwritten, said; every unit written.
D=$TMP/dropin-taken
setup "$D"
mkdir "$D/out/timers.target.d"
echo "# someone else's" >"$D/out/timers.target.d/50-scheduler-generator.conf"
run "$D" "$D/out"
check "drop-in taken: exit 0" [ "$rc" -eq 0 ]
check "drop-in taken: not overwritten" \
        grep -qx "# someone else's" "$D/out/timers.target.d/50-scheduler-generator.conf"
check "drop-in taken: said" grep -qx "Failed to write $D/out/timers.target.d/50-scheduler-generator.conf, \
the scheduler's timers do not start at boot, ignoring: File exists" "$D/stderr"
check "drop-in taken: every unit written" test "$(find "$D/out" -name 'scheduler-*' | wc -l)" -eq \
        "$(find "$DATA/expected" -name 'scheduler-*' | wc -l)"

# Called by systemd: three dirs, units only into the first; nothing to say, so nothing on kmsg.
D=$TMP/systemd
setup "$D"
echo "# no schedules yet" >"$D/schedules.d/initech.conf"
mkdir "$D/early" "$D/late"
run "$D" "$D/out" "$D/early" "$D/late"
check "three arguments: exit 0" [ "$rc" -eq 0 ]
check "three arguments: the early dir untouched" empty_dir "$D/early"
check "three arguments: the late dir untouched" empty_dir "$D/late"
check "three arguments: initech's default maintenance too" \
        test "$(find "$D/out" -name 'scheduler-initech-maintenance-weekly-*' | wc -l)" -eq 2
check "three arguments: initech's default maintenance wanted" \
        test "$(wanted "$D/out" | grep -c '^scheduler-initech-maintenance-weekly-.*\.timer$')" -eq 1
check "three arguments: every other unit too" others_as_expected

# Monitoring off for everyone: no monitoring unit, every other one as before, nothing said.
D=$TMP/monitor-off
setup "$D"
sed -i 's/^\[scheduler\]$/[scheduler]\nmonitor_interval = off/' "$D/scheduler.conf"
run "$D" "$D/out"
check "monitoring off: exit 0" [ "$rc" -eq 0 ]
check "monitoring off: no monitoring units, every other one" all_but_monitoring
check "monitoring off: only the broken store said" broken_store_said

# A missing config: nothing to do, nothing said above debug, nothing written.
D=$TMP/missing
setup "$D"
rm "$D/scheduler.conf"
run "$D" "$D/out"
check "missing config: exit 0" [ "$rc" -eq 0 ]
check "missing config: nothing written" empty_dir "$D/out"
check "missing config: nothing said" stderr_is "" "$D/stderr"

# A broken price catalogue is no business of the generator's: every unit still as expected.
D=$TMP/prices
setup "$D"
echo "this is not a catalogue" >"$D/prices.conf"
sed -i 's/^\[customer acme\]$/[customer acme]\ncomponents = matrix/' "$D/scheduler.conf"
run "$D" "$D/out"
check "broken catalogue: exit 0" [ "$rc" -eq 0 ]
check "broken catalogue: every unit and the drop-in as expected" same_tree "$D"

# A broken config: one line naming file, line and what is wrong; nothing written.
D=$TMP/broken
setup "$D"
sed -i 's/^state_dir = .*/colour = red/' "$D/scheduler.conf"
line=$(grep -n '^colour' "$D/scheduler.conf" | cut -d: -f1)
run "$D" "$D/out"
check "broken config: exit 0" [ "$rc" -eq 0 ]
check "broken config: nothing written" empty_dir "$D/out"
check "broken config: file, line and why" stderr_is \
        "$D/scheduler.conf:$line: [scheduler] colour: unknown key; no schedules are generated until this is \
fixed, ignoring." \
        "$D/stderr"

# Called wrong, or with no output dir: it says so and still never fails.
D=$TMP/usage
setup "$D"
run "$D"
check "no arguments: exit 0" [ "$rc" -eq 0 ]
check "no arguments: usage" grep -q '^Usage: ' "$D/stderr"
run "$D" "$D/nonexistent"
check "no output dir: exit 0" [ "$rc" -eq 0 ]
check "no output dir: said" grep -q "$D/nonexistent" "$D/stderr"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
