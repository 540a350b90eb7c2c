/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <stdio_ext.h>

#include "reply.h"
#include "util.h"

/* A format: the first two %s are the customer's time zone, the third their stability branch. */
static const char help_text[] =
        "The Scheduler maintains your server from this chat. Modes:\n"
        "* `run <command>`: executes a command now. Example: `run ping`\n"
        "* `schedule <command> YYYY-MM-DD HH:MM`: plans a command for a date and time (%s). "
        "Example: `schedule maintenance 2027-01-08 17:00`\n"
        "* `recurring <command> <Weekday> HH:MM`: runs a command every week (%s); one per command, "
        "a new one replaces the old. Example: `recurring maintenance Friday 15:00`\n"
        "* `list runs`, `list schedules`, `list recurring`: reviews executed commands, scheduled "
        "tasks and recurring schedules. Example: `list schedules`\n"
        "* `cancel <command> [YYYY-MM-DD HH:MM]`: removes a recurring schedule, or the one-shot at "
        "that time. Example: `cancel maintenance 2027-01-08 17:00`\n"
        "* `pause <command>`, `resume <command>`: suspends a recurring schedule and brings it back. "
        "Example: `pause maintenance`\n"
        "* `cancel <id>`, `pause <id>`, `resume <id>`: the same by the id `list schedules` shows. "
        "Example: `cancel 4`\n"
        "* `branch`: which stability branch your server is on (now `%s`); to switch, contact us. "
        "Example: `branch`\n"
        "Commands:\n"
        "* `ping`: checks server reachability and disk utilization. Example: `run ping`\n"
        "* `disk`: disk utilization of common server components. Example: `run disk`\n"
        "* `price`: your server's cost, with a breakdown by components. Example: `run price`\n"
        "* `maintenance`: the maintenance process, typically 15-30 minutes. Example: `run maintenance`\n"
        "* `restart <service>`: restarts a service, e.g. an unresponsive bridge. Example: "
        "`run restart slack`; in the schedule and recurring modes the service comes after the time: "
        "`schedule restart 2027-01-08 17:00 slack`";

void reply_done(Reply *r) {
        free(r->body);
        free(r->html);
        *r = (Reply) {};
}

static void html_escape_char(FILE *f, char c) {
        switch (c) {
        case '&':
                fputs("&amp;", f);
                break;
        case '<':
                fputs("&lt;", f);
                break;
        case '>':
                fputs("&gt;", f);
                break;
        case '"':
                fputs("&quot;", f);
                break;
        default:
                fputc(c, f);
        }
}

/* One line: escaped, `spans` as <code>. An unpaired backtick is printed as it is. */
static void html_line(FILE *f, const char *s, size_t n) {
        bool code = false;

        for (size_t i = 0; i < n; i++) {
                if (s[i] == '`' && (code || memchr(s + i + 1, '`', n - i - 1))) {
                        fputs(code ? "</code>" : "<code>", f);
                        code = !code;
                } else
                        html_escape_char(f, s[i]);
        }
}

int reply_from_text(const char *text, Reply *ret) {
        _cleanup_free_ char *body = NULL, *html = NULL;
        size_t size = 0;
        bool in_list = false;
        FILE *f;

        body = strdup(text);
        f = open_memstream(&html, &size);
        if (!body || !f) {
                if (f)
                        fclose(f);
                return -ENOMEM;
        }
        (void) __fsetlocking(f, FSETLOCKING_BYCALLER); /* ours alone: no lock for each character */
        for (const char *line = text; *line;) {
                const char *end = strchrnul(line, '\n');
                bool item = startswith(line, "* ");

                if (item != in_list)
                        fputs(item ? "<ul>" : "</ul>", f);
                in_list = item;
                fputs(item ? "<li>" : "", f);
                html_line(f, item ? line + 2 : line, (size_t) (end - line) - (item ? 2 : 0));
                fputs(item ? "</li>" : (*end ? "<br>" : ""), f);
                line = *end ? end + 1 : end;
        }
        if (in_list)
                fputs("</ul>", f);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = (Reply) { .body = TAKE_PTR(body), .html = TAKE_PTR(html) };
        return 0;
}

int reply_help(const char *zone, const char *branch, Reply *ret) {
        _cleanup_free_ char *text = NULL;

        if (asprintf(&text, help_text, zone, zone, branch) < 0)
                return -ENOMEM;
        return reply_from_text(text, ret);
}

