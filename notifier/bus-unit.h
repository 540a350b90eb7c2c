/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* A UnitSpec (generator/unit.h) as D-Bus properties for StartTransientUnit: the same assignments
 * scheduler-generator writes into unit files, in the types systemd's bus API wants. */

#include <systemd/sd-bus.h>

#include "unit.h"

/* Appends the a(sv) array's items (the caller opens and closes the array). */
int bus_append_unit_spec(sd_bus_message *m, const UnitSpec *u);
/* A whole StartTransientUnit call: timer (or service) u, with aux units (may be NULL). */
int bus_message_start_transient(sd_bus *bus, const UnitSpec *u, const UnitSpec *aux, sd_bus_message **ret);

/* ListUnitsByPatterns(states, patterns) without waiting; states NULL: every state. */
int bus_list_units_async(sd_bus *bus, sd_bus_slot **slot, char **states, char **patterns,
                         sd_bus_message_handler_t callback, void *userdata);
/* A ListUnitsByPatterns reply's timers of customer's schedules: names and object paths, alternating. */
int bus_read_schedule_timers(sd_bus_message *reply, const char *customer, char ***ret);
