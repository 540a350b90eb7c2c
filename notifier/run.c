/* SPDX-License-Identifier: GPL-3.0-or-later */

/* op_run: a customer's `run` becomes a transient service over sd-bus. One command of a kind per
 * customer at a time (ListUnitsByPatterns), then StartTransientUnit; the op then becomes the
 * reply that says so. The result comes later, from the journal. */

#include "bus-unit.h"
#include "calendar.h"
#include "log.h"
#include "manager.h"
#include "ops.h"
#include "progress-io.h"
#include "progress.h"
#include "run-history.h"
#include "run-watch.h"
#include "run.h"
#include "state.h"

int run_unit_name(const char *customer, TaskKind task, const char *event_id, char **ret) {
        return asprintf(ret, "scheduler-%s-%s-run-%012llx.service", customer, task_kind_to_string(task),
                        (unsigned long long) (hash_fnv1a(event_id) & 0xffffffffffffULL)) < 0 ? -ENOMEM : 0;
}

/* A `run` to be told "already running": after a crash its batch repeats, and it must get the same
 * answer (not run, now that the other one may have finished). Saved before the answer goes out: a
 * crash after the homeserver took it but before we knew would otherwise run it on the repeat, and
 * its "initiated", under the same transaction id, would be dropped in favour of the refusal. */
static int note_refused(Manager *m, const char *event_id) {
        int r = state_note_refused_run(m->state, event_id);

        if (r < 0)
                return r;
        r = state_save(m->state);
        if (r < 0)
                log_error_errno(r, "Failed to save %s, continuing: %m", m->state->path);
        return 0;
}

/* A maintenance edits its "initiated" to show how it goes: its event id is remembered. */
static void initiated_sent(Manager *m, Op *op, const char *event_id) {
        progress_note_initiated(m, op->event_id, event_id);
}

static int finish_initiated(Manager *m, Op *op) {
        if (op->command.task == TASK_MAINTENANCE)
                op->answered = initiated_sent;
        return op_finish_with_reply(m, op, RUN_INITIATED);
}

static int on_started(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        Op *op = m->ops;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        _cleanup_free_ char *what = command_task_string(&op->command), *text = NULL;

        m->send.slot = sd_bus_slot_unref(m->send.slot);
        if (!what)
                return manager_fatal_oom(m), 0;
        /* Not started now: a unit of before a crash may have ended already, and would be watched for
         * good; its result comes with the journal's own wake-up. */
        if (e) {
                _cleanup_free_ char *unit = NULL;
                if (run_unit_name(op->customer, op->command.task, op->event_id, &unit) >= 0)
                        run_unwatch(m, unit);
        }
        /* UnitExists: this command was started before a crash; say "initiated" again, the
         * transaction id makes the homeserver keep only the first. */
        if (e && !sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists")) {
                log_error("Failed to start `run %s` for %s: %s", what, op->customer, e->message);
                if (asprintf(&text, "`run %s` could not be started: %s", what, e->message) < 0)
                        return manager_fatal_oom(m), 0;
                return op_finish_with_reply(m, op, text);
        }
        log_info("Started `run %s` for %s (StartTransientUnit took %.2f ms).", what, op->customer,
                 (double) (now_usec(CLOCK_MONOTONIC) - op->bus_start) / USEC_PER_MSEC);
        return finish_initiated(m, op);
}

static void start_transient(Manager *m, Op *op, const char *unit) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        _cleanup_(unit_spec_done) UnitSpec spec = {};
        const Customer *cu = config_find_customer(m->config, op->customer);
        const char *command = task_kind_to_string(op->command.task);
        RunSpec run = {
                .customer = op->customer,
                .command = command,
                .args = op->command.task == TASK_RESTART ? op->command.service : NULL,
                .mode = "run",
                .room = op->room_id,
                .reply_to = op->event_id,
                .sender = op->sender,
                .runtime_max = cu ? unit_customer_runtime_max_usec(cu, command) : 0,
                .ssh_key = cu ? cu->ssh_key_file : NULL,
        };
        int r;

        r = unit_render_service(&run, unit, &spec);
        if (r >= 0)
                r = bus_message_start_transient(m->bus, &spec, NULL, &msg);
        op->bus_start = now_usec(CLOCK_MONOTONIC);
        if (r >= 0) {
                run_watch(m, unit);
                r = sd_bus_call_async(m->bus, &m->send.slot, msg, on_started, m, 0);
        }
        if (r < 0) {
                run_unwatch(m, unit);
                log_error_errno(r, "Failed to ask systemd to start %s: %m", unit);
                (void) op_finish_with_reply(m, op, "The command could not be started; we have been told.");
        }
}

/* Another of the customer's maintenance or restart runs: "`maintenance` is running (started 14:02
 * UTC, 6 min ago); `restart slack` was not started…", from the unit's ActiveEnterTimestamp. */
