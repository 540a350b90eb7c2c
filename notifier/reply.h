/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <jansson.h>

/* Every text the bot sends, written once as plain text with `code` spans and "* " list lines,
 * and rendered from that into the HTML formatted_body. Pure. */

typedef struct Reply {
        char *body;
        char *html;
} Reply;

void reply_done(Reply *r);

/* text → body and formatted_body. */
int reply_from_text(const char *text, Reply *ret);

/* Every message the bot sends: an m.notice of text (body and HTML), replying to reply_to (if not
 * empty), with "m.mentions" that mention no one: "@room" in a server's output pings nobody. */
int reply_content(const char *text, const char *reply_to, json_t **ret);
/* What the customer must hear of, on their phone too (results, alerts, reminders): an m.text (an
 * m.notice rings no one under the default push rules), mentioning owners (and only them: not the
 * others in a group room), their ids on a last line and as pills. */
int reply_content_ringing(const char *text, const char *reply_to, char *const *owners, json_t **ret);

/* Dates and times in chat are in zone, the customer's time zone; branch is their stability branch. */
int reply_help(const char *zone, const char *branch, Reply *ret);
/* Which stability branch the customer is on, what it means, and that switching is ours. */
int reply_branch(const char *branch, Reply *ret);
int reply_refusal(Reply *ret);
int reply_error(const char *why, Reply *ret);
/* The customer's schedules could not be written (error: -errno): so nothing happened (what, e.g.
 * "was scheduled"); a full disk is said as such. The text only, for handler_queue_reply(). */
int reply_not_saved(int error, const char *what, char **ret_text);
