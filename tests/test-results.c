/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "calendar.h"
#include "results.h"
#include "run.h"
#include "unit.h"
#include "tests.h"

static void set(RunResult *r, const char *field) {
        if (run_result_set_field(r, field, strlen(field)) < 0)
                abort();
}

static RunResult sample(const char *result) {
        RunResult r = {};
        char field[64];

        set(&r, "_SYSTEMD_UNIT=scheduler-acme-restart-run-0123456789ab.service");
        set(&r, "_UID=61200");                        /* a task's own user (DynamicUser=) */
        set(&r, "SCHEDULER_RUN=scheduler-acme-restart-run-0123456789ab");
        set(&r, "SCHEDULER_CUSTOMER=acme");
        set(&r, "SCHEDULER_CUSTOMER=acme");   /* repeated by LogExtraFields, the same */
        set(&r, "SCHEDULER_COMMAND=restart");
        set(&r, "SCHEDULER_ARGS=slack");
        snprintf(field, sizeof(field), "SCHEDULER_RESULT=%s", result);
        set(&r, field);
        set(&r, "SCHEDULER_REASON=exit status 1");
        set(&r, "SCHEDULER_REPORT=line one\n* item <b>\n");
        set(&r, "SCHEDULER_STARTED=1655656980000000");   /* 2022-06-19 16:43:00 UTC */
        set(&r, "MESSAGE=ignored");
        return r;
}

TEST(success_message) {
        _cleanup_free_ char *text = NULL;
        RunResult r = sample("success");

        ASSERT_STREQ(r.customer, "acme");
        ASSERT_TRUE(run_result_valid(&r));
        ASSERT_OK(run_result_message(&r, &text));
        ASSERT_STREQ(text, "Execution of `run restart slack` command successful\nline one\n* item <b>");
        run_result_done(&r);
}

TEST(failure_message_and_list_line) {
        _cleanup_free_ char *text = NULL, *line = NULL;
        RunResult r = sample("failure");

        ASSERT_OK(run_result_message(&r, &text));
        ASSERT_STREQ(text,
                     "Execution of `run restart slack` command failed: exit status 1\nline one\n* item <b>");
        ASSERT_OK(run_result_list_line(&r, "UTC", &line));
        ASSERT_STREQ(line, "* 2022-06-19 16:43: run restart slack failed: exit status 1");
        line = mfree(line);
        ASSERT_OK(run_result_list_line(&r, "Europe/Berlin", &line));
        ASSERT_STREQ(line, "* 2022-06-19 18:43: run restart slack failed: exit status 1");
        run_result_done(&r);
}

TEST(maintenance_says_how_long_it_took) {
        static const struct {
                usec_t usec;
                const char *text;
        } durations[] = {
                { 45 * USEC_PER_SEC, "45 s" },
                { 89 * USEC_PER_SEC, "1 min" },
                { 90 * USEC_PER_SEC, "2 min" },
                { 3900 * USEC_PER_SEC, "1 h 5 min" },
        };
        _cleanup_free_ char *text = NULL;
        RunResult r = {};

        set(&r, "SCHEDULER_CUSTOMER=acme");
        set(&r, "SCHEDULER_COMMAND=maintenance");
        set(&r, "SCHEDULER_RESULT=success");
        set(&r, "SCHEDULER_REPORT=Identified issues: none found.\n");
        set(&r, "SCHEDULER_STARTED=1655656980000000");
        r.realtime = 1655656980000000ULL + 17 * 60 * USEC_PER_SEC + 10 * USEC_PER_SEC;
        ASSERT_OK(run_result_message(&r, &text));
        ASSERT_STREQ(text, "Execution of `run maintenance` command successful (took 17 min)\n"
                           "Identified issues: none found.");
        text = mfree(text);
        r.result = mfree(r.result);
        set(&r, "SCHEDULER_RESULT=failure");
        set(&r, "SCHEDULER_REASON=the maintenance failed: exit status 2");
        ASSERT_OK(run_result_message(&r, &text));
        ASSERT_CONTAINS(text, "command failed: the maintenance failed: exit status 2 (took 17 min)\n");
        run_result_done(&r);

        FOREACH_ROW(i, durations, "%" PRIu64 " s", (uint64_t) (durations[i].usec / USEC_PER_SEC)) {
                char d[32];

                duration_format(durations[i].usec, d, sizeof(d));
                ASSERT_STREQ(d, durations[i].text);
        }
}

TEST(list_line_of_a_success_without_args) {
        _cleanup_free_ char *line = NULL;
        RunResult r = {};

        set(&r, "SCHEDULER_COMMAND=ping");
        set(&r, "SCHEDULER_RESULT=success");
        r.realtime = 1655051760ULL * USEC_PER_SEC;   /* 2022-06-12 16:36 */
        ASSERT_OK(run_result_list_line(&r, "UTC", &line));
        ASSERT_STREQ(line, "* 2022-06-12 16:36: run ping");
        run_result_done(&r);
}

