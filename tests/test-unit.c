/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "build-config.h"
#include "unit.h"
#include "tests.h"

#define DUE_2027 (1799427600ULL * USEC_PER_SEC)   /* 2027-01-08 17:00 UTC */

static const Customer acme = { .name = (char *) "acme" };

/* The value of the first KEY, or NULL. */
static const char *prop(const UnitSpec *u, UnitSection section, const char *key) {
        for (size_t i = 0; i < u->n; i++)
                if (u->props[i].section == section && streq(u->props[i].key, key))
                        return u->props[i].value;
        return NULL;
}

static bool has(const UnitSpec *u, const char *key, const char *value) {
        for (size_t i = 0; i < u->n; i++)
                if (streq(u->props[i].key, key) && streq(u->props[i].value, value))
                        return true;
        return false;
}

static char *write_text(const UnitSpec *u, const char *source_path) {
        char *text = NULL;
        size_t allocated = 0, size;

        if (unit_text(u, source_path, &text, &allocated, &size) < 0 || strlen(text) != size)
                abort();
        return text;
}

TEST(render_weekly) {
        static const char *const never[] = { "SCHEDULER_SCHEDULE=", "SCHEDULER_DUE=", "SCHEDULER_ROOM=" };
        Schedule s = { .kind = SCHEDULE_WEEKLY, .command = (char *) "maintenance", .weekday = 4,
                       .hour = 15 };
        _cleanup_(unit_spec_done) UnitSpec timer = {}, service = {};

        ASSERT_OK(unit_render_schedule(&acme, &s, DUE_2027, &timer, &service));
        ASSERT_STREQ(timer.name, "scheduler-acme-maintenance-weekly-fri-1500.timer");
        ASSERT_STREQ(service.name, "scheduler-acme-maintenance-weekly-fri-1500.service");
        ASSERT_STREQ(prop(&timer, SECTION_TIMER, "OnCalendar"), "Fri *-*-* 15:00:00 UTC");
        ASSERT_STREQ(prop(&timer, SECTION_TIMER, "Persistent"), "yes");
        ASSERT_STREQ(prop(&timer, SECTION_TIMER, "AccuracySec"), "1s");
        ASSERT_TRUE(prop(&timer, SECTION_TIMER, "OnBootSec") == NULL);
        ASSERT_STREQ(prop(&timer, SECTION_UNIT, "Description"),
                     "The Scheduler: recurring maintenance for acme, every Friday 15:00 UTC");

        ASSERT_STREQ(prop(&service, SECTION_SERVICE, "ExecStart"), SCHEDULER_TASK_PATH " acme maintenance");
        ASSERT_STREQ(prop(&service, SECTION_SERVICE, "ExecStopPost"),
                     SCHEDULER_TASK_PATH " --finish acme maintenance");
        ASSERT_STREQ(prop(&service, SECTION_SERVICE, "RuntimeMaxSec"), "10800");
        ASSERT_TRUE(has(&service, "Environment", "SCHEDULER_MODE=recurring"));
        ASSERT_TRUE(has(&service, "Environment",
                        "SCHEDULER_RUN=scheduler-acme-maintenance-weekly-fri-1500"));
        ASSERT_TRUE(has(&service, "LogExtraFields", "SCHEDULER_CUSTOMER=acme"));
        ASSERT_TRUE(has(&service, "LogExtraFields", "SCHEDULER_COMMAND=maintenance"));
        /* Only a one-shot retires itself and can be late. */
        ASSERT_TRUE(prop(&service, SECTION_SERVICE, "Environment") != NULL);
        FOREACH_ROW(p, never, "%s", never[p])
                for (size_t i = 0; i < service.n; i++)
                        ASSERT_FALSE(startswith(service.props[i].value, never[p]));
}

