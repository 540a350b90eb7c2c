/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* At start, every customer's timers made to match the store, in the background. */

#include "manager.h"

int reconcile_start(Manager *m);
/* The queue is empty: puts the reconcile's next op on it, if there is one left. */
void reconcile_step(Manager *m);
/* cu's schedule command is about to be handled: their reconcile first, if still to do. */
int reconcile_first(Manager *m, const Customer *cu);
void reconcile_free(Manager *m);
