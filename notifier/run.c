/* SPDX-License-Identifier: GPL-3.0-or-later */

/* OP_RUN: a customer's `run` becomes a transient service over sd-bus. One command of a kind per
 * customer at a time (ListUnitsByPatterns), then StartTransientUnit; the op then becomes the
 * reply that says so. The result comes later, from the journal. */

#include <stdarg.h>

#include "build-config.h"
#include "log.h"
#include "manager.h"
#include "run.h"

#define INITIATED "Command execution initiated. Please be patient, as this may take some time. " \
                  "You'll receive a notification upon completion."

int run_unit_name(const char *customer, TaskKind task, const char *event_id, char **ret) {
        return asprintf(ret, "scheduler-%s-%s-run-%012llx.service", customer, task_kind_to_string(task),
                        (unsigned long long) (hash_fnv1a(event_id) & 0xffffffffffffULL)) < 0 ? -ENOMEM : 0;
}

char *exec_arg_escape(const char *s) {
        char *t = malloc(strlen(s) * 2 + 1), *p = t;

        if (!t)
                return NULL;
        for (; *s; s++) {
                if (*s == '$')
                        *p++ = '$';
                *p++ = *s;
        }
        *p = 0;
        return t;
}

usec_t run_max_usec(TaskKind task) {
        static const usec_t max[_TASK_MAX] = {
                [TASK_PING] = 600 * USEC_PER_SEC,
                [TASK_DISK] = 600 * USEC_PER_SEC,
                [TASK_PRICE] = 60 * USEC_PER_SEC,
                [TASK_MAINTENANCE] = 3 * 3600 * USEC_PER_SEC,
                [TASK_RESTART] = 180 * USEC_PER_SEC,
        };
        return task < _TASK_MAX ? max[task] : 60 * USEC_PER_SEC;
}

static int finish_with_reply(Manager *m, Op *op, const char *text) {
        op->kind = OP_SEND;
        if (op_make_reply(op, op->event_id, text) < 0) {
                manager_fatal_oom(m);
                return 0;
        }
        manager_step(m);
        return 0;
}