TEST(render_once_due) {
        static const char *const environment[] = {
                "SCHEDULER_MODE=schedule", "SCHEDULER_SCHEDULE=scheduler-acme-ping-at-202701081700",
                "SCHEDULER_DUE=1799427600000000", "SCHEDULER_ROOM=!room:example.com",
                "SCHEDULER_REPLY_TO=$ev:example.com",
        };
        Schedule s = { .kind = SCHEDULE_ONCE, .command = (char *) "ping", .year = 2027, .month = 1, .day = 8,
                       .hour = 17, .room = (char *) "!room:example.com",
                       .reply_to = (char *) "$ev:example.com" };
        _cleanup_(unit_spec_done) UnitSpec timer = {}, service = {};

        ASSERT_OK(unit_render_schedule(&acme, &s, DUE_2027 - 1, &timer, &service));
        ASSERT_STREQ(timer.name, "scheduler-acme-ping-at-202701081700.timer");
        ASSERT_STREQ(prop(&timer, SECTION_TIMER, "OnCalendar"), "2027-01-08 17:00:00 UTC");
        ASSERT_TRUE(prop(&timer, SECTION_TIMER, "OnBootSec") == NULL);
        ASSERT_TRUE(prop(&timer, SECTION_TIMER, "Persistent") == NULL);
        ASSERT_STREQ(prop(&timer, SECTION_UNIT, "Description"),
                     "The Scheduler: schedule ping for acme, at 2027-01-08 17:00 UTC");
        FOREACH_ROW(i, environment, "%s", environment[i])
                ASSERT_TRUE(has(&service, "Environment", environment[i]));
        ASSERT_STREQ(prop(&service, SECTION_SERVICE, "RuntimeMaxSec"), "600");
}

TEST(render_once_missed_fires_after_boot) {
        Schedule s = { .kind = SCHEDULE_ONCE, .command = (char *) "ping", .year = 2027, .month = 1, .day = 8,
                       .hour = 17 };
        _cleanup_(unit_spec_done) UnitSpec timer = {}, service = {};

        /* Due this very µs counts as missed: a calendar time in the past would never fire. */
        ASSERT_OK(unit_render_schedule(&acme, &s, DUE_2027, &timer, &service));
        ASSERT_STREQ(prop(&timer, SECTION_TIMER, "OnBootSec"), "30s");
        ASSERT_TRUE(prop(&timer, SECTION_TIMER, "OnCalendar") == NULL);
        /* It still says when it was due, so the result can say it ran late. */
        ASSERT_TRUE(has(&service, "Environment", "SCHEDULER_DUE=1799427600000000"));
}

TEST(render_once_bad_date) {
        Schedule s = { .kind = SCHEDULE_ONCE, .command = (char *) "ping", .year = 2027, .month = 2,
                       .day = 30 };
        UnitSpec timer = {}, service = {};

        ASSERT_EQ(unit_render_schedule(&acme, &s, 0, &timer, &service), -ERANGE);
        ASSERT_TRUE(timer.name == NULL && service.name == NULL);
}

TEST(render_escapes_dollar) {
        Schedule s = { .kind = SCHEDULE_ONCE, .command = (char *) "restart", .args = (char *) "a$b$$c",
                       .year = 2027, .month = 1, .day = 8, .hour = 17 };
        _cleanup_(unit_spec_done) UnitSpec timer = {}, service = {};
        _cleanup_free_ char *e = unit_exec_escape("$x$");

        ASSERT_STREQ(e, "$$x$$");
        ASSERT_OK(unit_render_schedule(&acme, &s, 0, &timer, &service));
        ASSERT_STREQ(prop(&service, SECTION_SERVICE, "ExecStart"),
                     SCHEDULER_TASK_PATH " acme restart a$$b$$$$c");
        ASSERT_STREQ(prop(&service, SECTION_SERVICE, "ExecStopPost"),
                     SCHEDULER_TASK_PATH " --finish acme restart a$$b$$$$c");
        ASSERT_STREQ(prop(&service, SECTION_SERVICE, "RuntimeMaxSec"), "180");
}

