/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <ctype.h>
#include <stddef.h>
#include <time.h>

#include "calendar.h"
#include "command.h"
#include "results.h"

/* A report longer than this is cut: a chat message is no place for megabytes of output. */
#define REPORT_MAX 16384
#define FIELD_MAX (REPORT_MAX + 64)

void run_result_done(RunResult *r) {
        free(r->unit);
        free(r->uid);
        free(r->run);
        free(r->customer);
        free(r->command);
        free(r->args);
        free(r->result);
        free(r->reason);
        free(r->report);
        free(r->room);
        free(r->reply_to);
        free(r->invocation);
        free(r->schedule);
        free(r->event);
        free(r->step);
        free(r->mode);
        free(r->tail);
        free(r->systemd_invocation);
        *r = (RunResult) {};
}

int run_result_set_field(RunResult *r, const char *data, size_t size) {
        static const struct {
                const char *name;
                size_t offset;
        } fields[] = {
                { "_SYSTEMD_UNIT", offsetof(RunResult, unit) },
                { "_UID", offsetof(RunResult, uid) },
                { "_SYSTEMD_INVOCATION_ID", offsetof(RunResult, systemd_invocation) },
                { "SCHEDULER_RUN", offsetof(RunResult, run) },
                { "SCHEDULER_CUSTOMER", offsetof(RunResult, customer) },
                { "SCHEDULER_COMMAND", offsetof(RunResult, command) },
                { "SCHEDULER_ARGS", offsetof(RunResult, args) },
                { "SCHEDULER_RESULT", offsetof(RunResult, result) },
                { "SCHEDULER_REASON", offsetof(RunResult, reason) },
                { "SCHEDULER_REPORT", offsetof(RunResult, report) },
                { "SCHEDULER_ROOM", offsetof(RunResult, room) },
                { "SCHEDULER_REPLY_TO", offsetof(RunResult, reply_to) },
                { "SCHEDULER_INVOCATION", offsetof(RunResult, invocation) },
                { "SCHEDULER_SCHEDULE", offsetof(RunResult, schedule) },
                { "SCHEDULER_EVENT", offsetof(RunResult, event) },
                { "SCHEDULER_STEP", offsetof(RunResult, step) },
                { "SCHEDULER_MODE", offsetof(RunResult, mode) },
                { "SCHEDULER_TAIL", offsetof(RunResult, tail) },
        };
        const char *eq = memchr(data, '=', size);
        size_t klen;

        if (!eq)
                return 0;
        klen = (size_t) (eq - data);
        if (klen == strlen("SCHEDULER_STARTED") && memcmp(data, "SCHEDULER_STARTED", klen) == 0) {
                char buf[24] = {};
                memcpy(buf, eq + 1, MIN(size - klen - 1, sizeof(buf) - 1));
                r->started = strtoull(buf, NULL, 10);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                char **field = (char **) ((char *) r + fields[i].offset);
                if (strlen(fields[i].name) != klen || memcmp(data, fields[i].name, klen) != 0)
                        continue;
                /* LogExtraFields repeats what a task writes of itself (its customer, command, run),
                 * with the same value. Another value is a task claiming to be someone else; which one
                 * comes first is the journal file's order, not the writer's: the entry counts for
                 * nothing. */
                if (*field) {
                        size_t n = MIN(size - klen - 1, (size_t) FIELD_MAX);
                        if (strlen(*field) != n || memcmp(*field, eq + 1, n) != 0)
                                r->conflict = true;
                        return 0;
                }
                *field = strndup(eq + 1, MIN(size - klen - 1, (size_t) FIELD_MAX));
                return *field ? 0 : -ENOMEM;
        }
        return 0;
}

bool run_result_success(const RunResult *r) {
        return streq_ptr(r->result, "success");
}

static bool printable(const char *s) {
        for (; s && *s; s++)
                if (iscntrl((unsigned char) *s))
                        return false;
        return true;
}

/* scheduler-CUSTOMER-COMMAND-SOMETHING followed by suffix. */
static bool unit_of(const RunResult *r, const char *name, const char *suffix) {
        _cleanup_free_ char *prefix = NULL;
        const char *tail;

        if (!name || asprintf(&prefix, "scheduler-%s-%s-", r->customer, r->command) < 0)
                return false;
        tail = startswith(name, prefix);
        return tail && strlen(tail) > strlen(suffix) && streq(tail + strlen(tail) - strlen(suffix), suffix);
}

/* Tasks run as users systemd makes for them (DynamicUser=, unit.c), from this range of its own:
 * nothing else on the host runs as them, not root, not the notifier's user. */
#define DYNAMIC_UID_MIN 61184U
#define DYNAMIC_UID_MAX 65519U

static bool from_task_user(const RunResult *r) {
        unsigned uid;

        return r->uid && safe_atou(r->uid, &uid) >= 0 && uid >= DYNAMIC_UID_MIN && uid <= DYNAMIC_UID_MAX;
}

/* Only the customer's own units speak for the customer. journald may not learn the unit of a
 * process that exits right after logging; then the entry must at least come from root or the
 * tasks' user and name such a unit itself. */
