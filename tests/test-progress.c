/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "progress.h"
#include "reply.h"
#include "tests.h"

TEST(texts) {
        static const struct {
                bool initiated, finished;
                const char *step;
                usec_t elapsed;
                const char *expected;
        } cases[] = {
                { false, false, "Upgrading the packages", 20 * USEC_PER_SEC,
                  "Maintenance running for under a minute; current step: `Upgrading the packages`" },
                { false, false, "TASK with `ticks`\tand tab", 17 * 60 * USEC_PER_SEC,
                  "Maintenance running for 17 min; current step: `TASK with 'ticks' and tab`" },
                { false, false, NULL, 65 * 60 * USEC_PER_SEC, "Maintenance running for 1 h 5 min" },
                { true, false, "Cleaning", 3 * 60 * USEC_PER_SEC,
                  RUN_INITIATED "\nMaintenance running for 3 min; current step: `Cleaning`" },
                { true, true, "Cleaning", 17 * 60 * USEC_PER_SEC,
                  RUN_INITIATED "\nMaintenance finished; it took 17 min." },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].expected) {
                _cleanup_free_ char *text = NULL;
                const typeof(cases[0]) *c = &cases[i];
                ASSERT_OK(progress_text(c->initiated, c->step, c->elapsed, c->finished, &text));
                ASSERT_STREQ(text, cases[i].expected);
        }
}

/* An edit per the client-server spec: "* " fallback, m.new_content without a relation, m.replace. */
TEST(edit_content) {
        json_auto_t *c = NULL;
        json_t *n, *rel;

        ASSERT_OK(progress_edit_content("$initiated", "Maintenance running for 3 min; current step: `a<b`",
                                        &c));
        ASSERT_STREQ(json_string_value(json_object_get(c, "msgtype")), "m.notice");
        ASSERT_STREQ(json_string_value(json_object_get(c, "body")),
                     "* Maintenance running for 3 min; current step: `a<b`");
        ASSERT_STREQ(json_string_value(json_object_get(c, "formatted_body")),
                     "* Maintenance running for 3 min; current step: <code>a&lt;b</code>");
        n = json_object_get(c, "m.new_content");
        ASSERT_STREQ(json_string_value(json_object_get(n, "body")),
                     "Maintenance running for 3 min; current step: `a<b`");
        ASSERT_STREQ(json_string_value(json_object_get(n, "msgtype")), "m.notice");
        ASSERT_STREQ(json_string_value(json_object_get(n, "format")), "org.matrix.custom.html");
        ASSERT_TRUE(!json_object_get(n, "m.relates_to"));
        rel = json_object_get(c, "m.relates_to");
        ASSERT_STREQ(json_string_value(json_object_get(rel, "rel_type")), "m.replace");
        ASSERT_STREQ(json_string_value(json_object_get(rel, "event_id")), "$initiated");
}

TEST(own_message_content) {
        json_auto_t *c = NULL, *d = NULL;
        json_t *rel;

        ASSERT_OK(reply_content("Maintenance running for under a minute", "$schedule", &c));
        rel = json_object_get(json_object_get(c, "m.relates_to"), "m.in_reply_to");
        ASSERT_STREQ(json_string_value(json_object_get(c, "body")),
                     "Maintenance running for under a minute");
        ASSERT_STREQ(json_string_value(json_object_get(rel, "event_id")), "$schedule");
        ASSERT_OK(reply_content("x", "", &d));
        ASSERT_TRUE(!json_object_get(d, "m.relates_to"));
        /* Whatever the text says ("@room" from a server's output), it mentions no one. */
        json_decref(d);
        ASSERT_OK(reply_content("@room the disk is full", NULL, &d));
        ASSERT_TRUE(json_is_object(json_object_get(d, "m.mentions")));
        ASSERT_EQ(json_object_size(json_object_get(d, "m.mentions")), 0U);
        ASSERT_STREQ(json_string_value(json_object_get(d, "msgtype")), "m.notice");
}

/* What rings: an m.text mentioning the owners, and no one else. */
TEST(ringing_content) {
        char *owners[] = { (char *) "@alice:test", (char *) "@a&b:test", NULL };
        json_auto_t *c = NULL;
        json_t *ids;

        ASSERT_OK(reply_content_ringing("Execution of `run price` command successful", "$cmd", owners, &c));
        ASSERT_STREQ(json_string_value(json_object_get(c, "msgtype")), "m.text");
        ASSERT_STREQ(json_string_value(json_object_get(c, "body")),
                     "Execution of `run price` command successful\n@alice:test, @a&b:test");
        ASSERT_STREQ(json_string_value(json_object_get(c, "formatted_body")),
                     "Execution of <code>run price</code> command successful<br>"
                     "<a href=\"https://matrix.to/#/@alice:test\">@alice:test</a>, "
                     "<a href=\"https://matrix.to/#/@a&amp;b:test\">@a&amp;b:test</a>");
        ids = json_object_get(json_object_get(c, "m.mentions"), "user_ids");
        ASSERT_EQ(json_array_size(ids), 2U);
        ASSERT_STREQ(json_string_value(json_array_get(ids, 0)), "@alice:test");
        ASSERT_TRUE(!json_object_get(json_object_get(c, "m.mentions"), "room"));
}
