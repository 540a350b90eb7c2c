/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "maintenance.h"
#include "tests.h"

static char *step_of(const char *line) {
        char *step = NULL;

        if (maintenance_step_parse(line, &step) < 0)
                abort();
        return step;
}

TEST(step_markers) {
        static const struct {
                const char *line, *step;
        } cases[] = {
                { "==> Upgrading the packages", "Upgrading the packages" },
                { "==>   padded   ", "padded" },
                { "TASK [matrix-synapse : Ensure Synapse is started] ************",
                  "matrix-synapse : Ensure Synapse is started" },
                { "TASK [a [nested] name] ***", "a [nested] name" },
                { "==> with `backticks` and \x1b[0;32mcolour\x1b[0m\tand a tab",
                  "with 'backticks' and colour and a tab" },
                { "==> ", NULL },
                { "==>", NULL },
                { "==> \x1b[0m", NULL },
                { " ==> indented is output, not a marker", NULL },
                { "PLAY [setup] ****", NULL },
                { "TASK [unfinished", NULL },
                { "TASK [no stars]", NULL },
                { "ok: [host]", NULL },
                { "", NULL },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].line) {
                _cleanup_free_ char *step = step_of(cases[i].line);
                ASSERT_STREQ(step, cases[i].step);
        }
}

TEST(long_steps_are_cut_on_a_character) {
        _cleanup_free_ char *step = NULL;
        char buf[400] = "==> ";

        /* "é" is two bytes; 4 + 99 ASCII bytes then é at 99-100 must not be cut in the middle. */
        memset(buf + 4, 'x', 99);
        strcpy(buf + 4 + 99, "\xc3\xa9 and more text");
        step = step_of(buf);
        ASSERT_EQ(strlen(step), 99);
        step = mfree(step);
        memset(buf + 4, 'y', 300);
        buf[304] = 0;
        step = step_of(buf);
        ASSERT_EQ(strlen(step), MAINTENANCE_STEP_MAX);
}

TEST(notices) {
        static const struct {
                const char *line;
                int r;
                const char *text;
        } cases[] = {
                { "NOTICE: The server needs a reboot.", 1, "The server needs a reboot." },
                { "notice: lower case is output", 0, NULL },
                { "NOTICE:    ", 0, NULL },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].line) {
                _cleanup_free_ char *text = NULL;

                ASSERT_EQ(maintenance_notice_parse(cases[i].line, &text), cases[i].r);
                if (cases[i].r == 1)
                        ASSERT_STREQ(text, cases[i].text);
        }
}

typedef struct Lines {
        char *all;
        size_t n;
} Lines;

static void collect(const char *line, void *userdata) {
        Lines *l = userdata;
        char *s;

        if (asprintf(&s, "%s%s|", strempty(l->all), line) < 0)
                abort();
        free(l->all);
        l->all = s;
        l->n++;
}

TEST(lines_split_across_pieces) {
        Lines l = {};
        LineSplitter s = { .on_line = collect, .userdata = &l };
        char big[MAINTENANCE_LINE_MAX + 10];

        line_splitter_feed(&s, "one\ntw", 6);
        line_splitter_feed(&s, "o\r\n\nthr", 7);
        ASSERT_STREQ(l.all, "one|two|");
        line_splitter_flush(&s);
        ASSERT_STREQ(l.all, "one|two|thr|");

        /* A line too long is cut, its rest dropped, and the next line is whole. */
        memset(big, 'z', sizeof(big));
        line_splitter_feed(&s, big, sizeof(big));
        line_splitter_feed(&s, "\nnext\n", 6);
        ASSERT_EQ(l.n, 5);
        ASSERT_TRUE(endswith(l.all, "zz|next|"));
        ASSERT_EQ(strlen(l.all), strlen("one|two|thr|") + MAINTENANCE_LINE_MAX + 1 + strlen("next|"));
        free(l.all);
}

TEST(last_lines_keep_the_end) {
        _cleanup_free_ char *text = NULL;
        LastLines l = {};
        size_t size = 0;
        char line[32];
        FILE *f;

        for (int i = 1; i <= 12; i++) {
                snprintf(line, sizeof(line), "line %d%s", i, i == 12 ? " `x`" : "");
                ASSERT_OK(last_lines_push(&l, line));
        }
        ASSERT_OK(last_lines_push(&l, "   "));
        f = open_memstream(&text, &size);
        last_lines_write(f, &l);
        fclose(f);
        ASSERT_STREQ(text, "* `line 6`\n* `line 7`\n* `line 8`\n* `line 9`\n* `line 10`\n* `line 11`\n"
                           "* `line 12 'x'`\n");
        last_lines_done(&l);
}

TEST(steps_are_told_at_most_every_ten_seconds) {
        StepThrottle t = {};
        usec_t s = USEC_PER_SEC;

        ASSERT_TRUE(!step_throttle_due(&t, 0));
        step_throttle_set(&t, strdup("one"));
        ASSERT_STREQ(step_throttle_due(&t, 100 * s), "one");
        ASSERT_TRUE(!step_throttle_due(&t, 100 * s));
        step_throttle_set(&t, strdup("two"));
        step_throttle_set(&t, strdup("three"));
        ASSERT_TRUE(!step_throttle_due(&t, 109 * s));
        ASSERT_STREQ(step_throttle_due(&t, 110 * s), "three");
        /* The same step again is no news. */
        step_throttle_set(&t, strdup("three"));
        ASSERT_TRUE(!step_throttle_due(&t, 200 * s));
        step_throttle_set(&t, strdup("four"));
        ASSERT_STREQ(step_throttle_due(&t, 200 * s), "four");
        step_throttle_done(&t);
}

TEST(environment_of_the_operator_command) {
        _cleanup_strv_free_ char **env = NULL;
        char name[] = "acme", domain[] = "acme.test", host[] = "192.0.2.7", user[] = "root", key[] = "/k";
        Customer cu = { .name = name, .domain = domain, .branch = BRANCH_FRESH, .ssh_host = host,
                        .ssh_port = 2222, .ssh_user = user, .ssh_key_file = key };

        static const char *const expected[] = {
                "SCHEDULER_CUSTOMER=acme",     "SCHEDULER_DOMAIN=acme.test", "SCHEDULER_BRANCH=fresh",
                "SCHEDULER_SSH_HOST=192.0.2.7", "SCHEDULER_SSH_PORT=2222",   "SCHEDULER_SSH_USER=root",
                "SCHEDULER_SSH_KEY_FILE=/k",
        };

        ASSERT_OK(maintenance_environment(&cu, &env));
        FOREACH_ROW(i, expected, "\"%s\"", expected[i])
                ASSERT_TRUE(strv_contains(env, expected[i]));
        ASSERT_TRUE(startswith(env[0], "PATH=/"));
}

/* One line for ssh-io.c, every step marked, the order the documentation gives. */
TEST(builtin_script) {
        const char *s = maintenance_builtin_script, *p = s;
        static const char *const steps[] = {
                "apt-get -q update", "upgrade", "autoremove", "apt-get -q clean", "/var/run/reboot-required",
                "journalctl --vacuum-time=7d", "docker system prune -f", "systemctl is-active",
        };

        ASSERT_TRUE(!strpbrk(s, "\n\r"));
        FOREACH_ROW(i, steps, "\"%s\"", steps[i]) {
                p = strstr(p, steps[i]);
                ASSERT_TRUE(p);
        }
        ASSERT_CONTAINS(s, "--force-confold");
        ASSERT_CONTAINS(s, "echo '==> Pruning docker'");
}
