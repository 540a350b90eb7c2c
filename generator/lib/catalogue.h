/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The price catalogue (prices.conf): one [component ID] section per component with name, price
 * (dollars per month, "5" or "2.50") and description. Pure; errors come back as text. */

#include "config.h"

int catalogue_load(const char *path, Component **ret, size_t *ret_n, char **ret_error);
void catalogue_free(Component *c, size_t n);
/* "5", "2.50", "0" → cents; -EINVAL for anything else ("-1", "5.", "1e3", "$5"). */
int price_parse(const char *s, unsigned *ret_cents);
