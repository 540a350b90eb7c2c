/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Weekdays, times of day and time zones as customers write them. Pure but for reading the tz
 * database. */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util.h"

typedef struct WeeklyTime {
        int weekday;   /* 0 = Monday … 6 = Sunday */
        int hour;
        int minute;
} WeeklyTime;

/* "Friday", "fri", "FRIDAY" → 4. */
int weekday_from_string(const char *s);
const char *weekday_to_string(int weekday);
/* "15:00", "7:05" */
int time_of_day_parse(const char *s, int *ret_hour, int *ret_minute);
/* "Friday 15:00" */
int weekly_time_parse(const char *s, WeeklyTime *ret);

/* An interval as operators write it: "300", "90s", "5min", "1h", "1d" → seconds. */
int interval_parse(const char *s, unsigned *ret_sec);
/* Seconds → "5min", "1h", "90s": the largest unit that divides it, as interval_parse() reads it. */
char *interval_format(unsigned sec);

/* Time zones, by their tz database name ("Europe/Berlin", "UTC"). A valid name has a file under
 * /usr/share/zoneinfo. */
bool zone_valid(const char *zone);
/* Local wall-clock time in zone → seconds since the epoch. -ERANGE if that time does not exist
 * there (February 30th, or the hour skipped when clocks go forward). */
int zone_to_epoch(const char *zone, int year, int month, int day, int hour, int minute, time_t *ret);
/* Seconds since the epoch → "YYYY-MM-DD HH:MM" in zone. */
int zone_format(const char *zone, time_t t, char *buf, size_t size);
/* "45 s", "17 min", "1 h 5 min". */
void duration_format(usec_t d, char *buf, size_t size);