/* Which command a customer's service runs, from its name alone: another customer's is none. */
TEST(command_of_a_unit) {
        static const struct {
                const char *unit, *command;
        } cases[] = {
                { "scheduler-acme-maintenance-run-00000000002a.service", "maintenance" },
                { "scheduler-acme-restart-weekly-fri-1500.service", "restart" },
                { "scheduler-acme-monitor.service", NULL },
                { "scheduler-acme-restart-weekly-fri-1500.timer", NULL },
                { "scheduler-acmex-restart-run-00000000002a.service", NULL },
                { "scheduler-acme-restarted-run-00000000002a.service", NULL },
                { "other-acme-ping-run-00000000002a.service", NULL },
        };

        FOREACH_ROW(i, cases, "%s", cases[i].unit)
                ASSERT_STREQ(unit_command_of(cases[i].unit, "acme"), cases[i].command);
}

/* A scheduled restart may first wait for a maintenance of its customer's: its unit lets it. It sees
 * its own customer's lock file, no other. */
TEST(render_exclusive_waits) {
        Schedule s = { .kind = SCHEDULE_WEEKLY, .command = (char *) "restart", .args = (char *) "slack",
                       .weekday = 4, .hour = 15 };
        _cleanup_(unit_spec_done) UnitSpec timer = {}, service = {}, run = {};
        Customer waiting = acme;
        RunSpec r = { .customer = "acme", .command = "ping", .mode = "run" };

        waiting.lock_wait_sec = 3600;
        ASSERT_OK(unit_render_schedule(&waiting, &s, 0, &timer, &service));
        ASSERT_STREQ(prop(&service, SECTION_SERVICE, "RuntimeMaxSec"), "3780");
        ASSERT_TRUE(has(&service, "Environment", "SCHEDULER_LOCK_WAIT=3600"));
        /* A timer that fires at boot waits for the notifier, which makes the lock files. */
        ASSERT_STREQ(prop(&service, SECTION_UNIT, "After"), "scheduler-notifier.service");
        ASSERT_STREQ(prop(&service, SECTION_SERVICE, "BindReadOnlyPaths"),
                     "-" SCHEDULER_LOCK_DIR "/acme.lock:" UNIT_LOCK_PATH);
        s.command = (char *) "disk";
        s.args = NULL;
        unit_spec_done(&timer);
        unit_spec_done(&service);
        ASSERT_OK(unit_render_schedule(&waiting, &s, 0, &timer, &service));
        ASSERT_STREQ(prop(&service, SECTION_SERVICE, "RuntimeMaxSec"), "600");
        ASSERT_FALSE(has(&service, "Environment", "SCHEDULER_LOCK_WAIT=3600"));
        ASSERT_OK(unit_render_service(&r, "scheduler-acme-ping-run-00000000002a.service", &run));
        ASSERT_STREQ(prop(&run, SECTION_SERVICE, "BindReadOnlyPaths"),
                     "-" SCHEDULER_LOCK_DIR "/acme.lock:" UNIT_LOCK_PATH);
}

TEST(render_run_service) {
        RunSpec r = { .customer = "acme", .command = "price", .mode = "run",
                      .sender = "@alice:example.com" };
        _cleanup_(unit_spec_done) UnitSpec u = {};

        ASSERT_TRUE(unit_render_service(&r, "scheduler-acme-price.timer", &u) < 0);
        ASSERT_OK(unit_render_service(&r, "scheduler-acme-price-run-00000000002a.service", &u));
        ASSERT_STREQ(prop(&u, SECTION_UNIT, "Description"),
                     "The Scheduler: run price for acme, asked by @alice:example.com");
        ASSERT_STREQ(prop(&u, SECTION_UNIT, "CollectMode"), "inactive-or-failed");
        ASSERT_STREQ(prop(&u, SECTION_SERVICE, "Type"), "exec");
        ASSERT_TRUE(has(&u, "Environment", "SCHEDULER_SENDER=@alice:example.com"));
        ASSERT_TRUE(has(&u, "Environment", "SCHEDULER_RUN=scheduler-acme-price-run-00000000002a"));
        ASSERT_EQ(unit_runtime_max_usec("price"), 60 * USEC_PER_SEC);
        ASSERT_EQ(unit_runtime_max_usec("unknown"), 60 * USEC_PER_SEC);
}