static int append_exec(sd_bus_message *msg, const char *property, char **argv) {
        int r;

        r = sd_bus_message_open_container(msg, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(msg, "s", property);
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'v', "a(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'a', "(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'r', "sasb");
        if (r >= 0)
                r = sd_bus_message_append(msg, "s", SCHEDULER_TASK_PATH);
        if (r >= 0)
                r = sd_bus_message_append_strv(msg, argv);
        if (r >= 0)
                r = sd_bus_message_append(msg, "b", 0);
        for (int i = 0; r >= 0 && i < 4; i++)
                r = sd_bus_message_close_container(msg);
        return r;
}

static int append_strv_property(sd_bus_message *msg, const char *property, char **l) {
        int r;

        r = sd_bus_message_open_container(msg, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(msg, "s", property);
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(msg, l);
        for (int i = 0; r >= 0 && i < 2; i++)
                r = sd_bus_message_close_container(msg);
        return r;
}

/* LogExtraFields: every line the run logs carries who and what, for journalctl and for us. */
static int append_log_fields(sd_bus_message *msg, char **fields) {
        int r;

        r = sd_bus_message_open_container(msg, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(msg, "s", "LogExtraFields");
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'v', "aay");
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'a', "ay");
        for (char **f = fields; r >= 0 && *f; f++)
                r = sd_bus_message_append_array(msg, 'y', *f, strlen(*f));
        for (int i = 0; r >= 0 && i < 3; i++)
                r = sd_bus_message_close_container(msg);
        return r;
}

/* argv for ExecStart (finish = false) or ExecStopPost (finish = true), every word $-escaped. */
static int run_argv(const Op *op, bool finish, char ***ret) {
        const char *words[] = { "scheduler-task", finish ? "--finish" : NULL, op->customer,
                                task_kind_to_string(op->command.task),
                                op->command.task == TASK_RESTART ? op->command.service : NULL };
        _cleanup_strv_free_ char **argv = NULL;

        for (size_t i = 0; i < ELEMENTSOF(words); i++) {
                char *w;
                if (!words[i])
                        continue;
                w = exec_arg_escape(words[i]);
                if (!w || strv_push(&argv, w) < 0) {
                        free(w);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(argv);
        return 0;
}

static int append_strings(char ***l, const char *format, ...) _printf_(2, 3);
static int append_strings(char ***l, const char *format, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        r = strv_push(l, s);
        if (r < 0)
                free(s);
        return r;
}

static int run_properties(sd_bus_message *msg, const Op *op, const char *unit) {
        _cleanup_strv_free_ char **start = NULL, **stop = NULL, **env = NULL, **fields = NULL;
        _cleanup_free_ char *what = command_task_string(&op->command), *id = NULL, *desc = NULL;
        int r;

        if (!what || !(id = strndup(unit, strlen(unit) - strlen(".service"))) ||
            asprintf(&desc, "The Scheduler: run %s for %s, asked by %s", what, op->customer, op->sender) < 0)
                return -ENOMEM;
        if ((r = run_argv(op, false, &start)) < 0 || (r = run_argv(op, true, &stop)) < 0 ||
            (r = append_strings(&env, "SCHEDULER_ROOM=%s", op->room_id)) < 0 ||
            (r = append_strings(&env, "SCHEDULER_REPLY_TO=%s", op->event_id)) < 0 ||
            (r = append_strings(&env, "SCHEDULER_SENDER=%s", op->sender)) < 0 ||
            (r = append_strings(&env, "SCHEDULER_RUN=%s", id)) < 0 ||
            (r = append_strings(&env, "SCHEDULER_MODE=run")) < 0 ||
            (r = append_strings(&fields, "SCHEDULER_CUSTOMER=%s", op->customer)) < 0 ||
            (r = append_strings(&fields, "SCHEDULER_COMMAND=%s", task_kind_to_string(op->command.task))) < 0 ||
            (r = append_strings(&fields, "SCHEDULER_RUN=%s", id)) < 0)
                return r;

        r = sd_bus_message_append(msg, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)",
                                  "Description", "s", desc, "Type", "s", "exec",
                                  "RuntimeMaxUSec", "t", (uint64_t) run_max_usec(op->command.task),
                                  "CollectMode", "s", "inactive-or-failed",
                                  "SyslogIdentifier", "s", "scheduler-task",
                                  "NoNewPrivileges", "b", 1, "PrivateTmp", "b", 1, "PrivateDevices", "b", 1,
                                  "ProtectSystem", "s", "strict", "ProtectHome", "s", "yes");
        if (r >= 0)
                r = append_exec(msg, "ExecStart", start);
        if (r >= 0)
                r = append_exec(msg, "ExecStopPost", stop);
        if (r >= 0)
                r = append_strv_property(msg, "Environment", env);
        if (r >= 0)
                r = append_log_fields(msg, fields);
        return r;
}

static int on_started(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        Op *op = m->ops;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        _cleanup_free_ char *what = command_task_string(&op->command), *text = NULL;

        m->send.slot = sd_bus_slot_unref(m->send.slot);
        if (!what)
                return manager_fatal_oom(m), 0;
        /* UnitExists: this command was started before a crash; say "initiated" again, the
         * transaction id makes the homeserver keep only the first. */
        if (e && !sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists")) {
                log_error("Failed to start `run %s` for %s: %s", what, op->customer, e->message);
                if (asprintf(&text, "`run %s` could not be started: %s", what, e->message) < 0)
                        return manager_fatal_oom(m), 0;
                return finish_with_reply(m, op, text);
        }
        log_info("Started `run %s` for %s (StartTransientUnit took %.2f ms).", what, op->customer,
                 (double) (now_usec(CLOCK_MONOTONIC) - op->bus_start) / USEC_PER_MSEC);
        return finish_with_reply(m, op, INITIATED);
}

static void start_transient(Manager *m, Op *op, const char *unit) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        r = sd_bus_message_new_method_call(m->bus, &msg, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(msg, "ss", unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(msg, 'a', "(sv)");
        if (r >= 0)
                r = run_properties(msg, op, unit);
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r >= 0)
                r = sd_bus_message_append(msg, "a(sa(sv))", 0);
        op->bus_start = now_usec(CLOCK_MONOTONIC);
        if (r >= 0)
                r = sd_bus_call_async(m->bus, &m->send.slot, msg, on_started, m, 0);
        if (r < 0) {
                log_error_errno(r, "Failed to ask systemd to start %s: %m", unit);
                (void) finish_with_reply(m, op, "The command could not be started; we have been told.");
        }
}

static int on_listed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        _cleanup_free_ char *unit = NULL, *text = NULL;
        Manager *m = userdata;
        Op *op = m->ops;
        const char *name;
        int r;

        m->send.slot = sd_bus_slot_unref(m->send.slot);
        r = run_unit_name(op->customer, op->command.task, op->event_id, &unit);
        if (r < 0)
                return manager_fatal_oom(m), 0;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                log_error("Failed to list the units of %s: %s", op->customer,
                          sd_bus_message_get_error(reply)->message);
                return finish_with_reply(m, op, "The command could not be started; we have been told.");
        }
        /* a(ssssssouso): the first field of each entry is the unit's name. */
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        while (r > 0 && (r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, NULL, NULL, NULL,
                                                 NULL, NULL, NULL, NULL)) > 0)
                if (!streq(name, unit)) {
                        if (asprintf(&text, "`%s` is already running", task_kind_to_string(op->command.task)) < 0)
                                return manager_fatal_oom(m), 0;
                        return finish_with_reply(m, op, text);
                }
        start_transient(m, op, unit);
        return 0;
}

void run_start(Manager *m, Op *op) {
        _cleanup_free_ char *pattern = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        char *states[] = { (char *) "active", (char *) "activating", (char *) "deactivating",
                           (char *) "reloading", NULL };
        char *patterns[] = { NULL, NULL };
        int r;

        if (asprintf(&pattern, "scheduler-%s-%s-*.service", op->customer,
                     task_kind_to_string(op->command.task)) < 0)
                return manager_fatal_oom(m);
        patterns[0] = pattern;
        r = sd_bus_message_new_method_call(m->bus, &msg, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "ListUnitsByPatterns");
        if (r >= 0)
                r = sd_bus_message_append_strv(msg, states);
        if (r >= 0)
                r = sd_bus_message_append_strv(msg, patterns);
        if (r >= 0)
                r = sd_bus_call_async(m->bus, &m->send.slot, msg, on_listed, m, 0);
        if (r < 0) {
                log_error_errno(r, "Failed to ask systemd for the units of %s: %m", op->customer);
                (void) finish_with_reply(m, op, "The command could not be started; we have been told.");
        }
}
