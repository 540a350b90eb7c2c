/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Weekdays and times of day as customers write them. Pure. */

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
