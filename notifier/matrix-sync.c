/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "matrix-sync.h"
#include "util.h"

/* Longer messages are not commands; keep hostile megabyte bodies out of everything after us. */
#define BODY_MAX 4096

const char *matrix_sync_filter(void) {
        return "{\"presence\":{\"types\":[]},\"account_data\":{\"types\":[]},"
               "\"room\":{\"timeline\":{\"limit\":100,\"types\":[\"m.room.message\"]},"
               "\"state\":{\"types\":[\"m.room.member\"],\"lazy_load_members\":true},"
               "\"ephemeral\":{\"types\":[]},\"account_data\":{\"types\":[]}}}";
}

static const char *get_string(json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static int invite_add(SyncBatch *b, const char *room_id, const char *inviter) {
        SyncInvite *n;

        n = reallocarray(b->invites, b->n_invites + 1, sizeof(SyncInvite));
        if (!n)
                return -ENOMEM;
        b->invites = n;
        n = &b->invites[b->n_invites];
        *n = (SyncInvite) { .room_id = strdup(room_id), .inviter = strdup(inviter) };
        b->n_invites++;
        return n->room_id && n->inviter ? 0 : -ENOMEM;
}

static int parse_invites(SyncBatch *b, json_t *invite, const char *own_user) {
        const char *room_id;
        json_t *room;
        int r;

        json_object_foreach(invite, room_id, room) {
                json_t *events = json_object_get(json_object_get(room, "invite_state"), "events");
                const char *inviter = NULL;
                size_t i;
                json_t *e;

                json_array_foreach(events, i, e) {
                        if (streq_ptr(get_string(e, "type"), "m.room.member") &&
                            streq_ptr(get_string(e, "state_key"), own_user) &&
                            streq_ptr(get_string(json_object_get(e, "content"), "membership"), "invite"))
                                inviter = get_string(e, "sender");
                }
                if (!inviter)
                        continue;
                r = invite_add(b, room_id, inviter);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool is_edit(json_t *content) {
        return streq_ptr(get_string(json_object_get(content, "m.relates_to"), "rel_type"), "m.replace");
}

static int message_add(SyncBatch *b, const char *room_id, json_t *e) {
        json_t *content = json_object_get(e, "content");
        const char *event_id = get_string(e, "event_id"), *sender = get_string(e, "sender"),
                   *msgtype = get_string(content, "msgtype"), *body = get_string(content, "body");
        json_t *ts = json_object_get(e, "origin_server_ts");
        SyncMessage *n;

        if (!streq_ptr(get_string(e, "type"), "m.room.message") || !event_id || !sender || !msgtype ||
            !body || !json_is_integer(ts) || json_integer_value(ts) < 0)
                return 0;

        n = reallocarray(b->messages, b->n_messages + 1, sizeof(SyncMessage));
        if (!n)
                return -ENOMEM;
        b->messages = n;
        n = &b->messages[b->n_messages++];
        *n = (SyncMessage) {
                .room_id = strdup(room_id),
                .event_id = strdup(event_id),
                .sender = strdup(sender),
                .msgtype = strdup(msgtype),
                .body = strndup(body, BODY_MAX),
                .origin_server_ts = (uint64_t) json_integer_value(ts),
                .edit = is_edit(content),
        };
        return n->room_id && n->event_id && n->sender && n->msgtype && n->body ? 0 : -ENOMEM;
}

static int parse_joined(SyncBatch *b, json_t *join, const char *own_user) {
        const char *room_id;
        json_t *room;
        int r;

        json_object_foreach(join, room_id, room) {
                json_t *timeline = json_object_get(room, "timeline"), *e;
                size_t i;

                if (json_is_true(json_object_get(timeline, "limited")))
                        b->limited = true;
                json_array_foreach(json_object_get(timeline, "events"), i, e) {
                        if (streq_ptr(get_string(e, "sender"), own_user))
                                continue;
                        r = message_add(b, room_id, e);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int matrix_sync_parse(json_t *root, const char *own_user, SyncBatch **ret) {
        SyncBatch *b;
        json_t *rooms;
        const char *next;
        int r;

        next = get_string(root, "next_batch");
        if (isempty(next))
                return -EBADMSG;
        b = calloc(1, sizeof(SyncBatch));
        if (!b || !(b->next_batch = strdup(next))) {
                matrix_sync_batch_free(b);
                return -ENOMEM;
        }
        rooms = json_object_get(root, "rooms");
        r = parse_invites(b, json_object_get(rooms, "invite"), own_user);
        if (r >= 0)
                r = parse_joined(b, json_object_get(rooms, "join"), own_user);
        if (r < 0) {
                matrix_sync_batch_free(b);
                return r;
        }
        *ret = b;
        return 0;
}

SyncBatch *matrix_sync_batch_free(SyncBatch *b) {
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->n_invites; i++) {
                free(b->invites[i].room_id);
                free(b->invites[i].inviter);
        }
        for (size_t i = 0; i < b->n_messages; i++) {
                SyncMessage *m = &b->messages[i];
                free(m->room_id);
                free(m->event_id);
                free(m->sender);
                free(m->msgtype);
                free(m->body);
        }
        free(b->invites);
        free(b->messages);
        free(b->next_batch);
        free(b);
        return NULL;
}