/* Only a customer's own units speak for the customer, with the fields a message needs. */
TEST(invalid_entries) {
        static const char *const units[] = {
                "scheduler-globex-restart-run-1.service",  /* another customer's unit */
                "scheduler-acme-price-run-1.service",      /* another command */
                "scheduler-acme-restart-.service",
                "sshd.service",
                "scheduler-acme-restart-run-1.timer",
        };

        FOREACH_ROW(i, units, "\"%s\"", units[i]) {
                RunResult r = sample("success");
                free(r.unit);
                r.unit = strdup(units[i]);
                ASSERT_FALSE(run_result_valid(&r));
                run_result_done(&r);
        }

        RunResult r = sample("maybe");
        ASSERT_FALSE(run_result_valid(&r));
        run_result_done(&r);

        /* No unit known to journald: an entry of a task's own user (one systemd made for a unit)
         * naming one of the customer's runs still counts, if the run's start came from its unit
         * (the caller looks); root's, the notifier's, anyone else's not. */
        r = sample("success");
        r.unit = mfree(r.unit);
        r.run = mfree(r.run);
        r.start_seen = true;
        ASSERT_FALSE(run_result_valid(&r));
        set(&r, "SCHEDULER_RUN=scheduler-acme-restart-run-0123456789ab");
        r.start_seen = false;
        ASSERT_FALSE(run_result_valid(&r));
        r.start_seen = true;
        static const struct {
                const char *uid;
                bool valid;
        } uids[] = {
                { "0", false },      { "1000", false },   { "61183", false }, { "65520", false },
                { "-61184", false }, { "61184x", false }, { "61184", true },  { "65519", true },
        };
        FOREACH_ROW(i, uids, "_UID=%s", uids[i].uid) {
                free(r.uid);
                r.uid = strdup(uids[i].uid);
                ASSERT_EQ(run_result_valid(&r), uids[i].valid);
        }
        free(r.run);
        r.run = strdup("scheduler-globex-restart-run-1");
        ASSERT_FALSE(run_result_valid(&r));
        run_result_done(&r);

        r = sample("failure");
        free(r.reason);
        r.reason = strdup("evil\nsecond line");
        ASSERT_FALSE(run_result_valid(&r));
        run_result_done(&r);
}

/* What journald says of an entry (its unit, user, invocation) must agree with what it says of
 * itself; a name that only begins like a customer's is another customer's. */
TEST(trusted_fields_must_agree) {
        static const struct {
                const char *field, *value;
        } cases[] = {
                /* Customer acme-corp's task, writing itself down as acme's command "corp". */
                { "_SYSTEMD_UNIT", "scheduler-acme-corp-price-run-0123456789ab.service" },
                { "SCHEDULER_RUN", "scheduler-acme-restart-run-ffffffffffff" },  /* another run */
                { "_UID", "995" },                                             /* not a task's user */
                { "_UID", "0" },
                { "_SYSTEMD_INVOCATION_ID", "1111" },                          /* another invocation */
                { "SCHEDULER_SCHEDULE", "scheduler-acme-restart-at-209901020304" }, /* not its own */
                /* A field its unit sets (LogExtraFields) written again by the task with another
                 * value: whichever the journal lists first, the entry is no one's. */
                { "SCHEDULER_CUSTOMER", "globex" },
                { "SCHEDULER_RUN_AGAIN", "scheduler-acme-restart-run-ffffffffffff" },
        };
        RunResult r = sample("success");

        set(&r, "SCHEDULER_INVOCATION=2222");
        set(&r, "_SYSTEMD_INVOCATION_ID=2222");
        ASSERT_TRUE(run_result_valid(&r));
        run_result_done(&r);
        FOREACH_ROW(i, cases, "%s=%s", cases[i].field, cases[i].value) {
                _cleanup_free_ char *field = NULL;

                r = sample("success");
                set(&r, "SCHEDULER_INVOCATION=2222");
                if (streq(cases[i].field, "_SYSTEMD_UNIT"))
                        r.unit = mfree(r.unit);
                else if (streq(cases[i].field, "SCHEDULER_RUN"))
                        r.run = mfree(r.run);
                else if (streq(cases[i].field, "_UID"))
                        r.uid = mfree(r.uid);
                ASSERT_TRUE(asprintf(&field, "%s=%s",
                                     streq(cases[i].field, "SCHEDULER_RUN_AGAIN") ? "SCHEDULER_RUN" : cases[i].field,
                                     cases[i].value) > 0);
                set(&r, field);
                if (streq(cases[i].field, "_SYSTEMD_UNIT")) {
                        /* ... with every field its unit would give it, but acme's name and "corp". */
                        r.run = mfree(r.run);
                        set(&r, "SCHEDULER_RUN=scheduler-acme-corp-price-run-0123456789ab");
                        r.command = mfree(r.command);
                        set(&r, "SCHEDULER_COMMAND=corp");
                }
                ASSERT_FALSE(run_result_valid(&r));
                run_result_done(&r);
        }
        /* A one-shot's own result retires it. */
        r = sample("success");
        r.unit = mfree(r.unit);
        r.run = mfree(r.run);
        set(&r, "_SYSTEMD_UNIT=scheduler-acme-restart-at-209901020304.service");
        set(&r, "SCHEDULER_RUN=scheduler-acme-restart-at-209901020304");
        set(&r, "SCHEDULER_SCHEDULE=scheduler-acme-restart-at-209901020304");
        ASSERT_TRUE(run_result_valid(&r));
        run_result_done(&r);
}