int reply_branch(const char *branch, Reply *ret) {
        _cleanup_free_ char *text = NULL;
        bool fresh = streq_ptr(branch, "fresh");

        if (asprintf(&text,
                     "Your server is on the `%s` stability branch%s: %s\n"
                     "If you wish to switch to another stability branch, kindly contact us for assistance.",
                     strempty(branch), fresh ? " (testing)" : " (default)",
                     fresh ? "updates arrive without delay, often a week earlier than in `stable`, at the "
                             "risk of occasional breakage." :
                             "well-tested updates, typically a few days (up to a week) behind `fresh`.") < 0)
                return -ENOMEM;
        return reply_from_text(text, ret);
}

int reply_refusal(Reply *ret) {
        return reply_from_text("Sorry, I take commands only from the customers I serve. "
                               "If this is your server, ask your hosting operator to add your Matrix ID.",
                               ret);
}

int reply_not_saved(int error, const char *what, char **ret_text) {
        bool full = error == -ENOSPC || error == -EDQUOT;

        if (asprintf(ret_text, "Your schedules could not be saved%s, so nothing %s; we have been told.%s",
                     full ? " because our server is out of disk space" : "", what,
                     full ? " Please try again later." : "") < 0)
                return -ENOMEM;
        return 0;
}

int reply_error(const char *why, Reply *ret) {
        _cleanup_free_ char *text = NULL;

        if (isempty(why))
                return reply_from_text("Something went wrong; send `help`", ret);
        if (asprintf(&text, "%c%s", why[0] >= 'a' && why[0] <= 'z' ? why[0] - 'a' + 'A' : why[0], why + 1) <
            0)
                return -ENOMEM;
        return reply_from_text(text, ret);
}

/* The message: an m.notice, or with mention an m.text naming them (a last line of their ids, as
 * pills in the HTML, and in m.mentions, which is what the push rules read). */
static int content_of(const char *text, const char *reply_to, char *const *mention, json_t **ret) {
        json_auto_t *c = NULL, *ids = json_array();
        _cleanup_free_ char *body = NULL, *html = NULL;
        size_t body_size = 0, html_size = 0;
        Reply reply = {};
        FILE *fb, *fh;
        int r;

        r = reply_from_text(text, &reply);
        if (r < 0 || !ids)
                return r < 0 ? r : -ENOMEM;
        fb = open_memstream(&body, &body_size);
        fh = open_memstream(&html, &html_size);
        if (fb && fh) {
                fputs(reply.body, fb);
                fputs(reply.html, fh);
                for (char *const *u = mention; u && *u; u++) {
                        fprintf(fb, "%s%s", u == mention ? "\n" : ", ", *u);
                        fprintf(fh, "%s<a href=\"https://matrix.to/#/", u == mention ? "<br>" : ", ");
                        for (const char *p = *u; *p; p++)
                                html_escape_char(fh, *p);
                        fputs("\">", fh);
                        for (const char *p = *u; *p; p++)
                                html_escape_char(fh, *p);
                        fputs("</a>", fh);
                        if (json_array_append_new(ids, json_string(*u)) < 0)
                                r = -ENOMEM;
                }
        }
        reply_done(&reply);
        if ((fb && fclose(fb) != 0) || (fh && fclose(fh) != 0) || !fb || !fh || r < 0)
                return -ENOMEM;
        c = json_pack("{s:s, s:s, s:s, s:s, s:{}}", "msgtype", json_array_size(ids) > 0 ? "m.text" : "m.notice",
                      "body", body, "format", "org.matrix.custom.html", "formatted_body", html, "m.mentions");
        if (!c || (json_array_size(ids) > 0 &&
                   json_object_set(json_object_get(c, "m.mentions"), "user_ids", ids) < 0))
                return -ENOMEM;
        if (!isempty(reply_to) &&
            json_object_set_new(c, "m.relates_to", json_pack("{s:{s:s}}", "m.in_reply_to", "event_id", reply_to)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

int reply_content(const char *text, const char *reply_to, json_t **ret) {
        return content_of(text, reply_to, NULL, ret);
}

int reply_content_ringing(const char *text, const char *reply_to, char *const *owners, json_t **ret) {
        return content_of(text, reply_to, owners, ret);
}
