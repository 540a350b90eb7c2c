/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "reply.h"
#include "tests.h"

TEST(help_has_every_mode_and_command_with_examples) {
        static const struct {
                bool html;
                const char *text;
        } cases[] = {
                { false, "* `branch`: which stability branch your server is on (now `fresh`); to switch, "
                         "contact us. Example: `branch`" },
                { false, "for a date and time (Europe/Berlin)" },
                { false, "every week (Europe/Berlin)" },
                { false, "`run ping`" },
                { false, "`schedule maintenance 2027-01-08 17:00`" },
                { false, "`recurring maintenance Friday 15:00`" },
                { false, "`list schedules`" },
                { false, "`run disk`" },
                { false, "`run price`" },
                { false, "`run maintenance`" },
                { false, "`run restart slack`" },
                { false, "`schedule restart 2027-01-08 17:00 slack`" },
                { true, "<li><code>run &lt;command&gt;</code>: executes a command now." },
                { true, "<ul>" },
        };
        Reply r = {};

        ASSERT_OK(reply_help("Europe/Berlin", "fresh", &r));
        FOREACH_ROW(i, cases, "%s \"%s\"", cases[i].html ? "html" : "body", cases[i].text)
                ASSERT_CONTAINS(cases[i].html ? r.html : r.body, cases[i].text);
        reply_done(&r);
}

TEST(html_is_escaped) {
        Reply r = {};

        ASSERT_OK(reply_from_text("a <b> & \"c\" `x<y>`\n* one\n* two\nend `unpaired", &r));
        ASSERT_STREQ(r.body, "a <b> & \"c\" `x<y>`\n* one\n* two\nend `unpaired");
        ASSERT_STREQ(r.html, "a &lt;b&gt; &amp; &quot;c&quot; <code>x&lt;y&gt;</code><br>"
                             "<ul><li>one</li><li>two</li></ul>end `unpaired");
        reply_done(&r);
}

TEST(errors_start_with_a_capital) {
        Reply r = {};

        ASSERT_OK(reply_error("unknown command, send `help`", &r));
        ASSERT_STREQ(r.body, "Unknown command, send `help`");
        ASSERT_STREQ(r.html, "Unknown command, send <code>help</code>");
        reply_done(&r);
        ASSERT_OK(reply_error("", &r));
        ASSERT_CONTAINS(r.body, "send `help`");
        reply_done(&r);
}

TEST(not_saved_says_why_when_the_disk_is_full) {
        _cleanup_free_ char *full = NULL, *other = NULL;

        ASSERT_OK(reply_not_saved(-ENOSPC, "was scheduled", &full));
        ASSERT_STREQ(full, "Your schedules could not be saved because our server is out of disk space, so "
                           "nothing was scheduled; we have been told. Please try again later.");
        ASSERT_OK(reply_not_saved(-EIO, "changed", &other));
        ASSERT_STREQ(other, "Your schedules could not be saved, so nothing changed; we have been told.");
}

TEST(refusal) {
        Reply r = {};

        ASSERT_OK(reply_refusal(&r));
        ASSERT_CONTAINS(r.body, "only from the customers I serve");
        reply_done(&r);
}

TEST(branch_says_which_and_who_switches) {
        Reply r = {};

        ASSERT_OK(reply_branch("stable", &r));
        ASSERT_CONTAINS(r.body, "Your server is on the `stable` stability branch (default): well-tested");
        ASSERT_CONTAINS(r.body, "kindly contact us");
        reply_done(&r);
        ASSERT_OK(reply_branch("fresh", &r));
        ASSERT_CONTAINS(r.body, "Your server is on the `fresh` stability branch (testing): updates arrive");
        ASSERT_CONTAINS(r.html, "<code>fresh</code>");
        reply_done(&r);
}
