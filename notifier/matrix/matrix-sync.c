/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"
#include "matrix-sync.h"
#include "util.h"

const char *matrix_sync_filter(void) {
        return "{\"presence\":{\"types\":[]},\"account_data\":{\"types\":[]},"
               "\"room\":{\"timeline\":{\"limit\":100,\"types\":[\"m.room.message\",\"m.room.encrypted\","
               "\"m.room.member\",\"m.room.encryption\"]},"
               "\"state\":{\"types\":[\"m.room.member\",\"m.room.encryption\"],\"lazy_load_members\":true},"
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

                /* The invite itself, as the homeserver put it into the room (with its event id), not
                 * stripped state anyone can write into an invite. */
                json_array_foreach(events, i, e) {
                        if (streq_ptr(get_string(e, "type"), "m.room.member") &&
                            streq_ptr(get_string(e, "state_key"), own_user) &&
                            matrix_event_id_valid(get_string(e, "event_id")) &&
                            streq_ptr(get_string(json_object_get(e, "content"), "membership"), "invite"))
                                inviter = get_string(e, "sender");
                }
                if (!inviter || !matrix_room_id_valid(room_id) || !matrix_user_id_valid(inviter))
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

static SyncMessage *message_new(SyncBatch *b, const char *room_id, json_t *e) {
        json_t *ts = json_object_get(e, "origin_server_ts");
        const char *event_id = get_string(e, "event_id"), *sender = get_string(e, "sender");
        SyncMessage *n;

        if (!event_id || !sender || !json_is_integer(ts) || json_integer_value(ts) < 0)
                return NULL;
        n = reallocarray(b->messages, b->n_messages + 1, sizeof(SyncMessage));
        if (!n)
                return NULL;
        b->messages = n;
        n = &b->messages[b->n_messages++];
        *n = (SyncMessage) {
                .room_id = strdup(room_id),
                .event_id = strdup(event_id),
                .sender = strdup(sender),
                .origin_server_ts = (uint64_t) json_integer_value(ts),
        };
        return n;
}

/* A reply's fallback: the quoted lines ("> …") and the blank line after them that a client may put
 * before the reply's own text. They are someone else's words (perhaps a command), never this
 * message's command. Returns where the sender's own text starts; *size shrinks to match. */
static const char *skip_reply_fallback(json_t *content, const char *body, size_t *size) {
        const char *p = body;

        if (!json_is_object(json_object_get(json_object_get(content, "m.relates_to"), "m.in_reply_to")))
                return body;
        while (*p == '>') {
                const char *end = strchrnul(p, '\n');

                p = *end ? end + 1 : end;
        }
        if (p != body && *p == '\n')
                p++;
        *size -= (size_t) (p - body);
        return p;
}

static int message_set_content(SyncMessage *n, json_t *content) {
        const char *msgtype = get_string(content, "msgtype"), *body = get_string(content, "body");

        if (!msgtype || !body)
                return 0;
        n->msgtype = strdup(msgtype);
        n->body_size = json_string_length(json_object_get(content, "body"));
        body = skip_reply_fallback(content, body, &n->body_size);
        /* Never a cut-off body: "run price", 5,000 blanks and "; reboot" is no `run price`. */
        n->body = strdup(n->body_size > COMMAND_MAX ? "" : body);
        n->edit = is_edit(content);
        return n->msgtype && n->body ? 0 : -ENOMEM;
}

static int message_add(SyncBatch *b, const char *room_id, json_t *e) {
        json_t *content = json_object_get(e, "content");
        const char *type = get_string(e, "type");
        SyncMessage *n;

        if (streq_ptr(type, "m.room.message") &&
            (!get_string(content, "msgtype") || !get_string(content, "body")))
                return 0;
        if (!streq_ptr(type, "m.room.message") &&
            !(streq_ptr(type, "m.room.encrypted") && json_is_object(content)))
                return 0;
        if (!matrix_event_id_valid(get_string(e, "event_id")) || !matrix_user_id_valid(get_string(e, "sender")) ||
            !json_is_integer(json_object_get(e, "origin_server_ts")))
                return 0;
        n = message_new(b, room_id, e);
        if (!n || !n->room_id || !n->event_id || !n->sender)
                return -ENOMEM;
        if (streq(type, "m.room.encrypted")) {
                n->encrypted = json_incref(e);
                return 0;
        }
        return message_set_content(n, content);
}

int matrix_sync_message_decrypted(SyncMessage *msg, json_t *plain) {
        json_t *content = json_object_get(plain, "content"), *outer;

        if (!streq_ptr(get_string(plain, "type"), "m.room.message"))
                return 0;
        message_set_content(msg, content);
        /* An edit's relation may be outside the encryption, where the homeserver sees it. */
        outer = json_object_get(json_object_get(msg->encrypted, "content"), "m.relates_to");
        if (streq_ptr(get_string(outer, "rel_type"), "m.replace"))
                msg->edit = true;
        return msg->msgtype && msg->body ? 0 : -ENOMEM;
}

/* Encryption turned on, and members who came or went: what the crypto layer must know. */
/* b->members[room_id][user_id] = member: the last word of the batch on each. */
static int member_note(SyncBatch *b, const char *room_id, const char *user_id, bool member) {
        json_t *room = json_object_get(b->members, room_id);

        if (!room) {
                room = json_object();
                if (!room || json_object_set_new(b->members, room_id, room) < 0)
                        return -ENOMEM;
        }
        return json_object_set_new(room, user_id, json_boolean(member)) < 0 ? -ENOMEM : 0;
}

static int note_state(SyncBatch *b, const char *room_id, json_t *e) {
        const char *type = get_string(e, "type"), *membership;
        json_t *content = json_object_get(e, "content");
        int r;

        if (streq_ptr(type, "m.room.encryption") && streq_ptr(get_string(e, "state_key"), "") &&
            json_is_object(content))
                return json_object_set(b->encryption, room_id, content) < 0 ? -ENOMEM : 0;
        if (!streq_ptr(type, "m.room.member") || !get_string(e, "state_key"))
                return 0;
        membership = get_string(content, "membership");
        r = member_note(b, room_id, get_string(e, "state_key"),
                        streq_ptr(membership, "join") || streq_ptr(membership, "invite"));
        if (r < 0)
                return r;
        if (streq_ptr(membership, "leave") || streq_ptr(membership, "ban"))
                return json_object_set_new(b->members_changed, room_id, json_true()) < 0 ? -ENOMEM : 0;
        if (!json_object_get(b->members_changed, room_id))
                return json_object_set_new(b->members_changed, room_id, json_false()) < 0 ? -ENOMEM : 0;
        return 0;
}

static int parse_joined(SyncBatch *b, json_t *join, const char *own_user) {
        const char *room_id;
        json_t *room;
        int r;

        json_object_foreach(join, room_id, room) {
                json_t *timeline = json_object_get(room, "timeline"), *e;
                size_t i;

                /* A room id that would not survive the stores (a newline, a '%'): not one of ours. */
                if (!matrix_room_id_valid(room_id))
                        continue;
                if (json_is_true(json_object_get(timeline, "limited"))) {
                        b->limited = true;
                        if (json_is_string(json_object_get(timeline, "prev_batch")) &&
                            json_object_set(b->gaps, room_id, json_object_get(timeline, "prev_batch")) < 0)
                                return -ENOMEM;
                }
                json_array_foreach(json_object_get(json_object_get(room, "state"), "events"), i, e) {
                        r = note_state(b, room_id, e);
                        if (r < 0)
                                return r;
                }
                json_array_foreach(json_object_get(timeline, "events"), i, e) {
                        r = note_state(b, room_id, e);
                        if (r < 0)
                                return r;
                        if (streq_ptr(get_string(e, "sender"), own_user))
                                continue;
                        r = message_add(b, room_id, e);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int parse_crypto(SyncBatch *b, json_t *root) {
        json_t *events = json_object_get(json_object_get(root, "to_device"), "events"),
               *changed = json_object_get(json_object_get(root, "device_lists"), "changed"),
               *count = json_object_get(json_object_get(root, "device_one_time_keys_count"),
                                        "signed_curve25519"),
               *unused = json_object_get(root, "device_unused_fallback_key_types"), *v;
        size_t i;

        b->to_device = json_array();
        b->devices_changed = json_array();
        b->encryption = json_object();
        b->members_changed = json_object();
        b->members = json_object();
        b->gaps = json_object();
        if (!b->to_device || !b->devices_changed || !b->encryption || !b->members_changed || !b->members ||
            !b->gaps)
                return -ENOMEM;
        json_array_foreach(events, i, v)
                if (json_is_object(v) && json_array_append(b->to_device, v) < 0)
                        return -ENOMEM;
        json_array_foreach(changed, i, v)
                if (json_is_string(v) && json_array_append(b->devices_changed, v) < 0)
                        return -ENOMEM;
        b->otk_count = json_is_integer(count) && json_integer_value(count) >= 0
                               ? (long) json_integer_value(count)
                               : -1;
        if (json_is_array(unused)) {
                b->fallback_used = true;
                json_array_foreach(unused, i, v)
                        if (streq_ptr(json_string_value(v), "signed_curve25519"))
                                b->fallback_used = false;
        }
        return 0;
}

int matrix_sync_parse(json_t *root, const char *own_user, SyncBatch **ret) {
        _cleanup_(matrix_sync_batch_freep) SyncBatch *b = NULL;
        json_t *rooms;
        const char *next;
        int r;

        next = get_string(root, "next_batch");
        if (isempty(next))
                return -EBADMSG;
        b = calloc(1, sizeof(SyncBatch));
        if (!b)
                return -ENOMEM;
        b->next_batch = strdup(next);
        if (!b->next_batch)
                return -ENOMEM;
        r = parse_crypto(b, root);
        if (r < 0)
                return r;
        rooms = json_object_get(root, "rooms");
        r = parse_invites(b, json_object_get(rooms, "invite"), own_user);
        if (r < 0)
                return r;
        r = parse_joined(b, json_object_get(rooms, "join"), own_user);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

int matrix_sync_prepend_events(SyncBatch *b, const char *room_id, json_t *events, const char *own_user) {
        SyncMessage *saved = b->messages, *all;
        size_t n_saved = b->n_messages, n_new;
        json_t *e;
        size_t i;
        int r = 0;

        b->messages = NULL;
        b->n_messages = 0;
        json_array_foreach(events, i, e) {
                if (streq_ptr(get_string(e, "sender"), own_user))
                        continue;
                r = message_add(b, room_id, e);
                if (r < 0)
                        break;
        }
        n_new = b->n_messages;
        if (r >= 0 && n_new == 0) {
                b->messages = saved;
                b->n_messages = n_saved;
                return 0;
        }
        all = r >= 0 ? reallocarray(b->messages, n_new + n_saved, sizeof(SyncMessage)) : NULL;
        if (!all) {
                for (size_t k = 0; k < b->n_messages; k++)
                        matrix_sync_message_done(&b->messages[k]);
                free(b->messages);
                b->messages = saved;
                b->n_messages = n_saved;
                return -ENOMEM;
        }
        if (n_saved > 0)
                memcpy(all + n_new, saved, n_saved * sizeof(SyncMessage));
        free(saved);
        b->messages = all;
        b->n_messages = n_new + n_saved;
        return 0;
}

void matrix_sync_message_done(SyncMessage *m) {
        free(m->room_id);
        free(m->event_id);
        free(m->sender);
        free(m->msgtype);
        free(m->body);
        json_decref(m->encrypted);
        *m = (SyncMessage) {};
}

SyncBatch *matrix_sync_batch_free(SyncBatch *b) {
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->n_invites; i++) {
                free(b->invites[i].room_id);
                free(b->invites[i].inviter);
        }
        for (size_t i = 0; i < b->n_messages; i++)
                matrix_sync_message_done(&b->messages[i]);
        json_decref(b->to_device);
        json_decref(b->devices_changed);
        json_decref(b->encryption);
        json_decref(b->members_changed);
        json_decref(b->members);
        json_decref(b->gaps);
        free(b->invites);
        free(b->messages);
        free(b->next_batch);
        free(b);
        return NULL;
}
