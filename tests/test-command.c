/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "command.h"
#include "tests.h"

static Command parse_ok(const char *text, bool *ok) {
        _cleanup_free_ char *error = NULL;
        Command c = {};

        *ok = command_parse(text, &c, &error) == 0;
        if (!*ok)
                fprintf(stderr, "'%s': %s\n", text, strempty(error));
        return c;
}

/* What a command parses into: every field, the others zero. */
TEST(commands_parse) {
        static const struct {
                const char *text;
                Command expected;
        } cases[] = {
                /* Modes. */
                { "help", { .mode = MODE_HELP } },
                { "  Help  ", { .mode = MODE_HELP } },
                { "run ping", { .mode = MODE_RUN, .task = TASK_PING } },
                { "list schedules", { .mode = MODE_LIST, .list = LIST_SCHEDULES } },
                { "LIST recurring", { .mode = MODE_LIST, .list = LIST_RECURRING } },
                { " Branch ", { .mode = MODE_BRANCH } },
                { "run maintenance", { .mode = MODE_RUN, .task = TASK_MAINTENANCE } },
                /* Schedule and recurring. */
                { "schedule maintenance 2027-01-08 17:00",
                  { .mode = MODE_SCHEDULE, .task = TASK_MAINTENANCE, .year = 2027, .month = 1, .day = 8,
                    .hour = 17 } },
                { "schedule restart 2022-07-01 17:00 slack",
                  { .mode = MODE_SCHEDULE, .task = TASK_RESTART, .service = "slack", .year = 2022,
                    .month = 7, .day = 1, .hour = 17 } },
                { "recurring maintenance Friday 15:00",
                  { .mode = MODE_RECURRING, .task = TASK_MAINTENANCE, .weekday = 4, .hour = 15 } },
                { "recurring restart mon 17:00 matrix-mautrix-slack",
                  { .mode = MODE_RECURRING, .task = TASK_RESTART, .service = "matrix-mautrix-slack",
                    .weekday = 0, .hour = 17 } },
                /* Cancel, pause, resume. */
                { "cancel maintenance", { .mode = MODE_CANCEL, .task = TASK_MAINTENANCE } },
                { "cancel restart 2027-01-08 17:00",
                  { .mode = MODE_CANCEL, .task = TASK_RESTART, .year = 2027, .month = 1, .day = 8,
                    .hour = 17, .has_date = true } },
                { "Pause maintenance", { .mode = MODE_PAUSE, .task = TASK_MAINTENANCE } },
                { "resume ping", { .mode = MODE_RESUME, .task = TASK_PING } },
                /* By the id `list schedules` shows. */
                { "cancel 4", { .mode = MODE_CANCEL, .id = 4 } },
                { "cancel #12", { .mode = MODE_CANCEL, .id = 12 } },
                { "pause #1", { .mode = MODE_PAUSE, .id = 1 } },
                { "resume 9999", { .mode = MODE_RESUME, .id = 9999 } },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) {
                const Command *e = &cases[i].expected;
                Command c;
                bool ok;

                c = parse_ok(cases[i].text, &ok);
                ASSERT_TRUE(ok);
                ASSERT_EQ(c.mode, e->mode);
                ASSERT_EQ(c.list, e->list);
                ASSERT_EQ(c.task, e->task);
                ASSERT_STREQ(c.service, e->service);
                ASSERT_EQ(c.year, e->year);
                ASSERT_EQ(c.month, e->month);
                ASSERT_EQ(c.day, e->day);
                ASSERT_EQ(c.hour, e->hour);
                ASSERT_EQ(c.minute, e->minute);
                ASSERT_EQ(c.weekday, e->weekday);
                ASSERT_EQ(c.has_date, e->has_date);
                ASSERT_EQ(c.id, e->id);
        }
}

TEST(task_strings) {
        static const struct {
                const char *text, *task;
        } cases[] = {
                { "run restart slack", "restart slack" },
                { "run disk", "disk" },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) {
                _cleanup_free_ char *s = NULL;
                Command c;
                bool ok;

                c = parse_ok(cases[i].text, &ok);
                ASSERT_TRUE(ok);
                s = command_task_string(&c);
                ASSERT_STREQ(s, cases[i].task);
        }
}

