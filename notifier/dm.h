/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* A direct chat with a customer's owners, who have no room yet (dm.c). */

#include "manager.h"
#include "ops.h"

/* Opens it: it holds back every message behind it, which it may be for. */
extern const OpType op_create_dm;

/* An op_create_dm for cu queued, unless one is already. */
int dm_queue(Manager *m, const Customer *cu);
