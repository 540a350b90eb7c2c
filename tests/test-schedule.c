/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <sys/stat.h>

#include "calendar.h"
#include "schedule.h"
#include "tests.h"

static Customer customer(const char *name, const char *maintenance) {
        return (Customer) { .name = (char *) name, .maintenance = (char *) maintenance };
}

/* Loads the store of customer NAME from text and returns the error, or NULL when it loaded. */
static char *store_error(const char *name, const char *text) {
        _cleanup_free_ char *file = NULL;
        Schedule *s = NULL;
        size_t n = 0;
        char *error = NULL;
        int r;

        if (asprintf(&file, "%s.conf", name) < 0)
                abort();
        (void) tests_write(file, text);
        r = schedule_store_load(tests_tmpdir(), name, &s, &n, &error);
        if (r >= 0) {
                schedules_free(s, n);
                return NULL;
        }
        return error ?: strdup("(no message)");
}

/* "DIR/NAME.conf:LINE: WHY" as the store reports it. */
static char *where(const char *name, const char *rest) {
        char *s;

        if (asprintf(&s, "%s/%s.conf%s", tests_tmpdir(), name, rest) < 0)
                abort();
        return s;
}

TEST(store_round_trip) {
        Schedule in[] = {
                { .id = 7, .kind = SCHEDULE_ONCE, .command = (char *) "restart",
                  .args = (char *) "matrix-synapse", .year = 2027, .month = 1, .day = 8, .hour = 17,
                  .minute = 5,
                  .room = (char *) "!room:example.com", .reply_to = (char *) "$event1:example.com" },
                { .id = 3, .kind = SCHEDULE_WEEKLY, .state = SCHEDULE_PAUSED, .command = (char *) "disk",
                  .weekday = 6, .hour = 0, .minute = 0 },
                { .kind = SCHEDULE_WEEKLY, .state = SCHEDULE_CANCELLED, .command = (char *) "maintenance",
                  .weekday = 4, .hour = 15, .minute = 0 },
                { .kind = SCHEDULE_WEEKLY, .builtin = true, .command = (char *) "maintenance",
                  .weekday = 1 },
                { .kind = SCHEDULE_ONCE, .command = (char *) "ping", .year = 2028, .month = 2, .day = 29,
                  .hour = 23, .minute = 59 },
        };
        _cleanup_free_ char *error = NULL, *path = where("round", "");
        Schedule *out = NULL;
        size_t n = 0;
        struct stat st;

        ASSERT_OK(schedule_store_save(tests_tmpdir(), "round", in, ELEMENTSOF(in)));
        ASSERT_OK(stat(path, &st));
        ASSERT_EQ(st.st_mode & 07777, 0600);
        ASSERT_OK(schedule_store_load(tests_tmpdir(), "round", &out, &n, &error));
        ASSERT_TRUE(error == NULL);
        /* The builtin default maintenance is derived, never stored. */
        ASSERT_EQ(n, 4);
        /* Ids as saved; the weekly maintenance's is 1; one without gets the next above the highest. */
        ASSERT_EQ(out[0].id, 7U);
        ASSERT_EQ(out[1].id, 3U);
        ASSERT_EQ(out[2].id, SCHEDULE_ID_MAINTENANCE);
        ASSERT_EQ(out[3].id, 8U);
        for (size_t i = 0, j = 0; i < ELEMENTSOF(in); i++) {
                const Schedule *a = &in[i], *b;

                if (a->builtin)
                        continue;
                b = &out[j++];
                ASSERT_EQ(b->kind, a->kind);
                ASSERT_EQ(b->state, a->state);
                ASSERT_STREQ(b->command, a->command);
                ASSERT_STREQ(b->args, a->args);
                ASSERT_STREQ(b->room, a->room);
                ASSERT_STREQ(b->reply_to, a->reply_to);
                ASSERT_EQ(b->hour, a->hour);
                ASSERT_EQ(b->minute, a->minute);
                ASSERT_FALSE(b->builtin);
                if (a->kind == SCHEDULE_ONCE) {
                        ASSERT_EQ(b->year, a->year);
                        ASSERT_EQ(b->month, a->month);
                        ASSERT_EQ(b->day, a->day);
                } else
                        ASSERT_EQ(b->weekday, a->weekday);
        }
        schedules_free(out, n);
}

/* A store of before ids, or a hand edit: every schedule still gets its own, the weekly maintenance
 * 1, the same at every load. */
