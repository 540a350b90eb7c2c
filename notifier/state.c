/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "state.h"
#include "util.h"

#define STATE_MAX (4U * 1024U * 1024U)
/* Some kilobytes per customer: room for thousands. */
#define MONITORING_MAX (64U * 1024U * 1024U)

static int set_from_json(char **field, json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        if (v && !json_is_string(v) && !json_is_null(v))
                return -EBADMSG;
        return free_and_strdup(field, json_string_value(v));
}

/* An object of strings, read as it is; absent leaves *field as it is. */
static int parse_string_map(json_t *root, const char *key, json_t **field) {
        json_t *map = json_object_get(root, key), *v;
        const char *k;

        if (!map)
                return 0;
        if (!json_is_object(map))
                return -EBADMSG;
        json_object_foreach(map, k, v)
                if (!json_is_string(v))
                        return -EBADMSG;
        json_decref(*field);
        *field = json_incref(map);
        return 0;
}

static int state_parse(State *s, const char *text, size_t size) {
        json_t *refused;
        json_auto_t *root = NULL;
        const char *customer;
        json_t *room;
        int r;

        root = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(root))
                return -EBADMSG;
        /* Another homeserver or account: nothing here applies, start afresh. */
        if (!streq_ptr(json_string_value(json_object_get(root, "homeserver")), s->homeserver) ||
            !streq_ptr(json_string_value(json_object_get(root, "user_id")), s->user_id))
                return 0;
        const struct {
                char **field;
                const char *key;
        } strings[] = {
                { &s->device_id, "device_id" },
                { &s->access_token, "access_token" },
                { &s->since, "since" },
                { &s->journal_cursor, "journal_cursor" },
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                r = set_from_json(strings[i].field, root, strings[i].key);
                if (r < 0)
                        return r;
        }
        /* Monitoring's memory (kept here before it had monitoring.json, read from there if that
         * exists) and our direct chats: objects, read as they are (alerts.c checks each value
         * before use). */
        for (int i = 0; i < 3; i++) {
                const char *key = i == 0 ? "alerts" : i == 1 ? "direct" : "encrypted";
                json_t *v = json_object_get(root, key),
                       **field = i == 0 ? &s->alerts : i == 1 ? &s->direct : &s->encrypted;
                if (v && !json_is_object(v))
                        return -EBADMSG;
                if (v) {
                        json_decref(*field);
                        *field = json_incref(v);
                }
        }
        /* To be moved to monitoring.json, and gone from here, at the next save. */
        if (json_object_get(root, "alerts"))
                s->alerts_unsaved = s->unsaved = true;
        refused = json_object_get(root, "refused_runs");
        if (refused && !json_is_array(refused))
                return -EBADMSG;
        if (refused) {
                json_decref(s->refused_runs);
                s->refused_runs = json_incref(refused);
        }
        r = parse_string_map(root, "rooms", &s->rooms);
        if (r < 0)
                return r;
        r = parse_string_map(root, "room_customers", &s->room_customers);
        if (r < 0)
                return r;
        /* A state from before rooms were bound: each customer's room is theirs. */
        json_object_foreach(s->rooms, customer, room) {
                const char *id = json_string_value(room);

                if (!json_object_get(s->room_customers, id) &&
                    json_object_set_new(s->room_customers, id, json_string(customer)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* monitoring.json, when there is one of this homeserver and account: what it holds wins over an older
 * state.json's "alerts" (a crash between writing it and state.json without them). */
static int load_alerts(State *s) {
        _cleanup_free_ char *text = NULL;
        json_auto_t *root = NULL;
        json_t *alerts;
        size_t size;
        int r;

        r = read_full_file(s->monitoring_path, MONITORING_MAX, &text, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        root = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
        alerts = json_object_get(root, "alerts");
        if (!json_is_object(root) || !json_is_object(alerts))
                return -EBADMSG;
        if (!streq_ptr(json_string_value(json_object_get(root, "homeserver")), s->homeserver) ||
            !streq_ptr(json_string_value(json_object_get(root, "user_id")), s->user_id))
                return 0;
        json_decref(s->alerts);
        s->alerts = json_incref(alerts);
        s->alerts_unsaved = false;
        return 0;
}

int state_load(const char *dir, const char *homeserver, const char *user_id, State **ret) {
        _cleanup_(state_freep) State *s = NULL;
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        s = calloc(1, sizeof(State));
        if (!s)
                return -ENOMEM;
        s->rooms = json_object();
        s->room_customers = json_object();
        s->alerts = json_object();
        s->alerts_text = json_object();
        s->direct = json_object();
        s->encrypted = json_object();
        s->refused_runs = json_array();
        if (asprintf(&s->path, "%s/state.json", dir) < 0)
                s->path = NULL;
        if (asprintf(&s->monitoring_path, "%s/monitoring.json", dir) < 0)
                s->monitoring_path = NULL;
        s->homeserver = strdup(homeserver);
        s->user_id = strdup(user_id);
        if (!s->rooms || !s->room_customers || !s->alerts || !s->alerts_text || !s->direct ||
            !s->encrypted || !s->refused_runs || !s->path || !s->monitoring_path || !s->homeserver ||
            !s->user_id)
                return -ENOMEM;

        r = read_full_file(s->path, STATE_MAX, &text, &size);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r >= 0) {
                r = state_parse(s, text, size);
                if (r < 0)
                        return r;
        }
        r = load_alerts(s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

State *state_free(State *s) {
        if (!s)
                return NULL;
        free(s->path);
        free(s->monitoring_path);
        free(s->homeserver);
        free(s->user_id);
        free(s->device_id);
        free(s->access_token);
        free(s->since);
        free(s->journal_cursor);
        json_decref(s->rooms);
        json_decref(s->room_customers);
        json_decref(s->alerts);
        json_decref(s->alerts_text);
        json_decref(s->direct);
        json_decref(s->encrypted);
        json_decref(s->refused_runs);
        free(s);
        return NULL;
}

/* Compact: written often, and read by us. It holds the access token: for our eyes only. */
static int save_json(const char *path, json_t *root) {
        _cleanup_free_ char *text = NULL;

        if (!root)
                return -ENOMEM;
        text = json_dumps(root, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        return write_file_atomic(path, text, strlen(text), 0600);
}

/* A string as JSON, quoted and escaped. */
static char *json_quote(const char *s) {
        json_auto_t *v = json_string(s);

        return v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
}

/* "customer":{memory}, from what was written last time unless the customer's memory changed since:
 * a burst of results is saved once per journal batch, and few customers change in one. */
static const char *alerts_text(State *s, const char *customer, json_t *memory) {
        _cleanup_free_ char *key = NULL, *value = NULL, *text = NULL;
        json_t *cached = json_object_get(s->alerts_text, customer);

        if (cached)
                return json_string_value(cached);
        key = json_quote(customer);
        value = json_dumps(memory, JSON_COMPACT);
        if (!key || !value || asprintf(&text, "%s:%s", key, value) < 0 ||
            json_object_set_new(s->alerts_text, customer, json_string_nocheck(text)) < 0)
                return NULL;
        return json_string_value(json_object_get(s->alerts_text, customer));
}

int state_save_alerts(State *s) {
        _cleanup_free_ char *homeserver = NULL, *user_id = NULL, *head = NULL, *text = NULL;
        const char *customer;
        size_t size, n = 0;
        json_t *memory;
        char *p;
        int r;

        if (!s->alerts_unsaved)
                return 0;
        homeserver = json_quote(s->homeserver);
        user_id = json_quote(s->user_id);
        if (!homeserver || !user_id ||
            asprintf(&head, "{\"homeserver\":%s,\"user_id\":%s,\"alerts\":{", homeserver, user_id) < 0)
                return -ENOMEM;
        /* Put together in one buffer of its size: most of a megabyte at 1,000 customers. */
        size = strlen(head) + strlen("}}");
        json_object_foreach(s->alerts, customer, memory) {
                const char *t = alerts_text(s, customer, memory);

                if (!t)
                        return -ENOMEM;
                size += strlen(t) + 1;
        }
        text = p = malloc(size + 1);
        if (!text)
                return -ENOMEM;
        p = stpcpy(p, head);
        json_object_foreach(s->alerts, customer, memory) {
                if (n++ > 0)
                        *p++ = ',';
                p = stpcpy(p, json_string_value(json_object_get(s->alerts_text, customer)));
        }
        p = stpcpy(p, "}}");
        /* What fails on the customers' servers: for our eyes only. */
        r = write_file_atomic(s->monitoring_path, text, (size_t) (p - text), 0600);
        if (r >= 0)
                s->alerts_unsaved = false;
        return r;
}

void state_changed(State *s) {
        s->unsaved = true;
        s->changes++;
}

void state_alerts_changed(State *s, const char *customer) {
        (void) json_object_del(s->alerts_text, customer);
        s->alerts_unsaved = true;
}

int state_save(State *s) {
        json_auto_t *root = NULL;
        int r;

        r = state_save_alerts(s);
        if (r < 0 || !s->unsaved)
                return r;
        root = json_pack("{s:s, s:s, s:s*, s:s*, s:s*, s:s*, s:O, s:O, s:O, s:O, s:O}", "homeserver",
                         s->homeserver, "user_id", s->user_id, "device_id", s->device_id, "access_token",
                         s->access_token, "since", s->since, "journal_cursor", s->journal_cursor, "rooms",
                         s->rooms, "room_customers", s->room_customers, "direct", s->direct, "encrypted",
                         s->encrypted, "refused_runs", s->refused_runs);
        r = save_json(s->path, root);
        if (r >= 0)
                s->unsaved = false;
        return r;
}

/* A string field, marked unsaved when it changes. */
static int set_string(State *s, char **field, const char *value) {
        if (streq_ptr(*field, value))
                return 0;
        state_changed(s);
        return free_and_strdup(field, value);
}

int state_set_session(State *s, const char *device_id, const char *access_token) {
        int r;

        r = set_string(s, &s->device_id, device_id);
        if (r < 0)
                return r;
        return set_string(s, &s->access_token, access_token);
}

int state_set_since(State *s, const char *since) {
        return set_string(s, &s->since, since);
}

int state_set_journal_cursor(State *s, const char *cursor) {
        return set_string(s, &s->journal_cursor, cursor);
}

int state_set_room(State *s, const char *customer, const char *room_id) {
        state_changed(s);
        if (json_object_set_new(s->rooms, customer, json_string(room_id)) < 0 ||
            json_object_set_new(s->room_customers, room_id, json_string(customer)) < 0)
                return -ENOMEM;
        return 0;
}

json_t *state_get_alerts(State *s, const char *customer) {
        json_t *a = json_object_get(s->alerts, customer);

        if (json_is_object(a))
                return a;
        a = json_object();
        if (!a || json_object_set_new(s->alerts, customer, a) < 0)
                return NULL;
        return a;
}

int state_note_refused_run(State *s, const char *event_id) {
        state_changed(s);
        if (json_array_append_new(s->refused_runs, json_string(event_id)) < 0)
                return -ENOMEM;
        while (json_array_size(s->refused_runs) > REFUSED_RUNS_MAX)
                (void) json_array_remove(s->refused_runs, 0);
        return 0;
}

bool state_run_refused(const State *s, const char *event_id) {
        size_t i;
        json_t *v;

        json_array_foreach(s->refused_runs, i, v)
                if (streq_ptr(json_string_value(v), event_id))
                        return true;
        return false;
}

bool state_room_encrypted(const State *s, const char *room_id) {
        return json_object_get(s->encrypted, room_id) != NULL;
}

int state_set_encrypted(State *s, const char *room_id) {
        state_changed(s);
        return json_object_set_new(s->encrypted, room_id, json_true()) < 0 ? -ENOMEM : 0;
}

const char *state_get_room(const State *s, const char *customer) {
        return json_string_value(json_object_get(s->rooms, customer));
}

bool state_room_is_customers(const State *s, const char *room_id, const char *customer) {
        return streq_ptr(json_string_value(json_object_get(s->room_customers, room_id)), customer) ||
               streq_ptr(state_get_room(s, customer), room_id);
}

bool state_room_is_others(const State *s, const char *room_id, const char *customer) {
        const char *whose = json_string_value(json_object_get(s->room_customers, room_id));

        return whose && !streq(whose, customer);
}
