/* SPDX-License-Identifier: GPL-3.0-or-later */

/* A direct chat with a customer's owners, opened when the bot has something to tell a customer who
 * has no room yet (an alert, a reminder): createRoom, inviting them (encrypted if we can), then the
 * m.direct account data that makes clients list it as direct. */

#include "dm.h"
#include "e2ee-rooms.h"
#include "lanes.h"
#include "log.h"
#include "manager.h"
#include "ops.h"

#define REQUEST_TIMEOUT_MS 30000U

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

static void create_dm_step(Manager *m, Op *op) {
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

const OpType op_create_dm = { .name = "open a direct chat for", .step = create_dm_step, .holds_all = true };

static bool dm_queued(const Manager *m, const char *customer) {
        for (const Op *op = m->ops; op; op = op->next)
                if (op->type == &op_create_dm && streq_ptr(op->customer, customer))
                        return true;
        return false;
}

int dm_queue(Manager *m, const Customer *cu) {
        _cleanup_(op_freep) Op *op = NULL;

        if (dm_queued(m, cu->name))
                return 0;
        op = op_new(&op_create_dm, "");
        if (!op)
                return -ENOMEM;
        op->customer = strdup(cu->name);
        if (!op->customer)
                return -ENOMEM;
        ops_queue(m, TAKE_PTR(op));
        return 0;
}