TEST(store_ids_are_given_where_missing_or_taken) {
        static const char text[] = "[a]\nid = 5\ncommand = ping\nweekday = Monday\ntime = 10:00\n"
                                   "[b]\nid = 5\ncommand = disk\nweekday = Monday\ntime = 11:00\n"
                                   "[c]\nid = 1\ncommand = price\nweekday = Monday\ntime = 12:00\n"
                                   "[d]\nid = 9\ncommand = maintenance\nweekday = Friday\ntime = 15:00\n"
                                   "[e]\ncommand = ping\ndate = 2027-01-08\ntime = 17:00\n";
        static const unsigned ids[] = { 5, 6, 7, SCHEDULE_ID_MAINTENANCE, 8 };

        for (unsigned load = 0; load < 2; load++) {
                _cleanup_free_ char *error = NULL;
                Schedule *out = NULL;
                size_t n = 0;

                (void) tests_write("ids.conf", text);
                ASSERT_OK(schedule_store_load(tests_tmpdir(), "ids", &out, &n, &error));
                ASSERT_EQ(n, ELEMENTSOF(ids));
                FOREACH_ROW(i, ids, "%u", ids[i])
                        ASSERT_EQ(out[i].id, ids[i]);
                ASSERT_EQ(schedule_next_id(out, n, NULL, &out[0]), 9U);
                ASSERT_EQ(schedule_next_id(out, n, NULL, &out[3]), SCHEDULE_ID_MAINTENANCE);
                schedules_free(out, n);
        }
}

/* An id that is gone is not given again: the store keeps the counter. */
TEST(store_ids_are_not_reused) {
        Schedule in[] = {
                { .id = 2, .kind = SCHEDULE_WEEKLY, .command = (char *) "ping", .weekday = 1, .hour = 8 },
                { .id = 3, .kind = SCHEDULE_WEEKLY, .command = (char *) "disk", .weekday = 2, .hour = 9 },
        };
        Schedule fresh = { .kind = SCHEDULE_ONCE, .command = (char *) "price", .year = 2027, .month = 1,
                           .day = 8 };
        _cleanup_free_ char *error = NULL;
        Schedule *out = NULL;
        size_t n = 0;
        unsigned next = 0;

        /* #3 went (it ran, or was cancelled) after #4 had been given. */
        ASSERT_OK(schedule_store_save_ids(tests_tmpdir(), "counter", in, 1, 5));
        ASSERT_OK(schedule_store_load_ids(tests_tmpdir(), "counter", &out, &n, &next, &error));
        ASSERT_EQ(n, 1);
        ASSERT_EQ(next, 5U);
        ASSERT_EQ(schedule_next_id(out, n, &next, &fresh), 5U);
        ASSERT_EQ(next, 6U);
        schedules_free(out, n);
        /* A store of before the counter: the next above the highest. */
        ASSERT_OK(schedule_store_save(tests_tmpdir(), "counter", in, 2));
        ASSERT_OK(schedule_store_load_ids(tests_tmpdir(), "counter", &out, &n, &next, &error));
        ASSERT_EQ(next, 4U);
        schedules_free(out, n);
}

TEST(store_save_replaces) {
        Schedule one = { .kind = SCHEDULE_WEEKLY, .command = (char *) "ping", .weekday = 2, .hour = 8 };
        _cleanup_free_ char *error = NULL;
        Schedule *out = NULL;
        size_t n = 0;

        ASSERT_OK(schedule_store_save(tests_tmpdir(), "replace", &one, 1));
        ASSERT_OK(schedule_store_save(tests_tmpdir(), "replace", NULL, 0));
        ASSERT_OK(schedule_store_load(tests_tmpdir(), "replace", &out, &n, &error));
        ASSERT_EQ(n, 0);
        schedules_free(out, n);
}

TEST(store_missing_file_is_empty) {
        char *error = (char *) "untouched";
        Schedule *out = (Schedule *) &error;
        size_t n = 42;

        ASSERT_OK(schedule_store_load(tests_tmpdir(), "nobody", &out, &n, &error));
        ASSERT_TRUE(out == NULL);
        ASSERT_EQ(n, 0);
        ASSERT_TRUE(error == NULL);
}

