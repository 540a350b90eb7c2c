/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <limits.h>

#include "calendar.h"
#include "tests.h"

TEST(weekday_names) {
        ASSERT_EQ(weekday_from_string("Monday"), 0);
        ASSERT_EQ(weekday_from_string("friday"), 4);
        ASSERT_EQ(weekday_from_string("FRI"), 4);
        ASSERT_EQ(weekday_from_string("sun"), 6);
        ASSERT_TRUE(weekday_from_string("Fr") < 0);
        ASSERT_TRUE(weekday_from_string("Fridays") < 0);
        ASSERT_TRUE(weekday_from_string("") < 0);
        ASSERT_STREQ(weekday_to_string(6), "Sunday");
        ASSERT_TRUE(weekday_to_string(7) == NULL);
        ASSERT_TRUE(weekday_to_string(-1) == NULL);
}

TEST(time_of_day) {
        int h, m;

        ASSERT_OK(time_of_day_parse("15:00", &h, &m));
        ASSERT_EQ(h, 15);
        ASSERT_EQ(m, 0);
        ASSERT_OK(time_of_day_parse("7:05", &h, &m));
        ASSERT_EQ(h, 7);
        ASSERT_EQ(m, 5);
        ASSERT_EQ(time_of_day_parse("24:00", &h, &m), -ERANGE);
        ASSERT_EQ(time_of_day_parse("12:60", &h, &m), -ERANGE);
        ASSERT_TRUE(time_of_day_parse("+1:00", &h, &m) < 0);
        ASSERT_TRUE(time_of_day_parse("1500", &h, &m) < 0);
        ASSERT_TRUE(time_of_day_parse("15:00x", &h, &m) < 0);
        ASSERT_TRUE(time_of_day_parse("", &h, &m) < 0);
}

TEST(weekly_time) {
        WeeklyTime w;

        ASSERT_OK(weekly_time_parse("Friday 15:00", &w));
        ASSERT_EQ(w.weekday, 4);
        ASSERT_EQ(w.hour, 15);
        ASSERT_TRUE(weekly_time_parse("Friday", &w) < 0);
        ASSERT_TRUE(weekly_time_parse("Friday 15:00 extra", &w) < 0);
        ASSERT_TRUE(weekly_time_parse("Someday 15:00", &w) < 0);
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

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                s = UINT_MAX;
                ASSERT_EQ(interval_parse(cases[i].text, &s), cases[i].r);
                ASSERT_EQ(s, cases[i].r == 0 ? cases[i].sec : UINT_MAX);
        }
        /* What it writes, it reads back. */
        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                _cleanup_free_ char *f = interval_format(formats[i].sec);

                ASSERT_STREQ(f, formats[i].text);
                ASSERT_OK(interval_parse(f, &s));
                ASSERT_EQ(s, formats[i].sec);
        }
}

TEST(zones) {
        char buf[32];
        time_t t;

        ASSERT_TRUE(zone_valid("Europe/Berlin"));
        ASSERT_TRUE(zone_valid("UTC"));
        ASSERT_FALSE(zone_valid("Europe/Nowhere"));
        ASSERT_FALSE(zone_valid("../../etc/passwd"));
        ASSERT_FALSE(zone_valid("/etc/localtime"));
        ASSERT_FALSE(zone_valid("Europe/Berlin;reboot"));
        ASSERT_FALSE(zone_valid(""));

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
