/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The lanes towards the homeserver (Lane, in manager.h): at most one request in flight each, with
 * its own back-off; a token the homeserver rejects sends the sync lane back to log in. */

#include "manager.h"

int lane_init(Manager *m, Lane *l, const char *name);
void lane_cancel(Lane *l);
bool lane_busy(const Lane *l);
void lane_retry_later(Manager *m, Lane *l, const MatrixResponse *resp);
void lane_succeeded(Manager *m, Lane *l);
int lane_request(Manager *m, Lane *l, const char *method, const char *path, json_t *body,
                 unsigned timeout_ms, matrix_callback_t cb);
/* Every answer on a lane starts here: false if it is dealt with already (a token gone, a retry). */
bool lane_answered(Manager *m, Lane *l, const MatrixResponse *resp);
/* resp says our token is gone: log in again (true), or leave if we cannot. */
bool lanes_token_rejected(Manager *m, const MatrixResponse *resp);