TEST(store_errors_name_file_line_and_reason) {
        static const struct {
                const char *text, *error;
        } cases[] = {
                { "[a]\ncommand = ping\ncolour = red\n", ":3: [a] colour: unknown key" },
                { "[a]\ncommand = ping\ndate = 2027-02-30\ntime = 10:00\n",
                  ":3: [a] date: '2027-02-30' does not exist" },
                { "[a]\ncommand = ping\ndate = 2027-1-8x\n", ":3: [a] date: '2027-1-8x' is not YYYY-MM-DD" },
                { "# c\n[a]\ncommand = ping\nweekday = Funday\ntime = 10:00\n",
                  ":4: [a] weekday: 'Funday' is not a weekday" },
                { "[a]\ncommand = ping\nweekday = Monday\ntime = 24:00\n",
                  ":4: [a] time: '24:00' is not HH:MM" },
                { "[a]\ncommand = ping pong\n", ":2: [a] command: 'ping pong' is not a command word" },
                { "[a]\ncommand = ping\nroom = !a b:c\n", ":3: [a] room: '!a b:c' is not a Matrix room id" },
                { "[a]\ncommand = ping\nweekday = Monday\ntime = 10:00\nstate = gone\n",
                  ":5: [a] state: 'gone' is not active, paused or cancelled" },
                { "this is not a store\n", ":1: syntax error" },
                { "[a]\nid = 0\ncommand = ping\n", ":2: [a] id: '0' is not a number from 1 to 9999" },
                { "[a]\nid = 10000\ncommand = ping\n",
                  ":2: [a] id: '10000' is not a number from 1 to 9999" },
                { "[a]\nid = -3\ncommand = ping\n", ":2: [a] id: '-3' is not a number from 1 to 9999" },
                /* Checks across keys name the schedule instead of a line. */
                { "[a]\ncommand = ping\nweekday = Monday\ntime = 10:00\nstate = cancelled\n",
                  ": schedule 1: only the weekly maintenance can be cancelled in place" },
                { "[a]\ncommand = maintenance\ndate = 2027-01-08\ntime = 10:00\nstate = cancelled\n",
                  ": schedule 1: only the weekly maintenance can be cancelled in place" },
                { "[a]\ncommand = ping\nweekday = Monday\n[b]\nweekday = Monday\n",
                  ": schedule 2: command= missing" },
                { "[a]\ncommand = ping\nweekday = Monday\n[b]\ncommand = ping\nweekday = Friday\n",
                  ": schedule 2: a second weekly ping (one per command)" },
                { "next_id = many\n[a]\ncommand = ping\n",
                  ":1: [] next_id: 'many' is not a number up to 10000" },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) {
                _cleanup_free_ char *error = store_error("broken", cases[i].text),
                                    *expected = where("broken", cases[i].error);
                ASSERT_STREQ(error, expected);
        }
}

/* The generator reads the stores as root at boot, from a directory the notifier's user writes: a
 * symlink (to a secret of root's), a FIFO (a boot that never ends) is no store. */
static char *load_error(const char *name) {
        Schedule *s = NULL;
        size_t n = 0;
        char *error = NULL;

        if (schedule_store_load(tests_tmpdir(), name, &s, &n, &error) >= 0) {
                schedules_free(s, n);
                return NULL;
        }
        return error;
}

TEST(store_files_that_are_not_regular_files_are_refused) {
        _cleanup_free_ char *link = NULL, *fifo = NULL, *e1 = NULL, *e2 = NULL, *e3 = NULL;

        ASSERT_TRUE(asprintf(&link, "%s/linked.conf", tests_tmpdir()) > 0);
        ASSERT_TRUE(asprintf(&fifo, "%s/fifo.conf", tests_tmpdir()) > 0);
        ASSERT_OK(symlink(tests_write("real.conf", "[a]\ncommand = ping\nweekday = Monday\ntime = 10:00\n"),
                          link));
        ASSERT_OK(mkfifo(fifo, 0600));
        e1 = load_error("linked");
        ASSERT_CONTAINS(e1, "linked.conf: cannot read: a symbolic link");
        e2 = load_error("fifo");
        ASSERT_CONTAINS(e2, "fifo.conf: cannot read: not a regular file");
        e3 = load_error("real");
        ASSERT_TRUE(e3 == NULL);
        /* Someone else's file in the store's directory (as root, the tests can make one). */
        if (chown(tests_write("others.conf", "[a]\ncommand = ping\nweekday = Monday\ntime = 10:00\n"),
                  12345, 12345) == 0) {
                _cleanup_free_ char *e4 = load_error("others");
                ASSERT_CONTAINS(e4, "others.conf: cannot read: owned by someone else than the store's directory");
        }
}

TEST(store_accepts_cancelled_weekly_maintenance) {
        _cleanup_free_ char *error = store_error("cancel", "[a]\ncommand = maintenance\nweekday = fri\n"
                                                           "time = 15:00\nstate = cancelled\n");
        ASSERT_TRUE(error == NULL);
}