static int on_holder_since(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        _cleanup_free_ char *what = NULL, *started = NULL, *text = NULL;
        Manager *m = userdata;
        Op *op = m->ops;
        const Customer *cu = config_find_customer(m->config, op->customer);
        const char *zone = cu ? customer_zone(cu) : "UTC";
        uint64_t since = 0, now = now_usec(CLOCK_REALTIME);
        char when[32], ago[32];

        m->send.slot = sd_bus_slot_unref(m->send.slot);
        if (reply && !sd_bus_message_is_method_error(reply, NULL))
                (void) sd_bus_message_read(reply, "v", "t", &since);
        what = command_task_string(&op->command);
        if (!what)
                return manager_fatal_oom(m), 0;
        if (since > 0 && since <= now &&
            zone_format(zone, (time_t) (since / USEC_PER_SEC), when, sizeof(when)) >= 0) {
                duration_format(now - since, ago, sizeof(ago));
                /* The time of day alone, if it was today or near enough. */
                if (asprintf(&started, " (started %s %s, %s ago)",
                             now - since < 12 * 3600 * USEC_PER_SEC ? when + 11 : when, zone, ago) < 0)
                        return manager_fatal_oom(m), 0;
        }
        if (asprintf(&text, "`%s` is running%s; `%s` was not started. Send it again when it has finished.",
                     op->holder, strempty(started), what) < 0)
                return manager_fatal_oom(m), 0;
        if (note_refused(m, op->event_id) < 0)
                return manager_fatal_oom(m), 0;
        return op_finish_with_reply(m, op, text);
}

static int ask_holder_since(Manager *m, const char *path) {
        int r;

        r = sd_bus_call_method_async(m->bus, &m->send.slot, "org.freedesktop.systemd1", path,
                                     "org.freedesktop.DBus.Properties", "Get", on_holder_since, m, "ss",
                                     "org.freedesktop.systemd1.Unit", "ActiveEnterTimestamp");
        /* Without the time, the answer is still right. */
        return r < 0 ? on_holder_since(NULL, m, NULL) : 0;
}

static int on_listed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        _cleanup_free_ char *unit = NULL, *text = NULL;
        Manager *m = userdata;
        Op *op = m->ops;
        const char *name, *path;
        int r;

        m->send.slot = sd_bus_slot_unref(m->send.slot);
        r = run_unit_name(op->customer, op->command.task, op->event_id, &unit);
        if (r < 0)
                return manager_fatal_oom(m), 0;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                log_error("Failed to list the units of %s: %s", op->customer,
                          sd_bus_message_get_error(reply)->message);
                return op_finish_with_reply(m, op, "The command could not be started; we have been told.");
        }
        /* a(ssssssouso): the unit's name first, its object path seventh. */
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        while (r > 0) {
                const char *other;

                r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, NULL, NULL, NULL, &path,
                                        NULL, NULL, NULL);
                if (r <= 0)
                        break;
                if (streq(name, unit))
                        continue;
                other = unit_command_of(name, op->customer);
                /* The other of the two commands that change the server: say which, and since when. */
                if (other && !streq(other, task_kind_to_string(op->command.task))) {
                        if (free_and_strdup(&op->holder, other) < 0)
                                return manager_fatal_oom(m), 0;
                        return ask_holder_since(m, path);
                }
                if (asprintf(&text, "`%s` is already running", task_kind_to_string(op->command.task)) < 0)
                        return manager_fatal_oom(m), 0;
                if (note_refused(m, op->event_id) < 0)
                        return manager_fatal_oom(m), 0;
                return op_finish_with_reply(m, op, text);
        }
        start_transient(m, op, unit);
        return 0;
}

static void run_start(Manager *m, Op *op) {
        char *states[] = { (char *) "active", (char *) "activating", (char *) "deactivating",
                           (char *) "reloading", NULL };
        _cleanup_free_ char *pattern = NULL, *other = NULL;
        int r;

        /* Started before a crash and finished since (its unit is gone): not again. The "initiated"
         * repeats with its transaction id, so the homeserver keeps only one. */
        if (op->maybe_ran && state_run_refused(m->state, op->event_id)) {
                _cleanup_free_ char *text = NULL;
                if (asprintf(&text, "`%s` is already running", task_kind_to_string(op->command.task)) < 0)
                        return manager_fatal_oom(m);
                return (void) op_finish_with_reply(m, op, text);
        }
        if (op->maybe_ran) {
                r = run_history_seen(op->customer, op->event_id);
                if (r < 0)
                        log_warning_errno(r, "Failed to read the journal for %s, ignoring: %m",
                                          op->event_id);
                if (r > 0) {
                        log_info("A `run` of %s (%s) ran before a restart; not again.", op->customer,
                                 op->event_id);
                        return (void) finish_initiated(m, op);
                }
        }
        if (asprintf(&pattern, "scheduler-%s-%s-*.service", op->customer,
                     task_kind_to_string(op->command.task)) < 0)
                return manager_fatal_oom(m);
        /* maintenance and restart change the server: one at a time of either (task/lock.c). */
        if (unit_command_exclusive(task_kind_to_string(op->command.task)) &&
            asprintf(&other, "scheduler-%s-%s-*.service", op->customer,
                     op->command.task == TASK_RESTART ? "maintenance" : "restart") < 0)
                return manager_fatal_oom(m);
        r = bus_list_units_async(m->bus, &m->send.slot, states, STRV_MAKE(pattern, other), on_listed, m);
        if (r < 0) {
                log_error_errno(r, "Failed to ask systemd for the units of %s: %m", op->customer);
                (void) op_finish_with_reply(m, op, "The command could not be started; we have been told.");
        }
}

const OpType op_run = { .name = "run a command for", .step = run_start };
