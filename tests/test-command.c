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

TEST(modes) {
        Command c;
        bool ok;

        c = parse_ok("help", &ok);
        ASSERT_TRUE(ok);
        ASSERT_EQ(c.mode, MODE_HELP);
        c = parse_ok("  Help  ", &ok);
        ASSERT_TRUE(ok);
        c = parse_ok("run ping", &ok);
        ASSERT_TRUE(ok);
        ASSERT_EQ(c.mode, MODE_RUN);
        ASSERT_EQ(c.task, TASK_PING);
        c = parse_ok("list schedules", &ok);
        ASSERT_TRUE(ok);
        ASSERT_EQ(c.mode, MODE_LIST);
        ASSERT_EQ(c.list, LIST_SCHEDULES);
        c = parse_ok("LIST recurring", &ok);
        ASSERT_TRUE(ok);
        ASSERT_EQ(c.list, LIST_RECURRING);
        c = parse_ok(" Branch ", &ok);
        ASSERT_TRUE(ok);
        ASSERT_EQ(c.mode, MODE_BRANCH);
        c = parse_ok("run maintenance", &ok);
        ASSERT_TRUE(ok);
        ASSERT_EQ(c.task, TASK_MAINTENANCE);
}

TEST(schedule_and_recurring) {
        Command c;
        bool ok;

        c = parse_ok("schedule maintenance 2027-01-08 17:00", &ok);
        ASSERT_TRUE(ok);
        ASSERT_EQ(c.mode, MODE_SCHEDULE);
        ASSERT_EQ(c.task, TASK_MAINTENANCE);
        ASSERT_EQ(c.year, 2027);
        ASSERT_EQ(c.month, 1);
        ASSERT_EQ(c.day, 8);
        ASSERT_EQ(c.hour, 17);
        c = parse_ok("schedule restart 2022-07-01 17:00 slack", &ok);
        ASSERT_TRUE(ok);
        ASSERT_STREQ(c.service, "slack");
        c = parse_ok("recurring maintenance Friday 15:00", &ok);
        ASSERT_TRUE(ok);
        ASSERT_EQ(c.mode, MODE_RECURRING);
        ASSERT_EQ(c.weekday, 4);
        ASSERT_EQ(c.hour, 15);
        c = parse_ok("recurring restart mon 17:00 matrix-mautrix-slack", &ok);
        ASSERT_TRUE(ok);
        ASSERT_EQ(c.weekday, 0);
        ASSERT_STREQ(c.service, "matrix-mautrix-slack");
}

TEST(cancel_pause_resume) {
        Command c;
        bool ok;

        c = parse_ok("cancel maintenance", &ok);
        ASSERT_TRUE(ok);
        ASSERT_EQ(c.mode, MODE_CANCEL);
        ASSERT_FALSE(c.has_date);
        c = parse_ok("cancel restart 2027-01-08 17:00", &ok);
        ASSERT_TRUE(ok);
        ASSERT_TRUE(c.has_date);
        ASSERT_EQ(c.task, TASK_RESTART);
        ASSERT_EQ(c.day, 8);
        c = parse_ok("Pause maintenance", &ok);
        ASSERT_TRUE(ok);
        ASSERT_EQ(c.mode, MODE_PAUSE);
        c = parse_ok("resume ping", &ok);
        ASSERT_TRUE(ok);
        ASSERT_EQ(c.mode, MODE_RESUME);
        ASSERT_EQ(c.task, TASK_PING);
}

TEST(task_strings) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        Command c;
        bool ok;

        c = parse_ok("run restart slack", &ok);
        ASSERT_TRUE(ok);
        a = command_task_string(&c);
        ASSERT_STREQ(a, "restart slack");
        c = parse_ok("run disk", &ok);
        ASSERT_TRUE(ok);
        b = command_task_string(&c);
        ASSERT_STREQ(b, "disk");
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

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
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
        ASSERT_TRUE(service_name_valid("slack"));
        ASSERT_TRUE(service_name_valid("matrix-mautrix-slack.service"));
        ASSERT_TRUE(service_name_valid("matrix-bridge@1"));
        ASSERT_FALSE(service_name_valid("-x"));
        ASSERT_FALSE(service_name_valid("a b"));
        ASSERT_FALSE(service_name_valid("a$b"));
        ASSERT_FALSE(service_name_valid("a/b"));
        ASSERT_FALSE(service_name_valid(""));
}