TEST(huge_reports_are_cut) {
        _cleanup_free_ char *text = NULL, *field = malloc(100020);
        RunResult r = sample("success");

        ASSERT_TRUE(field);
        strcpy(field, "SCHEDULER_REPORT=");
        memset(field + 17, 'x', 100000);
        field[100017] = 0;
        r.report = mfree(r.report);
        set(&r, field);
        ASSERT_OK(run_result_message(&r, &text));
        ASSERT_TRUE(strlen(text) < 17000);
        ASSERT_CONTAINS(text, "\n(cut)");
        run_result_done(&r);
}

/* The customer's server's words reach chat without what a terminal or a client would act on. */
TEST(control_characters_never_reach_chat) {
        _cleanup_free_ char *text = NULL;
        RunResult r = sample("failure");

        r.report = mfree(r.report);
        set(&r, "SCHEDULER_REPORT=<0>emergency\n\033[31mred\033[0m\tok\r\n\xc2\x9b" "2J caf\xc3\xa9 \x7f\n");
        ASSERT_OK(run_result_message(&r, &text));
        ASSERT_STREQ(text, "Execution of `run restart slack` command failed: exit status 1\n"
                           "<0>emergency\n?[31mred?[0m\tok?\n??2J caf\xc3\xa9 ?");
        run_result_done(&r);
}

TEST(unit_names_and_escaping) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *e = NULL;

        ASSERT_OK(run_unit_name("acme", TASK_PRICE, "$event:example.com", &a));
        ASSERT_OK(run_unit_name("acme", TASK_PRICE, "$event:example.com", &b));
        ASSERT_OK(run_unit_name("acme", TASK_PRICE, "$other:example.com", &c));
        ASSERT_STREQ(a, b);
        ASSERT_FALSE(streq(a, c));
        ASSERT_TRUE(startswith(a, "scheduler-acme-price-run-"));
        ASSERT_EQ(strlen(a), strlen("scheduler-acme-price-run-") + 12 + strlen(".service"));
        e = unit_exec_escape("a$b${c}$$");
        ASSERT_STREQ(e, "a$$b$${c}$$$$");
        ASSERT_TRUE(unit_runtime_max_usec("maintenance") > unit_runtime_max_usec("price"));
}

TEST(progress_entries) {
        RunResult r = {};

        set(&r, "_SYSTEMD_UNIT=scheduler-acme-maintenance-run-0123456789ab.service");
        set(&r, "SCHEDULER_EVENT=progress");
        set(&r, "SCHEDULER_CUSTOMER=acme");
        set(&r, "SCHEDULER_COMMAND=maintenance");
        set(&r, "SCHEDULER_RUN=scheduler-acme-maintenance-run-0123456789ab");
        set(&r, "SCHEDULER_STEP=Upgrading");
        set(&r, "SCHEDULER_MODE=run");
        set(&r, "_UID=61200");
        ASSERT_TRUE(run_progress_valid(&r));
        ASSERT_FALSE(run_result_valid(&r));
        ASSERT_STREQ(r.mode, "run");
        /* Another customer's unit does not speak for acme. */
        r.unit = mfree(r.unit);
        set(&r, "_SYSTEMD_UNIT=scheduler-globex-maintenance-run-0123456789ab.service");
        ASSERT_FALSE(run_progress_valid(&r));
        r.unit = mfree(r.unit);
        set(&r, "_SYSTEMD_UNIT=scheduler-acme-maintenance-run-0123456789ab.service");
        r.step = mfree(r.step);
        set(&r, "SCHEDULER_STEP=two\nlines");
        ASSERT_FALSE(run_progress_valid(&r));
        r.step = mfree(r.step);
        ASSERT_FALSE(run_progress_valid(&r));
        run_result_done(&r);
}

