/* SPDX-License-Identifier: GPL-3.0-or-later */

/* scheduler-task CUSTOMER COMMAND [ARGS…]: runs one command for one customer, as the ExecStart of
 * a transient service, and ends with one structured journal entry (SCHEDULER_EVENT=result) that the
 * notifier turns into the customer's message.
 * scheduler-task --finish CUSTOMER COMMAND [ARGS…]: the service's ExecStopPost. If the run ended
 * without its entry (killed, timed out, crashed), it writes one from what systemd says.
 *
 * Exit status: 0 success reported, 1 failure reported, 2 nothing reported (usage, config). */

#include <getopt.h>
#include <time.h>
#include <systemd/sd-journal.h>

#include "build-config.h"
#include "lock.h"
#include "log.h"
#include "task.h"
#include "unit.h"

#define EXIT_REPORTED_FAILURE 1
#define EXIT_UNREPORTED 2
#define LATE_USEC (30 * USEC_PER_SEC)

typedef struct Run {
        const char *customer;
        const char *command;
        char **args;
        char *args_joined;
} Run;

static const char *arg_config = SCHEDULER_CONFIG_PATH;
static bool arg_finish = false;

static const struct {
        const char *name;
        int (*func)(TaskContext *t);
} commands[] = {
        { "ping", task_ping },
        { "price", task_price },
        { "disk", task_disk },
        { "restart", task_restart },
        { "maintenance", task_maintenance },
};

/* One structured entry with everything the notifier needs to answer: a result (result is "success" or
 * "failure") or the start (result NULL) that tells after a reboot of this host that the run began. */
static int entry_send(const Run *run, const char *event, const char *result, const char *reason, const char *text,
                      usec_t started) {
        const char *mode = getenv("SCHEDULER_MODE") ?: "run";
        int r;

        r = sd_journal_send("MESSAGE=%s %s%s%s for %s: %s%s%s", mode, run->command,
                            isempty(run->args_joined) ? "" : " ", run->args_joined, run->customer,
                            result ?: "started", reason ? ": " : "", strempty(reason), "PRIORITY=%i",
                            streq_ptr(result, "failure") ? LOG_WARNING : LOG_INFO, "SCHEDULER_EVENT=%s", event,
                            "SCHEDULER_CUSTOMER=%s", run->customer, "SCHEDULER_COMMAND=%s", run->command,
                            "SCHEDULER_ARGS=%s", run->args_joined, "SCHEDULER_MODE=%s", mode,
                            "SCHEDULER_RESULT=%s", strempty(result), "SCHEDULER_REASON=%s", strempty(reason),
                            "SCHEDULER_REPORT=%s", strempty(text), "SCHEDULER_ROOM=%s",
                            strempty(getenv("SCHEDULER_ROOM")), "SCHEDULER_REPLY_TO=%s",
                            strempty(getenv("SCHEDULER_REPLY_TO")), "SCHEDULER_RUN=%s",
                            strempty(getenv("SCHEDULER_RUN")), "SCHEDULER_SCHEDULE=%s",
                            strempty(getenv("SCHEDULER_SCHEDULE")), "SCHEDULER_INVOCATION=%s",
                            strempty(getenv("INVOCATION_ID")), "SCHEDULER_STARTED=%llu", started,
                            "SCHEDULER_TAIL=%s", arg_finish ? "yes" : "", NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to write the %s to the journal: %m", event);
        return 0;
}

static int report(const Run *run, bool success, const char *reason, const char *text, usec_t started) {
        return entry_send(run, "result", success ? "success" : "failure", reason, text, started);
}

/* A one-shot that was due while the host was down runs at boot; the customer should know. */
static void report_lateness(FILE *f, usec_t started) {
        const char *due_s = getenv("SCHEDULER_DUE");
        unsigned long long due = due_s ? strtoull(due_s, NULL, 10) : 0;
        time_t t = (time_t) (due / USEC_PER_SEC);
        struct tm tm;
        char when[32];

        if (due == 0 || started < due + LATE_USEC || !gmtime_r(&t, &tm) ||
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm) == 0)
                return;
        fprintf(f, "This ran late: it was due at %s UTC, while the server running The Scheduler was down.\n",
                when);
}

