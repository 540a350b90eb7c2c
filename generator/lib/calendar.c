/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

#include "calendar.h"
#include "util.h"

static const char *const weekdays[] = {
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
};

int weekday_from_string(const char *s) {
        for (int i = 0; i < (int) ELEMENTSOF(weekdays); i++)
                if (strcasecmp(s, weekdays[i]) == 0 ||
                    (strlen(s) == 3 && strncasecmp(s, weekdays[i], 3) == 0))
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

static const struct {
        const char *suffix;
        unsigned sec;
} interval_units[] = {
        /* Largest first: interval_format() takes the first that divides. */
        { "d", 86400 }, { "h", 3600 }, { "min", 60 }, { "m", 60 }, { "s", 1 }, { "sec", 1 }, { "", 1 },
};

int interval_parse(const char *s, unsigned *ret_sec) {
        unsigned long long v;
        char *end;

        /* strtoull() would take blanks, a sign and "0x" first. */
        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno > 0)
                return -ERANGE;
        end += strspn(end, " ");
        for (size_t i = 0; i < ELEMENTSOF(interval_units); i++)
                if (streq(end, interval_units[i].suffix)) {
                        if (v > UINT_MAX / interval_units[i].sec)
                                return -ERANGE;
                        *ret_sec = (unsigned) v * interval_units[i].sec;
                        return 0;
                }
        return -EINVAL;
}

char *interval_format(unsigned sec) {
        char *s;
        size_t i = 0;

        while (sec > 0 && sec % interval_units[i].sec != 0)
                i++;
        if (asprintf(&s, "%u%s", sec / interval_units[i].sec, sec > 0 ? interval_units[i].suffix : "s") < 0)
                return NULL;
        return s;
}

bool zone_valid(const char *zone) {
        _cleanup_free_ char *path = NULL;

        if (isempty(zone) || strlen(zone) > 64 || zone[0] == '/' || strstr(zone, ".."))
                return false;
        for (const char *p = zone; *p; p++)
                if (!isascii((unsigned char) *p) || !(isalnum((unsigned char) *p) || strchr("/_+-", *p)))
                        return false;
        if (asprintf(&path, "/usr/share/zoneinfo/%s", zone) < 0)
                return false;
        return access(path, R_OK) >= 0;
}

static bool is_utc(const char *zone) {
        return !zone || streq(zone, "UTC") || streq(zone, "Etc/UTC");
}

/* The C library knows one zone at a time, the process's TZ: switch to zone, then back. */
static char *zone_enter(const char *zone) {
        const char *old = getenv("TZ");
        char *saved = strdup(old ? old : "");

        if (!saved)
                return NULL;
        if (!old)
                saved[0] = '\1';   /* marks "TZ was unset" */
        setenv("TZ", zone, 1);
        tzset();
        return saved;
}

static void zone_leave(char *saved) {
        if (saved[0] == '\1')
                unsetenv("TZ");
        else
                setenv("TZ", saved, 1);
        tzset();
        free(saved);
}

int zone_to_epoch(const char *zone, int year, int month, int day, int hour, int minute, time_t *ret) {
        struct tm tm = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day, .tm_hour = hour,
                         .tm_min = minute, .tm_isdst = -1 };
        char *saved;
        time_t t;

        if (year < 1970 || year > 9999)
                return -ERANGE;
        if (is_utc(zone))
                t = timegm(&tm);
        else {
                saved = zone_enter(zone);
                if (!saved)
                        return -ENOMEM;
                t = mktime(&tm);
                zone_leave(saved);
        }
        /* Normalized into another day or hour: that wall-clock time does not exist. */
        if (t == (time_t) -1 || tm.tm_mday != day || tm.tm_mon != month - 1 || tm.tm_hour != hour ||
            tm.tm_min != minute)
                return -ERANGE;
        *ret = t;
        return 0;
}

int zone_format(const char *zone, time_t t, char *buf, size_t size) {
        struct tm tm;
        char *saved = NULL;
        bool ok;

        if (!is_utc(zone)) {
                saved = zone_enter(zone);
                if (!saved)
                        return -ENOMEM;
        }
        ok = saved ? localtime_r(&t, &tm) != NULL : gmtime_r(&t, &tm) != NULL;
        if (saved)
                zone_leave(saved);
        if (!ok || strftime(buf, size, "%Y-%m-%d %H:%M", &tm) == 0)
                return -EINVAL;
        return 0;
}

void duration_format(usec_t d, char *buf, size_t size) {
        unsigned long long sec = d / USEC_PER_SEC, min = (sec + 30) / 60;

        if (sec < 60)
                snprintf(buf, size, "%llu s", sec);
        else if (min < 60)
                snprintf(buf, size, "%llu min", min);
        else
                snprintf(buf, size, "%llu h %llu min", min / 60, min % 60);
}