/* scheduler-CUSTOMER-monitor followed by suffix: the customer's monitoring, a quiet ping. */
static bool monitor_unit_of(const RunResult *r, const char *name, const char *suffix) {
        _cleanup_free_ char *expected = NULL;

        return name && asprintf(&expected, "scheduler-%s-monitor%s", r->customer, suffix) >= 0 &&
               streq(name, expected);
}

static bool command_known(const char *command) {
        for (TaskKind k = 0; k < _TASK_MAX; k++)
                if (streq_ptr(task_kind_to_string(k), command))
                        return true;
        return false;
}

/* What journald says of the entry agrees with what the entry says of itself: its unit is the run's
 * unit, exactly (not one whose name only begins like it), written by the unit's own user, in the
 * invocation it names. */
static bool trusted_fields_agree(const RunResult *r) {
        _cleanup_free_ char *unit = NULL;

        if (!r->unit)
                return true;
        if (isempty(r->run) || asprintf(&unit, "%s.service", r->run) < 0 || !streq(unit, r->unit))
                return false;
        if (!from_task_user(r))
                return false;
        return !r->systemd_invocation || streq_ptr(r->systemd_invocation, r->invocation);
}

static bool from_own_unit(const RunResult *r) {
        if (!r->customer || !r->command || r->conflict)
                return false;
        /* "scheduler-acme-corp-price-…" is customer acme-corp's: with acme's name and "corp" as its
         * command it would pass the prefix test below, but there is no command "corp" (and the
         * configuration refuses customer names that make one unit name two customers'). */
        if (!command_known(r->command))
                return false;
        /* A one-shot's result retires that one-shot: its own, no other. */
        if (!isempty(r->schedule) && !streq_ptr(r->schedule, r->run))
                return false;
        /* The result of a run cut short by a reboot, written for it by the notifier. */
        if (streq_ptr(r->unit, NOTIFIER_UNIT))
                return streq_ptr(r->event, "result") && !streq_ptr(r->mode, "monitor") && !isempty(r->run) &&
                       unit_of(r, r->run, "");
        if (!trusted_fields_agree(r))
                return false;
        if (streq_ptr(r->mode, "monitor"))
                return streq(r->command, "ping") && r->unit && monitor_unit_of(r, r->unit, ".service");
        /* Without a unit, only what a task's user wrote for a run whose start came from its unit. */
        return r->unit ? unit_of(r, r->unit, ".service")
                       : from_task_user(r) && r->start_seen && unit_of(r, r->run, "");
}

bool run_result_valid(const RunResult *r) {
        if (!r->result || (!streq(r->result, "success") && !streq(r->result, "failure")))
                return false;
        if (!from_own_unit(r))
                return false;
        return printable(r->command) && printable(r->args) && printable(r->reason);
}

bool run_progress_valid(const RunResult *r) {
        return streq_ptr(r->event, "progress") && streq_ptr(r->command, "maintenance") && from_own_unit(r) &&
               !isempty(r->run) && !isempty(r->step) && printable(r->step) && printable(r->room) &&
               printable(r->reply_to);
}

bool run_start_valid(const RunResult *r) {
        return streq_ptr(r->event, "start") && !isempty(r->command) && printable(r->command) &&
               !streq_ptr(r->unit, NOTIFIER_UNIT) && from_own_unit(r) && !isempty(r->run) &&
               !isempty(r->invocation) && printable(r->invocation) && printable(r->args) &&
               printable(r->room) && printable(r->reply_to) && printable(r->mode);
}

static char *what(const RunResult *r) {
        char *s;

        if (asprintf(&s, "run %s%s%s", r->command, isempty(r->args) ? "" : " ", strempty(r->args)) < 0)
                return NULL;
        return s;
}

int run_result_message(const RunResult *r, char **ret) {
        _cleanup_free_ char *w = what(r), *report = strdup(strempty(r->report));
        size_t n;
        char took[48] = "", d[32];

        if (!w || !report)
                return -ENOMEM;
        string_replace_controls(report, true);
        n = strlen(report);
        while (n > 0 && report[n - 1] == '\n')
                n--;
        if (streq_ptr(r->command, "maintenance") && r->started > 0 && r->realtime > r->started) {
                duration_format(r->realtime - r->started, d, sizeof(d));
                snprintf(took, sizeof(took), " (took %s)", d);
        }
        if (asprintf(ret, "Execution of `%s` command %s%s%s%s%s%.*s%s", w,
                     run_result_success(r) ? "successful" : "failed",
                     run_result_success(r) ? "" : ": ", run_result_success(r) ? "" : strempty(r->reason),
                     took,
                     n ? "\n" : "", (int) MIN(n, (size_t) REPORT_MAX), report,
                     n > REPORT_MAX ? "\n(cut)" : "") < 0)
                return -ENOMEM;
        return 0;
}

int run_result_list_line(const RunResult *r, const char *zone, char **ret) {
        _cleanup_free_ char *w = what(r);
        char when[32];
        int k;

        if (!w)
                return -ENOMEM;
        k = zone_format(zone, (time_t) ((r->started ?: r->realtime) / USEC_PER_SEC), when, sizeof(when));
        if (k < 0)
                return k;
        if (asprintf(ret, "* %s: %s%s%s", when, w, run_result_success(r) ? "" : " failed: ",
                     run_result_success(r) ? "" : strempty(r->reason)) < 0)
                return -ENOMEM;
        return 0;
}