/* A maintenance or restart: one at a time per customer (lock.c). Asked for in chat, it does not
 * wait; scheduled, it waits up to [scheduler] lock_wait. Monitoring takes no lock. */
static int take_lock(TaskContext *t, const Run *run) {
        const char *mode = getenv("SCHEDULER_MODE") ?: "run";
        _cleanup_free_ char *what = NULL;
        unsigned wait_sec;

        if (!unit_command_exclusive(run->command) || streq(mode, "monitor"))
                return 0;
        if (asprintf(&what, "%s%s%s", run->command, isempty(run->args_joined) ? "" : " ",
                     run->args_joined) < 0)
                return task_fail(t, -ENOMEM, "out of memory");
        /* The wait the unit's RuntimeMaxSec= allows (unit.c); the configuration's if it says none. */
        if (safe_atou(strempty(getenv("SCHEDULER_LOCK_WAIT")), &wait_sec) < 0)
                wait_sec = t->customer->lock_wait_sec;
        return task_lock(t, what, !streq(mode, "run"), wait_sec);
}

static int run_command(const Config *c, const Run *run) {
        _cleanup_free_ char *text = NULL;
        usec_t started = now_usec(CLOCK_REALTIME);
        TaskContext t = { .config = c, .args = run->args, .started = started };
        size_t size = 0;
        bool reported = true;
        int (*func)(TaskContext *t) = NULL;
        int r;

        t.customer = config_find_customer(c, run->customer);
        if (!t.customer) {
                log_error("No customer '%s' in %s.", run->customer, c->path);
                return EXIT_UNREPORTED;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i].name, run->command))
                        func = commands[i].func;
        t.report = open_memstream(&text, &size);
        if (!t.report)
                return log_oom(), EXIT_UNREPORTED;
        report_lateness(t.report, started);
        /* Monitoring's quiet pings come again soon; a run someone asked for is told if a reboot of
         * this host cuts it short (results-io.c). */
        if (getenv("INVOCATION_ID") && !streq_ptr(getenv("SCHEDULER_MODE"), "monitor"))
                (void) entry_send(run, "start", NULL, NULL, NULL, started);

        r = func ? take_lock(&t, run) : 0;
        if (r >= 0)
                r = func ? func(&t) : task_fail(&t, -EOPNOTSUPP, "`%s` is not a command", run->command);
        if (fclose(t.report) != 0)
                return log_oom(), EXIT_UNREPORTED;
        if (r < 0 && !t.failure)
                t.failure = strdup("internal error");
        /* What the customer's server said goes to the journal and to chat: nothing a terminal or a
         * client would act on. */
        string_replace_controls(text, true);
        string_replace_controls(t.failure, false);

        /* The report line by line for journalctl readers, then the one entry the notifier reads. */
        log_text(stdout, text);
        if (r < 0)
                fprintf(stdout, "failed: %s\n", t.failure);
        fflush(stdout);
        if (getenv("INVOCATION_ID") && report(run, r >= 0, t.failure, text, started) < 0)
                reported = false;
        free(t.failure);
        if (!reported)
                return EXIT_UNREPORTED;
        return r >= 0 ? EXIT_SUCCESS : EXIT_REPORTED_FAILURE;
}

