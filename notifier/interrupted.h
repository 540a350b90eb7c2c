/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "manager.h"

/* Tells the customer of each maintenance an earlier boot cut short, once (never fails). */
int interrupted_report(Manager *m);
