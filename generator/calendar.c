/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <ctype.h>
#include <strings.h>

#include "calendar.h"
#include "util.h"

static const char *const weekdays[] = {
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
};

int weekday_from_string(const char *s) {
        for (int i = 0; i < (int) ELEMENTSOF(weekdays); i++)
                if (strcasecmp(s, weekdays[i]) == 0 || (strlen(s) == 3 && strncasecmp(s, weekdays[i], 3) == 0))
                        return i;
        return -EINVAL;
}

const char *weekday_to_string(int weekday) {
        return weekday >= 0 && weekday < (int) ELEMENTSOF(weekdays) ? weekdays[weekday] : NULL;
}

int time_of_day_parse(const char *s, int *ret_hour, int *ret_minute) {
        int h = 0, m = 0;
        size_t n = strlen(s);

        /* H:MM or HH:MM, digits only: sscanf would accept "+1:00" and trailing junk. */
        if ((n != 4 && n != 5) || s[n - 3] != ':')
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (i == n - 3)
                        continue;
                if (!isdigit((unsigned char) s[i]))
                        return -EINVAL;
                if (i < n - 3)
                        h = h * 10 + (s[i] - '0');
                else
                        m = m * 10 + (s[i] - '0');
        }
        if (h > 23 || m > 59)
                return -ERANGE;
        *ret_hour = h;
        *ret_minute = m;
        return 0;
}

int weekly_time_parse(const char *s, WeeklyTime *ret) {
        char day[16], time[8], rest;
        WeeklyTime w;
        int r;

        if (sscanf(s, "%15s %7s %c", day, time, &rest) != 2)
                return -EINVAL;
        w.weekday = weekday_from_string(day);
        if (w.weekday < 0)
                return w.weekday;
        r = time_of_day_parse(time, &w.hour, &w.minute);
        if (r < 0)
                return r;
        *ret = w;
        return 0;
}