TEST(default_maintenance_spread) {
        bool weekdays[7] = {};
        unsigned per_weekday[7] = {};

        for (unsigned i = 0; i < 1000; i++) {
                char name[32];
                Customer c;
                Schedule a, b;

                snprintf(name, sizeof(name), "customer-%u", i);
                c = customer(name, NULL);
                ASSERT_OK(schedule_default_maintenance(&c, &a));
                ASSERT_OK(schedule_default_maintenance(&c, &b));
                ASSERT_EQ(a.kind, SCHEDULE_WEEKLY);
                ASSERT_EQ(a.state, SCHEDULE_ACTIVE);
                ASSERT_TRUE(a.builtin);
                ASSERT_STREQ(a.command, "maintenance");
                ASSERT_TRUE(a.weekday >= 0 && a.weekday < 7);
                ASSERT_TRUE(a.hour >= 0 && a.hour < 24);
                ASSERT_TRUE(a.minute == 0 || a.minute == 15 || a.minute == 30 || a.minute == 45);
                ASSERT_EQ(a.weekday, b.weekday);
                ASSERT_EQ(a.hour, b.hour);
                ASSERT_EQ(a.minute, b.minute);
                weekdays[a.weekday] = true;
                per_weekday[a.weekday]++;
                schedule_done(&a);
                schedule_done(&b);
        }
        for (int d = 0; d < 7; d++) {
                ASSERT_TRUE(weekdays[d]);
                /* 1000/7 ≈ 143 each: no day takes twice its share. */
                ASSERT_TRUE(per_weekday[d] < 286);
        }
}

TEST(default_maintenance_stable_and_configured) {
        Customer acme = customer("acme", NULL), friday = customer("acme", "Friday 15:00");
        Schedule s;

        /* Pinned: a change here moves every customer's maintenance. */
        ASSERT_OK(schedule_default_maintenance(&acme, &s));
        ASSERT_EQ(s.weekday, 1);
        ASSERT_EQ(s.hour, 11);
        ASSERT_EQ(s.minute, 45);
        schedule_done(&s);

        ASSERT_OK(schedule_default_maintenance(&friday, &s));
        ASSERT_EQ(s.weekday, 4);
        ASSERT_EQ(s.hour, 15);
        ASSERT_EQ(s.minute, 0);
        ASSERT_TRUE(s.builtin);
        schedule_done(&s);
}

TEST(unit_stem) {
        Schedule weekly = { .kind = SCHEDULE_WEEKLY, .command = (char *) "maintenance", .weekday = 4,
                            .hour = 15 },
                 once = { .kind = SCHEDULE_ONCE, .command = (char *) "maintenance", .year = 2027, .month = 1,
                          .day = 8, .hour = 17 },
                 restart = once;
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        ASSERT_OK(schedule_unit_stem("acme", &weekly, &a));
        ASSERT_STREQ(a, "scheduler-acme-maintenance-weekly-fri-1500");
        ASSERT_OK(schedule_unit_stem("acme", &once, &b));
        ASSERT_STREQ(b, "scheduler-acme-maintenance-at-202701081700");

        /* Two restarts at the same minute are two units: the service's hash tells them apart. */
        restart.command = (char *) "restart";
        restart.args = (char *) "matrix-synapse";
        ASSERT_OK(schedule_unit_stem("acme", &restart, &c));
        ASSERT_STREQ(c, "scheduler-acme-restart-at-202701081700-xea43c906");
        restart.args = (char *) "matrix-postgres";
        ASSERT_OK(schedule_unit_stem("acme", &restart, &d));
        ASSERT_TRUE(startswith(d, "scheduler-acme-restart-at-202701081700-x"));
        ASSERT_EQ(strlen(d), strlen(c));
        ASSERT_FALSE(streq(c, d));
}

TEST(unit_is_customers) {
        static const struct {
                const char *unit, *customer;
                bool expected;
        } cases[] = {
                { "scheduler-acme-ping-at-202701081700.timer", "acme", true },
                { "scheduler-acme-maintenance-weekly-fri-1500.service", "acme", true },
                { "scheduler-acme-restart-at-202701081700-xea43c906.timer", "acme", true },
                { "scheduler-acme-corp-ping-at-202701081700.timer", "acme", false },
                { "scheduler-acme-corp-ping-at-202701081700.timer", "acme-corp", true },
                { "scheduler-acme-ping-at-202701081700.timer", "acme-corp", false },
                /* Runs are not schedules. */
                { "scheduler-acme-ping-run-00000000002a.service", "acme", false },
                { "scheduler-acme.timer", "acme", false },
                { "other-acme-ping-at-202701081700.timer", "acme", false },
        };

        FOREACH_ROW(i, cases, "%s %s", cases[i].unit, cases[i].customer)
                ASSERT_EQ(schedule_unit_is_customers(cases[i].unit, cases[i].customer), cases[i].expected);
}

