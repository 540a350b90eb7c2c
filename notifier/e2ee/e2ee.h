/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* End-to-end encryption on the lanes (e2ee.c): the key, the crypto store's opening, key upload and
 * cross-signing before a /sync. What rooms and messages need is e2ee-rooms.h. */

#include "manager.h"

int e2ee_read_key(Manager *m);
/* The sync lane's crypto work before a /sync (open the store, upload keys, cross-sign): true if a
 * request is under way or the notifier is leaving. */
bool e2ee_sync_step(Manager *m);