TEST(render_monitor) {
        static const char *const never[] = { "SCHEDULER_ROOM=", "SCHEDULER_REPLY_TO=", "SCHEDULER_SENDER=",
                                             "SCHEDULER_SCHEDULE=", "SCHEDULER_DUE=" };
        Customer cu = { .name = (char *) "acme", .monitor = true };
        Config c = { .monitor_interval = 300 };
        _cleanup_(unit_spec_done) UnitSpec timer = {}, service = {};

        ASSERT_EQ(unit_render_monitor(&c, &cu, &timer, &service), 1);
        ASSERT_STREQ(timer.name, "scheduler-acme-monitor.timer");
        ASSERT_STREQ(service.name, "scheduler-acme-monitor.service");
        ASSERT_STREQ(prop(&timer, SECTION_UNIT, "Description"),
                     "The Scheduler: monitoring of acme, every 5min");
        /* The first run a whole interval after boot, then an interval after each. */
        ASSERT_STREQ(prop(&timer, SECTION_TIMER, "OnBootSec"), "300s");
        ASSERT_STREQ(prop(&timer, SECTION_TIMER, "OnUnitActiveSec"), "300s");
        ASSERT_STREQ(prop(&timer, SECTION_TIMER, "RandomizedDelaySec"), "60s");
        ASSERT_STREQ(prop(&timer, SECTION_TIMER, "AccuracySec"), "1s");
        ASSERT_TRUE(prop(&timer, SECTION_TIMER, "OnCalendar") == NULL);
        ASSERT_TRUE(prop(&timer, SECTION_TIMER, "Persistent") == NULL);

        /* A ping run, the same service a run's is, but quiet: no room, no reply, no sender. */
        ASSERT_STREQ(prop(&service, SECTION_UNIT, "Description"), "The Scheduler: monitor ping for acme");
        ASSERT_STREQ(prop(&service, SECTION_SERVICE, "ExecStart"), SCHEDULER_TASK_PATH " acme ping");
        ASSERT_STREQ(prop(&service, SECTION_SERVICE, "ExecStopPost"),
                     SCHEDULER_TASK_PATH " --finish acme ping");
        ASSERT_STREQ(prop(&service, SECTION_SERVICE, "RuntimeMaxSec"), "600");
        ASSERT_STREQ(prop(&service, SECTION_SERVICE, "ProtectSystem"), "strict");
        ASSERT_TRUE(has(&service, "Environment", "SCHEDULER_MODE=monitor"));
        ASSERT_TRUE(has(&service, "Environment", "SCHEDULER_RUN=scheduler-acme-monitor"));
        ASSERT_TRUE(has(&service, "LogExtraFields", "SCHEDULER_CUSTOMER=acme"));
        ASSERT_TRUE(has(&service, "LogExtraFields", "SCHEDULER_COMMAND=ping"));
        FOREACH_ROW(p, never, "%s", never[p])
                for (size_t i = 0; i < service.n; i++)
                        ASSERT_FALSE(startswith(service.props[i].value, never[p]));
}

