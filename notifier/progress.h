/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What a running maintenance shows in chat: the "initiated" message edited (m.replace) with how
 * long it has run and its current step, or, for a scheduled one, a progress message of its own
 * that is edited the same way. Pure. */

#include <jansson.h>
#include <stdbool.h>

#include "util.h"

#define RUN_INITIATED                                                                                       \
        "Command execution initiated. Please be patient, as this may take some time. "                      \
        "You'll receive a notification upon completion."

/* initiated: the text edits the "initiated" message, so it keeps its words. step may be NULL;
 * it is shown cleaned (no backticks or control characters). */
int progress_text(bool initiated, const char *step, usec_t elapsed, bool finished, char **ret);
/* The content of an edit of event_id to text: "* " fallback body, m.new_content, m.replace. */
int progress_edit_content(const char *event_id, const char *text, json_t **ret);