/* ExecStopPost: systemd tells how the run ended in SERVICE_RESULT, EXIT_CODE and EXIT_STATUS. */
static int finish(const Run *run) {
        const char *result = getenv("SERVICE_RESULT"), *code = getenv("EXIT_CODE"),
                   *status = getenv("EXIT_STATUS");
        _cleanup_free_ char *reason = NULL;
        int r;

        if (streq_ptr(result, "success") || (streq_ptr(code, "exited") && streq_ptr(status, "1")))
                return EXIT_SUCCESS;   /* the run reported itself */

        if (streq_ptr(result, "timeout"))
                r = asprintf(&reason, "took too long and was stopped");
        else if (streq_ptr(code, "killed"))
                r = asprintf(&reason, "killed by signal SIG%s", strempty(status));
        else if (streq_ptr(code, "dumped"))
                r = asprintf(&reason, "crashed (signal SIG%s)", strempty(status));
        else if (streq_ptr(code, "exited"))
                r = asprintf(&reason, "exit status %s", strempty(status));
        else
                r = asprintf(&reason, "ended with result '%s'", strempty(result));
        if (r < 0)
                return log_oom(), EXIT_UNREPORTED;

        /* The lines the run printed are in the journal, which this task's user cannot read: the
         * notifier adds them (SCHEDULER_TAIL). */
        return report(run, false, reason, NULL, 0) < 0 ? EXIT_UNREPORTED : EXIT_SUCCESS;
}

static int parse_argv(int argc, char *argv[], Run *ret) {
        enum { ARG_FINISH = 0x100 };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "config", required_argument, NULL, 'c' },
                { "finish", no_argument, NULL, ARG_FINISH },
                {}
        };
        int c;

        for (;;) {
                c = getopt_long(argc, argv, "+hc:", options, NULL);
                if (c < 0)
                        break;
                switch (c) {
                case 'h':
                        printf("%s [--config=PATH] [--finish] CUSTOMER COMMAND [ARGS…]\n\n"
                               "Runs one command of The Scheduler for one customer and reports the\n"
                               "result to the journal (under systemd).\n"
                               "Commands: ping, price, disk, restart SERVICE, maintenance.\n",
                               program_invocation_short_name);
                        return 0;
                case 'c':
                        arg_config = optarg;
                        break;
                case ARG_FINISH:
                        arg_finish = true;
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (argc - optind < 2) {
                log_error("Usage: %s [--config=PATH] [--finish] CUSTOMER COMMAND [ARGS…]",
                          program_invocation_short_name);
                return -EINVAL;
        }
        *ret = (Run) { .customer = argv[optind], .command = argv[optind + 1], .args = argv + optind + 2 };
        return 1;
}

static char *join_words(char **l) {
        size_t size = 0;
        char *s = NULL;
        FILE *f;

        f = open_memstream(&s, &size);
        if (!f)
                return NULL;
        for (char **i = l; *i; i++)
                fprintf(f, "%s%s", i == l ? "" : " ", *i);
        return fclose(f) == 0 ? s : mfree(s);
}

/* The customer's SSH key as systemd handed it to this unit (LoadCredential=, unit.c): this task's
 * own user can read no other key, nor the file the operator named. Without it, that file. */
static int use_key_credential(Config *c, const char *customer) {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        char *path;

        if (!dir)
                return 0;
        if (asprintf(&path, "%s/%s", dir, UNIT_SSH_KEY_CREDENTIAL) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_customers; i++)
                if (streq(c->customers[i].name, customer) && access(path, F_OK) >= 0) {
                        free(c->customers[i].ssh_key_file);
                        c->customers[i].ssh_key_file = path;
                        return 0;
                }
        free(path);
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *error = NULL;
        Run run;
        int r;

        r = parse_argv(argc, argv, &run);
        if (r <= 0)
                return r < 0 ? EXIT_UNREPORTED : EXIT_SUCCESS;
        run.args_joined = join_words(run.args);
        if (!run.args_joined)
                return log_oom(), EXIT_UNREPORTED;

        if (arg_finish)
                r = finish(&run);
        else if (config_load(arg_config, CONFIG_LOAD_DEFAULT, &c, &error) < 0) {
                log_error("Bad configuration: %s", error ?: "out of memory");
                r = EXIT_UNREPORTED;
        } else if (use_key_credential(c, run.customer) < 0) {
                (void) log_oom();
                r = EXIT_UNREPORTED;
        } else
                r = run_command(c, &run);
        free(run.args_joined);
        return r;
}
