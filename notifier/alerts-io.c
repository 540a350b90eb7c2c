/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Monitoring runs (SCHEDULER_MODE=monitor) from the journal become alerts: on change only (see
 * alerts.h), in the customer's room, or in a direct chat with the owners that the bot opens
 * when the customer has no room yet. */

#include "alerts.h"
#include "log.h"
#include "manager.h"
#include "results.h"

#define REQUEST_TIMEOUT_MS 30000U
/* In a customer's monitoring memory: alerts queued, not yet taken by the homeserver. */
#define PENDING "pending"
/* Ours are "alert-" and an invocation id, or a reminder's "alert-reminder-CUSTOMER-TIME". */
#define TXN_ID_MAX 200U

static bool dm_queued(const Manager *m, const char *customer) {
        for (const Op *op = m->ops; op; op = op->next)
                if (op->kind == OP_CREATE_DM && streq_ptr(op->customer, customer))
                        return true;
        return false;
}

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
                log_info("Monitoring of %s held: a maintenance is running.", cu->name);
                json_decref(failures);
                return 0;
        }
        memory = state_get_alerts(m->state, cu->name);
        r = memory ? alert_state_update(memory, cu->domain, failures, res->realtime, &message) : -ENOMEM;
        json_decref(failures);
        if (r < 0)
                return log_oom();
        /* Saved soon (journal_read_new()), once for a burst: monitoring.json of 1,000 customers is
         * most of a megabyte. An alert it queues stays pending in it until delivered. */
        state_alerts_changed(m->state, cu->name);
        if (!message)
                return 0;

        log_info("Alerting %s: monitoring saw a change.", cu->name);
        return alerts_queue_message(m, cu, message, res->invocation, cursor);
}

/* The ops of one alert: a direct chat first if the customer has none yet, then the message. */
static int queue_alert(Manager *m, const Customer *cu, const char *text, const char *txn_id,
                       const char *cursor) {
        const char *room = state_get_room(m->state, cu->name);
        Op *op;

        if (!room && !dm_queued(m, cu->name)) {
                op = op_new(OP_CREATE_DM, "");
                if (!op || !(op->customer = strdup(cu->name))) {
                        op_free(op);
                        return log_oom();
                }
                ops_queue(m, op);
        }
        /* The room is looked up when it is sent: the direct chat may not exist yet. */
        op = op_new(OP_SEND, room ?: "");
        if (!op || !(op->customer = strdup(cu->name)) || (cursor && !(op->cursor = strdup(cursor))) ||
            op_make_ringing(op, NULL, text, cu->owners) < 0 || !(op->txn_id = strdup(txn_id))) {
                op_free(op);
                return log_oom();
        }
        op->alert = true;
        ops_queue(m, op);
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

void alerts_delivered(Manager *m, const Op *op) {
        json_t *memory = json_object_get(m->state->alerts, op->customer),
               *pending = json_object_get(memory, PENDING), *e;
        size_t i;

        json_array_foreach(pending, i, e)
                if (streq_ptr(json_string_value(json_object_get(e, "txn_id")), op->txn_id)) {
                        (void) json_array_remove(pending, i);
                        if (json_array_size(pending) == 0)
                                (void) json_object_del(memory, PENDING);
                        state_alerts_changed(m->state, op->customer);
                        return;
                }
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

/* ---- a direct chat with the owners ------------------------------------------------------------ */

static void on_direct_saved(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;

        if (!lane_answered(m, &m->send, resp))
                return;
        if (resp->status != 200)
                log_warning("The homeserver refused our m.direct account data: HTTP %li %s; the chat "
                            "works, clients may just not list it as direct.",
                            resp->status, strempty(resp->errcode));
        ops_done(m);
}

/* m.direct lists, per user, the rooms that are direct chats with them (client-server spec). */
static void save_direct(Manager *m) {
        _cleanup_free_ char *user = NULL, *path = NULL;

        user = matrix_escape(m->config->user_id);
        if (!user || asprintf(&path, "/_matrix/client/v3/user/%s/account_data/m.direct", user) < 0)
                return manager_fatal_oom(m);
        (void) lane_request(m, &m->send, "PUT", path, m->state->direct, REQUEST_TIMEOUT_MS, on_direct_saved);
}

static int remember_direct(Manager *m, const Customer *cu, const char *room) {
        for (char **o = cu->owners; *o; o++) {
                json_t *rooms = json_object_get(m->state->direct, *o);

                if (!json_is_array(rooms)) {
                        rooms = json_array();
                        if (!rooms || json_object_set_new(m->state->direct, *o, rooms) < 0)
                                return -ENOMEM;
                }
                if (json_array_append_new(rooms, json_string(room)) < 0)
                        return -ENOMEM;
        }
        state_changed(m->state);
        return 0;
}

static void on_created(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        Op *op = m->ops;
        const Customer *cu = config_find_customer(m->config, op->customer);
        const char *room = json_string_value(json_object_get(resp->json, "room_id"));
        int r;

        if (!lane_answered(m, &m->send, resp))
                return;
        if (resp->status != 200 || isempty(room) || !cu) {
                log_warning("Could not open a direct chat with the owners of %s: HTTP %li %s %s.", op->customer,
                            resp->status, strempty(resp->errcode), strempty(resp->errmsg));
                return ops_done(m);
        }
        log_info("Opened direct chat %s with the owners of %s.", room, cu->name);
        r = state_set_room(m->state, cu->name, room);
        if (r >= 0)
                r = remember_direct(m, cu, room);
        if (r >= 0)
                r = e2ee_room_created(m, room);
        if (r < 0)
                return manager_fatal_oom(m);
        r = state_save(m->state);
        if (r < 0)
                log_error_errno(r, "Failed to save the new room, continuing: %m");
        op->step = 1;
        save_direct(m);
}

void alerts_op_step(Manager *m, Op *op) {
        const Customer *cu = config_find_customer(m->config, op->customer);
        json_auto_t *body = NULL, *encryption = NULL;
        json_t *invite;

        if (op->step == 1)
                return save_direct(m);
        /* Someone invited us meanwhile, or the customer left the configuration. */
        if (!cu || state_get_room(m->state, op->customer))
                return ops_done(m);
        body = json_pack("{s:s, s:b, s:[], s:s}", "preset", "trusted_private_chat", "is_direct", true, "invite",
                         "topic", "The Scheduler: alerts and commands for your server");
        encryption = e2ee_initial_state(m);
        if (body && encryption && json_object_set(body, "initial_state", encryption) < 0)
                return manager_fatal_oom(m);
        invite = json_object_get(body, "invite");
        for (char **o = cu->owners; body && *o; o++)
                if (json_array_append_new(invite, json_string(*o)) < 0)
                        return manager_fatal_oom(m);
        if (!body)
                return manager_fatal_oom(m);
        (void) lane_request(m, &m->send, "POST", "/_matrix/client/v3/createRoom", body, REQUEST_TIMEOUT_MS,
                            on_created);
}
