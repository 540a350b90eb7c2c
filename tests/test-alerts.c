/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "alerts.h"
#include "tests.h"

static json_t *failures(const char *json) {
        json_t *f = NULL;
        bool held;

        if (monitor_report_parse(json, &held, &f) < 0)
                abort();
        return f;
}

/* One monitoring run at time t: the message, or NULL. */
static char *run(json_t *state, const char *report, uint64_t t) {
        json_t *f = failures(report);
        char *message = NULL;

        if (alert_state_update(state, "acme.test", f, t, &message) < 0)
                abort();
        json_decref(f);
        return message;
}

#define PORT_DOWN                                                                                           \
        "{\"held\": false, \"failures\": [{\"key\": \"25 (tcp port)\", \"line\": \"🟥 25 (tcp port): timeout\"}]}"
#define ALL_FINE "{\"held\": false, \"failures\": []}"

TEST(alert_on_the_second_failure_once_and_recovery_once) {
        json_t *state = json_object();
        char *m;

        ASSERT_TRUE(!run(state, PORT_DOWN, 1));
        m = run(state, PORT_DOWN, 2);
        ASSERT_STREQ(m, "🚨 Monitoring found a problem on acme.test:\n* 🟥 25 (tcp port): timeout");
        free(m);
        ASSERT_TRUE(!run(state, PORT_DOWN, 3));
        ASSERT_TRUE(!run(state, PORT_DOWN, 4));
        m = run(state, ALL_FINE, 5);
        ASSERT_STREQ(m, "✅ Back to normal on acme.test:\n* 🟩 25 (tcp port)");
        free(m);
        ASSERT_TRUE(!run(state, ALL_FINE, 6));
        json_decref(state);
}

TEST(a_single_failure_is_forgotten_quietly) {
        json_t *state = json_object();

        ASSERT_TRUE(!run(state, PORT_DOWN, 1));
        ASSERT_TRUE(!run(state, ALL_FINE, 2));
        /* It starts counting from zero again. */
        ASSERT_TRUE(!run(state, PORT_DOWN, 3));
        json_decref(state);
}

TEST(a_run_seen_before_changes_nothing) {
        json_t *state = json_object();
        char *m;

        ASSERT_TRUE(!run(state, PORT_DOWN, 10));
        /* The same entry read again after a restart: not a second failure. */
        ASSERT_TRUE(!run(state, PORT_DOWN, 10));
        ASSERT_TRUE(!run(state, PORT_DOWN, 9));
        m = run(state, PORT_DOWN, 11);
        ASSERT_TRUE(m != NULL);
        free(m);
        json_decref(state);
}

TEST(new_trouble_and_recovery_in_one_message) {
        static const char both[] = "{\"held\": false, \"failures\": [{\"key\": \"25 (tcp port)\", "
                                   "\"line\": \"🟥 25 (tcp port): timeout\"}, {\"key\": \"x (DNS record)\", "
                                   "\"line\": \"🟥 x (DNS record): no A or AAAA record\"}]}";
        static const char dns[] = "{\"held\": false, \"failures\": [{\"key\": \"x (DNS record)\", "
                                  "\"line\": \"🟥 x (DNS record): no A or AAAA record\"}]}";
        json_t *state = json_object();
        char *m;

        ASSERT_TRUE(!run(state, PORT_DOWN, 1));
        m = run(state, both, 2);
        ASSERT_STREQ(m, "🚨 Monitoring found a problem on acme.test:\n* 🟥 25 (tcp port): timeout");
        free(m);
        m = run(state, dns, 3);
        ASSERT_STREQ(m, "🚨 Monitoring found a problem on acme.test:\n* 🟥 x (DNS record): no A or AAAA record\n\n"
                        "✅ Back to normal on acme.test:\n* 🟩 25 (tcp port)");
        free(m);
        json_decref(state);
}

TEST(reports_that_are_not_ours) {
        static const char *const bad[] = {
                "", "[]", "{\"failures\": []}", "{\"held\": 1, \"failures\": []}",
                "{\"held\": false, \"failures\": [{\"key\": \"\", \"line\": \"x\"}]}",
                "{\"held\": false, \"failures\": [{\"key\": \"k\"}]}",
                "{\"held\": false, \"failures\": {}}",
        };
        json_t *f = NULL;
        bool held;

        FOREACH_ROW(i, bad, "\"%s\"", bad[i])
                ASSERT_EQ(monitor_report_parse(bad[i], &held, &f), -EBADMSG);
        ASSERT_OK(monitor_report_parse("{\"held\": true, \"failures\": []}", &held, &f));
        ASSERT_TRUE(held);
        json_decref(f);
}