TEST(render_monitor_intervals) {
        static const struct {
                unsigned interval;
                const char *every, *sec, *delay;
        } cases[] = {
                { 3600, "1h", "3600s", "60s" },
                { 90, "90s", "90s", "18s" },   /* a short interval is spread over a fifth of itself */
                { 86400, "1d", "86400s", "60s" },
        };
        Customer cu = { .name = (char *) "globex", .monitor = true };
        Config c = {};
        UnitSpec timer = {}, service = {};

        FOREACH_ROW(i, cases, "%u s", cases[i].interval) {
                _cleanup_free_ char *desc = NULL;

                c.monitor_interval = cases[i].interval;
                ASSERT_EQ(unit_render_monitor(&c, &cu, &timer, &service), 1);
                ASSERT_TRUE(asprintf(&desc, "The Scheduler: monitoring of globex, every %s",
                                     cases[i].every) > 0);
                ASSERT_STREQ(prop(&timer, SECTION_UNIT, "Description"), desc);
                ASSERT_STREQ(prop(&timer, SECTION_TIMER, "OnBootSec"), cases[i].sec);
                ASSERT_STREQ(prop(&timer, SECTION_TIMER, "OnUnitActiveSec"), cases[i].sec);
                ASSERT_STREQ(prop(&timer, SECTION_TIMER, "RandomizedDelaySec"), cases[i].delay);
                unit_spec_done(&timer);
                unit_spec_done(&service);
        }

        /* Off for everyone, or for this customer: nothing. */
        c.monitor_interval = 0;
        ASSERT_EQ(unit_render_monitor(&c, &cu, &timer, &service), 0);
        ASSERT_TRUE(timer.name == NULL && service.name == NULL && timer.n == 0);
        c.monitor_interval = 300;
        cu.monitor = false;
        ASSERT_EQ(unit_render_monitor(&c, &cu, &timer, &service), 0);
        ASSERT_TRUE(timer.name == NULL && service.name == NULL && service.n == 0);
}

TEST(write_text) {
        UnitProperty props[] = {
                { .section = SECTION_TIMER, .key = "OnCalendar", .value = "Fri *-*-* 15:00:00 UTC" },
                { .section = SECTION_UNIT, .key = "Description", .value = "A test" },
                { .section = SECTION_TIMER, .key = "AccuracySec", .value = "1s" },
        };
        UnitSpec u = { .name = (char *) "x.timer", .props = props, .n = ELEMENTSOF(props) };
        _cleanup_free_ char *with = write_text(&u, "/etc/scheduler/schedules.d/acme.conf"),
                            *without = NULL, *empty = NULL;

        ASSERT_STREQ(with,
                     "# Automatically generated by scheduler-generator\n"
                     "\n"
                     "[Unit]\n"
                     "SourcePath=/etc/scheduler/schedules.d/acme.conf\n"
                     "Description=A test\n"
                     "\n"
                     "[Timer]\n"
                     "OnCalendar=Fri *-*-* 15:00:00 UTC\n"
                     "AccuracySec=1s\n");
        without = write_text(&u, NULL);
        ASSERT_STREQ(without,
                     "# Automatically generated by scheduler-generator\n"
                     "\n"
                     "[Unit]\n"
                     "Description=A test\n"
                     "\n"
                     "[Timer]\n"
                     "OnCalendar=Fri *-*-* 15:00:00 UTC\n"
                     "AccuracySec=1s\n");
        u.n = 0;
        empty = write_text(&u, NULL);
        ASSERT_STREQ(empty, "# Automatically generated by scheduler-generator\n\n[Unit]\n");
}

TEST(write_rendered_service_sections) {
        Schedule s = { .kind = SCHEDULE_WEEKLY, .command = (char *) "disk", .weekday = 0, .hour = 9 };
        _cleanup_(unit_spec_done) UnitSpec timer = {}, service = {};
        _cleanup_free_ char *t = NULL, *v = NULL;

        ASSERT_OK(unit_render_schedule(&acme, &s, 0, &timer, &service));
        t = write_text(&timer, NULL);
        v = write_text(&service, NULL);
        ASSERT_CONTAINS(t, "\n[Timer]\nOnCalendar=Mon *-*-* 09:00:00 UTC\n");
        ASSERT_TRUE(strstr(t, "[Service]") == NULL);
        /* CollectMode= belongs to [Unit] in a file; systemd ignores it under [Service]. */
        ASSERT_CONTAINS(v, "[Unit]\nDescription=The Scheduler: recurring disk for acme\nCollectMode=");
        ASSERT_CONTAINS(v, "\n[Service]\nType=exec\nExecStart=" SCHEDULER_TASK_PATH " acme disk\n");
        ASSERT_TRUE(strstr(v, "[Timer]") == NULL);
}
