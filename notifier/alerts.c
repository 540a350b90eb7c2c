/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <stdbool.h>

#include "alerts.h"
#include "util.h"

#define KEY_MAX 300
#define LINE_MAX_BYTES 2000
#define FAILURES_MAX 100

int monitor_report_parse(const char *text, bool *ret_held, json_t **ret_failures) {
        json_auto_t *root = NULL;
        json_t *failures, *f;
        size_t i;

        root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        failures = json_object_get(root, "failures");
        if (!json_is_object(root) || !json_is_boolean(json_object_get(root, "held")) ||
            !json_is_array(failures) || json_array_size(failures) > FAILURES_MAX)
                return -EBADMSG;
        json_array_foreach(failures, i, f) {
                const char *key = json_string_value(json_object_get(f, "key"));
                const char *line = json_string_value(json_object_get(f, "line"));
                if (isempty(key) || strlen(key) > KEY_MAX || !line || strlen(line) > LINE_MAX_BYTES)
                        return -EBADMSG;
        }
        *ret_held = json_is_true(json_object_get(root, "held"));
        *ret_failures = json_incref(failures);
        return 0;
}

static bool failing(json_t *failures, const char *key) {
        json_t *f;
        size_t i;

        json_array_foreach(failures, i, f)
                if (streq_ptr(json_string_value(json_object_get(f, "key")), key))
                        return true;
        return false;
}

int alert_state_update(json_t *state, const char *domain, json_t *failures, uint64_t realtime,
                       char **ret_message) {
        _cleanup_free_ char *fresh = NULL, *recovered = NULL, *message = NULL;
        size_t n_fresh = 0, n_recovered = 0, size_fresh = 0, size_recovered = 0, size_message = 0, i;
        int r;
        _cleanup_fclose_ FILE *f_fresh = NULL, *f_recovered = NULL, *f_message = NULL;
        json_t *checks, *last, *f, *entry;
        const char *key;
        void *tmp;

        *ret_message = NULL;
        last = json_object_get(state, "last");
        if (json_is_integer(last) && (uint64_t) json_integer_value(last) >= realtime)
                return 0;
        checks = json_object_get(state, "checks");
        if (!json_is_object(checks)) {
                checks = json_object();
                if (!checks || json_object_set_new(state, "checks", checks) < 0)
                        return -ENOMEM;
        }
        f_fresh = open_memstream(&fresh, &size_fresh);
        f_recovered = open_memstream(&recovered, &size_recovered);
        if (!f_fresh || !f_recovered)
                return -ENOMEM;

        /* What passes again: told before, so told again now; forgotten either way. */
        json_object_foreach_safe(checks, tmp, key, entry) {
                if (failing(failures, key))
                        continue;
                if (json_is_true(json_object_get(entry, "alerted"))) {
                        fprintf(f_recovered, "* 🟩 %s\n", key);
                        n_recovered++;
                }
                (void) json_object_del(checks, key);
        }
        json_array_foreach(failures, i, f) {
                const char *k = json_string_value(json_object_get(f, "key"));
                const char *line = json_string_value(json_object_get(f, "line"));
                json_int_t fails;

                entry = json_object_get(checks, k);
                if (!entry) {
                        entry = json_pack("{s:i, s:b}", "fails", 0, "alerted", false);
                        if (!entry || json_object_set_new(checks, k, entry) < 0)
                                return -ENOMEM;
                }
                fails = json_integer_value(json_object_get(entry, "fails")) + 1;
                /* The line is not kept (older versions did): it is told from the run that finds
                 * the check failing. */
                (void) json_object_del(entry, "line");
                if (json_object_set_new(entry, "fails", json_integer(fails)) < 0)
                        return -ENOMEM;
                if (fails >= ALERT_AFTER_FAILURES && !json_is_true(json_object_get(entry, "alerted"))) {
                        fprintf(f_fresh, "* %s\n", line);
                        n_fresh++;
                        if (json_object_set_new(entry, "alerted", json_true()) < 0)
                                return -ENOMEM;
                }
        }
        if (json_object_set_new(state, "last", json_integer((json_int_t) realtime)) < 0)
                return -ENOMEM;
        /* Both closed, whatever the first one says: only then are fresh and recovered complete. */
        r = fclose(TAKE_PTR(f_fresh));
        if (fclose(TAKE_PTR(f_recovered)) != 0 || r != 0)
                return -ENOMEM;
        if (n_fresh == 0 && n_recovered == 0)
                return 0;

        f_message = open_memstream(&message, &size_message);
        if (!f_message)
                return -ENOMEM;
        if (n_fresh > 0)
                fprintf(f_message, "🚨 Monitoring found %s on %s:\n%s", n_fresh == 1 ? "a problem" : "problems",
                        domain, fresh);
        if (n_recovered > 0)
                fprintf(f_message, "%s✅ Back to normal on %s:\n%s", n_fresh > 0 ? "\n" : "", domain, recovered);
        if (fclose(TAKE_PTR(f_message)) != 0)
                return -ENOMEM;
        /* No trailing newline. */
        if (size_message > 0 && message[size_message - 1] == '\n')
                message[size_message - 1] = 0;
        *ret_message = TAKE_PTR(message);
        return 0;
}
