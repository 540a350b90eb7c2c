/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The sync lane: log in, long-poll /sync, hand each batch to the handler, save its position. */

#include "manager.h"

void sync_step(Manager *m);
/* The last batch's ops are all done: its position is saved. */
void sync_commit(Manager *m);
