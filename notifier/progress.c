/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "calendar.h"
#include "progress.h"
#include "reply.h"
#include "results.h"

#define STEP_SHOWN_MAX 100U

static char *step_clean(const char *s) {
        char *t = strndup(s, STEP_SHOWN_MAX);

        if (!t)
                return NULL;
        for (char *p = t; *p; p++)
                if (*p == '`')
                        *p = '\'';
                else if ((unsigned char) *p < ' ' || *p == 0x7f)
                        *p = ' ';
        return t;
}

int progress_text(bool initiated, const char *step, usec_t elapsed, bool finished, char **ret) {
        _cleanup_free_ char *clean = NULL, *doing = NULL;
        char d[32] = "under a minute";

        if (elapsed >= 60 * USEC_PER_SEC)
                duration_format(elapsed, d, sizeof(d));
        if (!isempty(step)) {
                clean = step_clean(step);
                if (!clean)
                        return -ENOMEM;
        }
        if (finished)
                doing = strdup("");
        else if (clean && asprintf(&doing, "; current step: `%s`", clean) < 0)
                doing = NULL;
        else if (!clean)
                doing = strdup("");
        if (!doing)
                return -ENOMEM;
        if (asprintf(ret, "%s%sMaintenance %s %s%s%s", initiated ? RUN_INITIATED : "", initiated ? "\n" : "",
                     finished ? "finished; it took" : "running for", d, doing, finished ? "." : "") < 0)
                return -ENOMEM;
        return 0;
}

int progress_edit_content(const char *event_id, const char *text, json_t **ret) {
        _cleanup_free_ char *body = NULL, *html = NULL;
        json_auto_t *new_content = NULL;
        json_t *c;
        int r;

        r = reply_content(text, NULL, &new_content);
        if (r < 0)
                return r;
        /* For clients that know no edits: the new text, marked as a correction. */
        if (asprintf(&body, "* %s", json_string_value(json_object_get(new_content, "body"))) < 0 ||
            asprintf(&html, "* %s", json_string_value(json_object_get(new_content, "formatted_body"))) < 0)
                return -ENOMEM;
        c = json_pack("{s:s, s:s, s:s, s:s, s:O, s:{s:s, s:s}, s:{}}", "msgtype", "m.notice", "body", body,
                      "format", "org.matrix.custom.html", "formatted_body", html, "m.new_content",
                      new_content, "m.relates_to", "rel_type", "m.replace", "event_id", event_id, "m.mentions");
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}