TEST(start_entries_and_the_result_of_an_interrupted_run) {
        _cleanup_free_ char *text = NULL;
        RunResult r = {}, n = {};

        set(&r, "_SYSTEMD_UNIT=scheduler-acme-maintenance-weekly-fri-1500.service");
        set(&r, "SCHEDULER_EVENT=start");
        set(&r, "SCHEDULER_CUSTOMER=acme");
        set(&r, "SCHEDULER_COMMAND=maintenance");
        set(&r, "SCHEDULER_RUN=scheduler-acme-maintenance-weekly-fri-1500");
        set(&r, "SCHEDULER_MODE=recurring");
        set(&r, "_UID=61200");
        ASSERT_FALSE(run_start_valid(&r));      /* no invocation id to find its result by */
        set(&r, "SCHEDULER_INVOCATION=5e2a0c6d8f1b4a7c9d3e2f1a0b9c8d7e");
        ASSERT_TRUE(run_start_valid(&r));
        ASSERT_FALSE(run_result_valid(&r));
        ASSERT_FALSE(run_progress_valid(&r));
        /* Another customer's unit, or the notifier, does not start acme's runs. */
        r.unit = mfree(r.unit);
        set(&r, "_SYSTEMD_UNIT=scheduler-globex-maintenance-weekly-fri-1500.service");
        ASSERT_FALSE(run_start_valid(&r));
        r.unit = mfree(r.unit);
        set(&r, "_SYSTEMD_UNIT=" NOTIFIER_UNIT);
        ASSERT_FALSE(run_start_valid(&r));
        run_result_done(&r);
        /* Any run someone asked for writes one, not only a maintenance. */
        set(&r, "_SYSTEMD_UNIT=scheduler-acme-disk-run-0123456789ab.service");
        set(&r, "SCHEDULER_EVENT=start");
        set(&r, "SCHEDULER_CUSTOMER=acme");
        set(&r, "SCHEDULER_COMMAND=disk");
        set(&r, "SCHEDULER_RUN=scheduler-acme-disk-run-0123456789ab");
        set(&r, "SCHEDULER_INVOCATION=5e2a0c6d8f1b4a7c9d3e2f1a0b9c8d7e");
        set(&r, "_UID=61200");
        ASSERT_TRUE(run_start_valid(&r));
        run_result_done(&r);

        /* What the notifier writes for it after the reboot: valid from its unit, for acme's run only. */
        set(&n, "_SYSTEMD_UNIT=" NOTIFIER_UNIT);
        set(&n, "SCHEDULER_EVENT=result");
        set(&n, "SCHEDULER_CUSTOMER=acme");
        set(&n, "SCHEDULER_COMMAND=maintenance");
        set(&n, "SCHEDULER_RESULT=failure");
        set(&n, "SCHEDULER_REASON=" RUN_INTERRUPTED_REASON);
        set(&n, "SCHEDULER_STARTED=0");
        ASSERT_FALSE(run_result_valid(&n));     /* names no run */
        set(&n, "SCHEDULER_RUN=scheduler-globex-maintenance-weekly-fri-1500");
        ASSERT_FALSE(run_result_valid(&n));
        n.run = mfree(n.run);
        set(&n, "SCHEDULER_RUN=scheduler-acme-maintenance-weekly-fri-1500");
        ASSERT_TRUE(run_result_valid(&n));
        ASSERT_OK(run_result_message(&n, &text));
        ASSERT_STREQ(text, "Execution of `run maintenance` command failed: " RUN_INTERRUPTED_REASON);
        /* Nor does the notifier write progress, or monitoring's results. */
        n.event = mfree(n.event);
        set(&n, "SCHEDULER_EVENT=progress");
        set(&n, "SCHEDULER_STEP=Upgrading");
        ASSERT_FALSE(run_progress_valid(&n));
        run_result_done(&n);
}

TEST(monitoring_results_come_from_the_customers_monitor_unit) {
        static const struct {
                const char *unit, *command;
                bool valid;
        } cases[] = {
                { "scheduler-acme-monitor.service", "ping", true },
                { "scheduler-globex-monitor.service", "ping", false },  /* another customer's */
                { "scheduler-acme-monitor.service", "restart", false }, /* monitoring only pings */
                { "scheduler-acme-ping-run-1.service", "ping", false },  /* a run cannot claim it */
                { "scheduler-acme-monitor.timer", "ping", false },
        };

        FOREACH_ROW(i, cases, "%s %s", cases[i].unit, cases[i].command) {
                RunResult r = sample("success");

                free(r.unit);
                r.unit = strdup(cases[i].unit);
                free(r.run);
                r.run = strndup(cases[i].unit, strcspn(cases[i].unit, "."));
                free(r.command);
                r.command = strdup(cases[i].command);
                set(&r, "SCHEDULER_MODE=monitor");
                ASSERT_EQ(run_result_valid(&r), cases[i].valid);
                run_result_done(&r);
        }
}
