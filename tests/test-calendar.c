/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <limits.h>

#include "calendar.h"
#include "tests.h"

TEST(weekday_names) {
        static const struct {
                const char *text;
                int weekday;
        } names[] = {
                { "Monday", 0 }, { "friday", 4 },         { "FRI", 4 },         { "sun", 6 },
                { "Fr", ANY_ERROR }, { "Fridays", ANY_ERROR }, { "", ANY_ERROR },
        };
        static const struct {
                int weekday;
                const char *text;
        } days[] = {
                { 6, "Sunday" },
                { 7, NULL },
                { -1, NULL },
        };

        FOREACH_ROW(i, names, "\"%s\"", names[i].text)
                ASSERT_RESULT(weekday_from_string(names[i].text), names[i].weekday);
        FOREACH_ROW(i, days, "%d", days[i].weekday)
                ASSERT_STREQ(weekday_to_string(days[i].weekday), days[i].text);
}

TEST(time_of_day) {
        static const struct {
                const char *text;
                int r, hour, minute;
        } cases[] = {
                { "15:00", 0, 15, 0 },         { "7:05", 0, 7, 5 },
                { "24:00", -ERANGE, 0, 0 },    { "12:60", -ERANGE, 0, 0 },
                { "+1:00", ANY_ERROR, 0, 0 },  { "1500", ANY_ERROR, 0, 0 },
                { "15:00x", ANY_ERROR, 0, 0 }, { "", ANY_ERROR, 0, 0 },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) {
                int h, m;

                ASSERT_RESULT(time_of_day_parse(cases[i].text, &h, &m), cases[i].r);
                if (cases[i].r == 0) {
                        ASSERT_EQ(h, cases[i].hour);
                        ASSERT_EQ(m, cases[i].minute);
                }
        }
}

TEST(weekly_time) {
        static const struct {
                const char *text;
                int r, weekday, hour;
        } cases[] = {
                { "Friday 15:00", 0, 4, 15 },
                { "Friday", ANY_ERROR, 0, 0 },
                { "Friday 15:00 extra", ANY_ERROR, 0, 0 },
                { "Someday 15:00", ANY_ERROR, 0, 0 },
        };

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) {
                WeeklyTime w;

                ASSERT_RESULT(weekly_time_parse(cases[i].text, &w), cases[i].r);
                if (cases[i].r == 0) {
                        ASSERT_EQ(w.weekday, cases[i].weekday);
                        ASSERT_EQ(w.hour, cases[i].hour);
                }
        }
}

TEST(intervals) {
        static const struct {
                const char *text;
                int r;
                unsigned sec;
        } cases[] = {
                { "300", 0, 300 },        { "5min", 0, 300 },          { "5 min", 0, 300 },
                { "2m", 0, 120 },         { "90s", 0, 90 },            { "90sec", 0, 90 },
                { "1h", 0, 3600 },        { "1d", 0, 86400 },          { "0", 0, 0 },
                { "", -EINVAL, 0 },       { " 5min", -EINVAL, 0 },     { "+5", -EINVAL, 0 },
                { "-5", -EINVAL, 0 },     { "5 years", -EINVAL, 0 },   { "5min ", -EINVAL, 0 },
                { "1h30min", -EINVAL, 0 }, { "50000d", -ERANGE, 0 }, { "99999999999999999999", -ERANGE, 0 },
        };
        static const struct {
                unsigned sec;
                const char *text;
        } formats[] = {
                { 300, "5min" }, { 3600, "1h" }, { 90, "90s" },
                { 86400, "1d" }, { 5400, "90min" }, { 0, "0s" },
        };
        unsigned s;

        FOREACH_ROW(i, cases, "\"%s\"", cases[i].text) {
                s = UINT_MAX;
                ASSERT_EQ(interval_parse(cases[i].text, &s), cases[i].r);
                ASSERT_EQ(s, cases[i].r == 0 ? cases[i].sec : UINT_MAX);
        }
        /* What it writes, it reads back. */
        FOREACH_ROW(i, formats, "%u s", formats[i].sec) {
                _cleanup_free_ char *f = interval_format(formats[i].sec);

                ASSERT_STREQ(f, formats[i].text);
                ASSERT_OK(interval_parse(f, &s));
                ASSERT_EQ(s, formats[i].sec);
        }
}

TEST(zones) {
        static const struct {
                const char *zone;
                bool valid;
        } zones[] = {
                { "Europe/Berlin", true },    { "UTC", true },
                { "Europe/Nowhere", false },  { "../../etc/passwd", false },
                { "/etc/localtime", false },  { "Europe/Berlin;reboot", false },
                { "", false },
        };
        char buf[32];
        time_t t;

        FOREACH_ROW(i, zones, "\"%s\"", zones[i].zone)
                ASSERT_EQ(zone_valid(zones[i].zone), zones[i].valid);

        ASSERT_OK(zone_to_epoch("UTC", 2027, 1, 8, 17, 0, &t));
        ASSERT_EQ(t, 1799427600);
        /* Berlin is UTC+1 in January and UTC+2 in July. */
        ASSERT_OK(zone_to_epoch("Europe/Berlin", 2027, 1, 8, 17, 0, &t));
        ASSERT_EQ(t, 1799427600 - 3600);
        ASSERT_OK(zone_format("Europe/Berlin", 1799427600, buf, sizeof(buf)));
        ASSERT_STREQ(buf, "2027-01-08 18:00");
        ASSERT_OK(zone_format("UTC", 1799427600, buf, sizeof(buf)));
        ASSERT_STREQ(buf, "2027-01-08 17:00");
        ASSERT_OK(zone_to_epoch("Europe/Berlin", 2027, 7, 1, 12, 0, &t));
        ASSERT_OK(zone_format("UTC", t, buf, sizeof(buf)));
        ASSERT_STREQ(buf, "2027-07-01 10:00");
        /* The hour skipped when clocks go forward, and February 30th, do not exist. */
        ASSERT_EQ(zone_to_epoch("Europe/Berlin", 2027, 3, 28, 2, 30, &t), -ERANGE);
        ASSERT_EQ(zone_to_epoch("UTC", 2027, 2, 30, 10, 0, &t), -ERANGE);
        /* The process's own TZ is left as it was. */
        ASSERT_TRUE(getenv("TZ") == NULL);
}
