/* SPDX-License-Identifier: GPL-3.0-or-later */

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
