/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Monitoring runs (SCHEDULER_MODE=monitor) from the journal become alerts: on change only (see
 * alerts.h), in the customer's room, or in a direct chat with the owners that the bot opens
 * when the customer has no room yet (dm.c). */

#include "alerts-io.h"
#include "alerts.h"
#include "dm.h"
#include "log.h"
#include "manager.h"
#include "ops.h"
#include "results.h"

/* In a customer's monitoring memory: alerts queued, not yet taken by the homeserver. */
#define PENDING "pending"
/* Ours are "alert-" and an invocation id, or a reminder's "alert-reminder-CUSTOMER-TIME". */
#define TXN_ID_MAX 200U

int alerts_on_result(Manager *m, const RunResult *res, const char *cursor) {
        const Customer *cu = config_find_customer(m->config, res->customer);
        _cleanup_free_ char *message = NULL;
        json_t *failures = NULL, *memory;
        bool held;
        int r;

        if (!cu)
                return 0;
        if (isempty(res->report) || monitor_report_parse(res->report, &held, &failures) < 0) {
                log_warning("Monitoring of %s: %s, ignoring it.", cu->name,
                            run_result_success(res) ? "the report is not a monitoring report" :
                                                      strempty(res->reason));
                return 0;
        }
        if (held) {
                log_info("Monitoring of %s held: a maintenance or restart is running.", cu->name);
                json_decref(failures);
                return 0;
        }
        memory = state_get_alerts(m->state, cu->name);
        r = memory ? alert_state_update(memory, cu->domain, failures, res->realtime, &message) : -ENOMEM;
        json_decref(failures);
        if (r < 0)
                return log_oom();
        /* Saved soon (results_read_new()), once for a burst: monitoring.json of 1,000 customers is
         * most of a megabyte. An alert it queues stays pending in it until delivered. */
        state_alerts_changed(m->state, cu->name);
        if (!message)
                return 0;

        log_info("Alerting %s: monitoring saw a change.", cu->name);
        return alerts_queue_message(m, cu, message, res->invocation, cursor);
}

static void alert_delivered(Manager *m, Op *op);

/* The ops of one alert: a direct chat first if the customer has none yet, then the message. */
static int queue_alert(Manager *m, const Customer *cu, const char *text, const char *txn_id,
                       const char *cursor) {
        const char *room = state_get_room(m->state, cu->name);
        _cleanup_(op_freep) Op *op = NULL;

        if (!room && dm_queue(m, cu) < 0)
                return log_oom();
        /* The room is looked up when it is sent: the direct chat may not exist yet. */
        op = op_new(&op_send, room ?: "");
        if (!op || op_make_ringing(op, NULL, text, cu->owners) < 0)
                return log_oom();
        op->customer = strdup(cu->name);
        op->txn_id = strdup(txn_id);
        op->cursor = cursor ? strdup(cursor) : NULL;
        if (!op->customer || !op->txn_id || (cursor && !op->cursor))
                return log_oom();
        op->done = alert_delivered;
        ops_queue(m, TAKE_PTR(op));
        return 0;
}

/* Until the homeserver took it, an alert (or reminder) is kept in the customer's memory, which
 * counts it as told already: a run read again after a crash changes nothing there, so an alert
 * still queued at a crash would otherwise never go out. */
int alerts_queue_message(Manager *m, const Customer *cu, const char *text, const char *id,
                         const char *cursor) {
        json_t *memory = state_get_alerts(m->state, cu->name), *pending;
        _cleanup_free_ char *txn_id = NULL;

        if (!memory || (isempty(id) ? asprintf(&txn_id, "alert-%016llx",
                                               (unsigned long long) hash_fnv1a(cursor ?: text))
                                    : asprintf(&txn_id, "alert-%s", id)) < 0)
                return log_oom();
        pending = json_object_get(memory, PENDING);
        if (!json_is_array(pending)) {
                pending = json_array();
                if (!pending || json_object_set_new(memory, PENDING, pending) < 0)
                        return log_oom();
        }
        if (json_array_append_new(pending, json_pack("{s:s, s:s}", "txn_id", txn_id, "text", text)) < 0)
                return log_oom();
        state_alerts_changed(m->state, cu->name);
        return queue_alert(m, cu, text, txn_id, cursor);
}

/* The homeserver took the alert (or refused it for good): it is no longer pending. Saved soon, with
 * the rest of a burst's alerts and the journal position. A crash before that sends them again under
 * the same transaction ids, which the homeserver drops, as after any crash before a save. */
static void alert_delivered(Manager *m, Op *op) {
        json_t *memory = json_object_get(m->state->alerts, op->customer),
               *pending = json_object_get(memory, PENDING), *e;
        size_t i;

        json_array_foreach(pending, i, e)
                if (streq_ptr(json_string_value(json_object_get(e, "txn_id")), op->txn_id)) {
                        (void) json_array_remove(pending, i);
                        if (json_array_size(pending) == 0)
                                (void) json_object_del(memory, PENDING);
                        state_alerts_changed(m->state, op->customer);
                        break;
                }
        if (op->cursor && state_set_journal_cursor(m->state, op->cursor) < 0)
                log_error("Failed to note the journal position, continuing: out of memory");
        manager_save_soon(m);
}

int alerts_queue_pending(Manager *m) {
        size_t n = 0;

        for (size_t c = 0; c < m->config->n_customers; c++) {
                const Customer *cu = &m->config->customers[c];
                json_t *memory = json_object_get(m->state->alerts, cu->name),
                       *pending = json_object_get(memory, PENDING), *e;
                size_t i;

                json_array_foreach(pending, i, e) {
                        const char *txn_id = json_string_value(json_object_get(e, "txn_id")),
                                   *text = json_string_value(json_object_get(e, "text"));

                        if (!startswith(strempty(txn_id), "alert-") || isempty(text) ||
                            strlen(txn_id) > TXN_ID_MAX) {
                                log_warning("%s: an undelivered alert of %s is not one we wrote, "
                                            "ignoring it.",
                                            m->state->monitoring_path, cu->name);
                                continue;
                        }
                        if (queue_alert(m, cu, text, txn_id, NULL) < 0)
                                return -ENOMEM;
                        n++;
                }
        }
        if (n > 0)
                log_info("Sending %zu alert%s again that the homeserver had not taken before the stop.", n,
                         n == 1 ? "" : "s");
        return 0;
}
