/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "checks.h"
#include "tests.h"

static const char good[] =
        "cpu  100 0 50 1000 50 0 0 0 0 0\n"
        "cpu  130 0 60 1050 60 0 0 0 0 0\n"
        "MemTotal:        2000000 kB\n"
        "MemAvailable:     460000 kB\n"
        "Filesystem     1024-blocks    Used Available Capacity Mounted on\n"
        "/dev/vda         263174212 7356120 255801708       3% /\n";

TEST(resources_from_a_real_shape) {
        const char *why = NULL;
        Resources r;

        ASSERT_OK(resources_parse(good, &r, &why));
        /* 40 busy of 100 jiffies (30 user + 10 system; idle 50 and iowait 10 are not busy) */
        ASSERT_EQ(r.cpu, 40);
        ASSERT_EQ(r.ram, 77);
        ASSERT_EQ(r.disk, 3);
}

TEST(hostile_output) {
        static const char *const bad[] = {
                "",
                "cpu  1 2 3\ncpu  1 2 3\nMemTotal: 1 kB\nMemAvailable: 1 kB\nFilesystem\n/dev/x 1 1 1 1% "
                "/\n",
                "cpu  9 0 0 9\ncpu  1 0 0 1\nMemTotal: 10 kB\nMemAvailable: 1 kB\nFilesystem\n/dev/x 1 1 1 "
                "1% /\n",
                "cpu  1 0 0 1\ncpu  2 0 0 2\nMemTotal: 0 kB\nMemAvailable: 0 kB\nFilesystem\n/dev/x 1 1 1 "
                "1% /\n",
                "cpu  1 0 0 1\ncpu  2 0 0 2\nMemTotal: 1 kB\nMemAvailable: 5 kB\nFilesystem\n/dev/x 1 1 1 "
                "1% /\n",
                "cpu  1 0 0 1\ncpu  2 0 0 2\nMemTotal: 9 MB\nMemAvailable: 5 kB\nFilesystem\n/dev/x 1 1 1 "
                "1% /\n",
                "cpu  1 0 0 1\ncpu  2 0 0 2\nMemTotal: 9 kB\nMemAvailable: 5 kB\nFilesystem\n/dev/x 1 1 1 "
                "999% /\n",
                "cpu  x 0 0 1\ncpu  2 0 0 2\nMemTotal: 9 kB\nMemAvailable: 5 kB\nFilesystem\n/dev/x 1 1 1 "
                "1% /\n",
                "cpu  99999999999999999999999 0 0 1\ncpu  2 0 0 2\nMemTotal: 9 kB\nMemAvailable: 5 kB\n"
                "Filesystem\n/dev/x 1 1 1 1% /\n",
                "<html>proxy error</html>\n",
        };

        FOREACH_ROW(i, bad, "\"%s\"", bad[i]) {
                const char *why = NULL;
                Resources r;

                ASSERT_EQ(resources_parse(bad[i], &r, &why), -EBADMSG);
                ASSERT_TRUE(why != NULL);
        }
}

TEST(failures_first_with_help_links) {
        _cleanup_free_ char *text = NULL;
        CheckList l = {};
        size_t size = 0;
        FILE *f;

        ASSERT_OK(checks_add(&l, true, "cpu", "CPU utilization", "CPU utilization is ~%u%%", 7u));
        ASSERT_OK(checks_add(&l, false, "disk", "Disk utilization", "Disk utilization is ~%u%%: recommended is below %u%%", 85u,
                             80u));
        ASSERT_OK(checks_add(&l, true, "ram", "RAM utilization", "RAM utilization is ~%u%%", 77u));
        ASSERT_EQ(checks_failed(&l), 1);
        f = open_memstream(&text, &size);
        ASSERT_TRUE(f);
        checks_write(f, &l, "https://example.com/monitoring");
        checks_write(f, &l, NULL);
        fclose(f);
        ASSERT_STREQ(text, "* 🟥 Disk utilization is ~85%: recommended is below 80% "
                           "(help: https://example.com/monitoring#disk)\n"
                           "* 🟩 CPU utilization is ~7%\n"
                           "* 🟩 RAM utilization is ~77%\n"
                           "* 🟥 Disk utilization is ~85%: recommended is below 80%\n"
                           "* 🟩 CPU utilization is ~7%\n"
                           "* 🟩 RAM utilization is ~77%\n");
        checks_done(&l);
}