TEST(errors_say_what_is_wrong) {
        static const struct {
                const char *text, *expected;
        } cases[] = {
                { "hello", "unknown command, send `help`" },
                { "", "unknown command, send `help`" },
                { "run", "`run` needs a command" },
                { "run fly", "unknown command `fly`" },
                { "run ping now", "`ping` takes no arguments" },
                { "run restart", "`restart` needs a service name, e.g. `run restart slack`" },
                { "recurring restart Monday 17:00", "`recurring restart Monday 17:00 slack`" },
                { "run restart slack;reboot", "`slack;reboot` is not a service name" },
                { "run restart $(reboot)", "is not a service name" },
                { "run restart slack telegram", "`restart` takes one service name" },
                { "run restart slack\nreboot", "unknown command" },
                { "run restart sl\xc3\xa4" "ck", "unknown command" },
                { "schedule ping tomorrow", "needs a date and a time in UTC" },
                { "schedule ping 2027-13-01 10:00", "needs a date and a time" },
                { "schedule ping 2027-01-01 25:00", "needs a date and a time" },
                { "schedule ping 27-01-01 10:00", "needs a date and a time" },
                { "recurring ping Someday 10:00", "needs a weekday and a time" },
                { "list", "`list` takes one of: runs, schedules, recurring" },
                { "list everything", "`list` takes one of" },
                { "help me", "`help` takes no arguments" },
                { "branch fresh", "`branch` takes no arguments: it says which stability branch your server "
                                  "is on; to switch, contact us" },
                { "run ping a b c d e f g h i", "unknown command" },
                { "cancel", "`cancel` needs a command, e.g. `cancel ping`" },
                { "cancel maintenance tomorrow", "`cancel` takes a command, and for a one-shot its date" },
                { "cancel maintenance 2027-01-08", "`cancel` takes a command, and for a one-shot its date" },
                { "pause maintenance now", "`pause` takes only the command of a recurring schedule" },
                { "cancel 4 2027-01-08 17:00", "`cancel 4` takes nothing more" },
                { "cancel 0", "unknown command `0`" },
                { "cancel #0", "unknown command `#0`" },
                { "cancel 10000", "unknown command `10000`" },
                { "pause #", "unknown command `#`" },
                { "resume #-1", "unknown command `#-1`" },
                /* Hostile text: refused, and quoted (if at all) so that it cannot break the reply. */
                { "run ping; rm -rf /", "unknown command `ping;`" },
                { "run $(id)", "unknown command `$(id)`" },
                { "run `id`", "unknown command; the commands are" },
                { "run restart `id`", "that is not a service name" },
                { "run ${HOME}", "unknown command `${HOME}`" },
                { "run ping | sh", "`ping` takes no arguments" },
                { "run ping\nrun maintenance", "unknown command, send `help`" },
                { "run \xd1\x80ing", "unknown command, send `help`" },      /* Cyrillic er */
                { "run \xef\xbd\x90ing", "unknown command, send `help`" },  /* fullwidth p */
                { "run pi\xe2\x80\x8bng", "unknown command, send `help`" }, /* zero-width space */
                { "run \xe2\x80\xaegnip", "unknown command, send `help`" }, /* right-to-left override */
                { "run\xc2\xa0ping", "unknown command, send `help`" },      /* no-break space */
                { "run \x1b[2Jping", "unknown command, send `help`" },
                { "run <b>ping</b>", "unknown command `<b>ping</b>`" },
                { "run aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                  "unknown command `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…`;" },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) {
                _cleanup_free_ char *error = NULL;
                Command c;

                ASSERT_EQ(command_parse(cases[i].text, &c, &error), -EINVAL);
                ASSERT_CONTAINS(error, cases[i].expected);
        }
}

TEST(a_body_is_a_command_whole_or_not_at_all) {
        _cleanup_free_ char *long_body = NULL, *e1 = NULL, *e2 = NULL, *e3 = NULL;
        static const char nul[] = "run price\0; reboot";
        Command c;

        ASSERT_TRUE(asprintf(&long_body, "run price%5000s; reboot", "") > 0);
        ASSERT_EQ(command_parse_sized(long_body, strlen(long_body), &c, &e1), -EINVAL);
        ASSERT_CONTAINS(e1, "too long to be a command");
        ASSERT_EQ(command_parse_sized(nul, sizeof(nul) - 1, &c, &e2), -EINVAL);
        ASSERT_CONTAINS(e2, "unknown command, send `help`");
        ASSERT_OK(command_parse_sized("run price", strlen("run price"), &c, &e3));
        ASSERT_EQ(c.task, TASK_PRICE);
        ASSERT_TRUE(e3 == NULL);
}

TEST(service_names) {
        static const struct {
                const char *name;
                bool valid;
        } cases[] = {
                { "slack", true }, { "matrix-mautrix-slack.service", true }, { "matrix-bridge@1", true },
                { "-x", false },   { "a b", false },  { "a$b", false },  { "a/b", false },  { "", false },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].name)
                ASSERT_EQ(service_name_valid(cases[i].name), cases[i].valid);
}