TEST(once_usec) {
        static const struct {
                int year, month, day, hour, r;
                uint64_t sec;
        } cases[] = {
                { 2027, 1, 8, 17, 0, 1799427600 },
                { 2028, 2, 29, 0, 0, 1835395200 },
                { 2027, 2, 29, 0, -ERANGE, 0 },
                { 2027, 13, 1, 0, -ERANGE, 0 },
                { 1969, 12, 31, 0, -ERANGE, 0 },
        };

        FOREACH_ROW(i, cases, "%04d-%02d-%02d %02d:00", cases[i].year, cases[i].month, cases[i].day,
                    cases[i].hour) {
                Schedule s = { .kind = SCHEDULE_ONCE, .year = cases[i].year, .month = cases[i].month,
                               .day = cases[i].day, .hour = cases[i].hour };
                usec_t u;

                ASSERT_EQ(schedule_once_usec(&s, "UTC", &u), cases[i].r);
                if (cases[i].r == 0)
                        ASSERT_EQ(u, cases[i].sec * USEC_PER_SEC);
        }
}

TEST(effective_adds_default_maintenance) {
        Customer acme = customer("acme", "Friday 15:00");
        Schedule once = { .kind = SCHEDULE_ONCE, .command = (char *) "maintenance", .year = 2027, .month = 1,
                          .day = 8 },
                 cancelled = { .kind = SCHEDULE_WEEKLY, .state = SCHEDULE_CANCELLED,
                               .command = (char *) "maintenance", .weekday = 4, .hour = 15 };
        Schedule *all = NULL;
        size_t n = 0;

        /* A one-shot maintenance does not replace the weekly one. */
        ASSERT_OK(schedule_effective(&acme, &once, 1, &all, &n));
        ASSERT_EQ(n, 2);
        ASSERT_FALSE(all[0].builtin);
        ASSERT_EQ(all[0].kind, SCHEDULE_ONCE);
        ASSERT_TRUE(all[1].builtin);
        ASSERT_EQ(all[1].weekday, 4);
        schedules_free(all, n);

        /* A stored weekly maintenance, even a cancelled one, does. */
        ASSERT_OK(schedule_effective(&acme, &cancelled, 1, &all, &n));
        ASSERT_EQ(n, 1);
        ASSERT_EQ(all[0].state, SCHEDULE_CANCELLED);
        schedules_free(all, n);

        ASSERT_OK(schedule_effective(&acme, NULL, 0, &all, &n));
        ASSERT_EQ(n, 1);
        ASSERT_TRUE(all[0].builtin);
        schedules_free(all, n);
}

TEST(weekly_next) {
        /* Friday 15:00; 2026-11-24 is a Tuesday. */
        Schedule s = { .kind = SCHEDULE_WEEKLY, .weekday = 4, .hour = 15, .minute = 0 };
        time_t tue, t;

        ASSERT_OK(zone_to_epoch("UTC", 2026, 11, 24, 12, 0, &tue));
        ASSERT_OK(schedule_weekly_next(&s, "UTC", tue, &t));
        ASSERT_EQ(t - tue, (3 * 24 + 3) * 3600);
        /* Strictly after: at the very time, the next week's. */
        ASSERT_OK(schedule_weekly_next(&s, "UTC", t, &t));
        ASSERT_EQ(t - tue, (10 * 24 + 3) * 3600);
        /* In Berlin (UTC+1 in November) 15:00 is 14:00 UTC. */
        ASSERT_OK(schedule_weekly_next(&s, "Europe/Berlin", tue, &t));
        ASSERT_EQ(t - tue, (3 * 24 + 2) * 3600);
        /* Late on a Friday in Auckland (UTC+13) is still Friday morning in UTC. */
        s.hour = 23;
        ASSERT_OK(zone_to_epoch("UTC", 2026, 11, 27, 9, 0, &tue));
        ASSERT_OK(schedule_weekly_next(&s, "Pacific/Auckland", tue, &t));
        ASSERT_EQ(t - tue, 1 * 3600);
}
