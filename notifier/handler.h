/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What the bot says and does for each thing a /sync batch brought: joins, replies, refusals, runs. */

#include "manager.h"

int handler_process_batch(Manager *m, const SyncBatch *batch, bool initial);
