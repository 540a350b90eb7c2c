/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Megolm: room sessions, ours (outbound, shared with every device of every member) and the
 * members' (inbound, from their m.room_key), and the rooms' encryption settings. */

#include <olm/inbound_group_session.h>
#include <olm/outbound_group_session.h>
#include <inttypes.h>
#include <time.h>

#include "crypto-internal.h"

#define ROTATION_MS_DEFAULT (7ULL * 24ULL * 3600ULL * 1000ULL)
#define ROTATION_MSGS_DEFAULT 100

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000ULL + (uint64_t) ts.tv_nsec / 1000000ULL;
}

static OlmInboundGroupSession *inbound_new(void) {
        void *mem = malloc(olm_inbound_group_session_size());
        return mem ? olm_inbound_group_session(mem) : NULL;
}

static void inbound_free(OlmInboundGroupSession *s) {
        if (!s)
                return;
        olm_clear_inbound_group_session(s);
        free(s);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(OlmInboundGroupSession *, inbound_free);

static OlmOutboundGroupSession *outbound_new(void) {
        void *mem = malloc(olm_outbound_group_session_size());
        return mem ? olm_outbound_group_session(mem) : NULL;
}

static void outbound_free(OlmOutboundGroupSession *s) {
        if (!s)
                return;
        olm_clear_outbound_group_session(s);
        free(s);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(OlmOutboundGroupSession *, outbound_free);

static char *inbound_pickle(Crypto *c, OlmInboundGroupSession *s) {
        size_t n = olm_pickle_inbound_group_session_length(s);
        char *p = malloc(n + 1);

        if (!p || olm_pickle_inbound_group_session(s, c->key, c->key_len, p, n) == olm_error())
                return mfree(p);
        p[n] = 0;
        return p;
}

static OlmInboundGroupSession *inbound_unpickle(Crypto *c, const char *pickled) {
        _cleanup_free_ char *copy = strdup(pickled ?: "");
        _cleanup_(inbound_freep) OlmInboundGroupSession *s = inbound_new();

        if (!copy || !s ||
            olm_unpickle_inbound_group_session(s, c->key, c->key_len, copy, strlen(copy)) == olm_error())
                return NULL;
        return TAKE_PTR(s);
}

static char *outbound_pickle(Crypto *c, OlmOutboundGroupSession *s) {
        size_t n = olm_pickle_outbound_group_session_length(s);
        char *p = malloc(n + 1);

        if (!p || olm_pickle_outbound_group_session(s, c->key, c->key_len, p, n) == olm_error())
                return mfree(p);
        p[n] = 0;
        return p;
}

static OlmOutboundGroupSession *outbound_unpickle(Crypto *c, const char *pickled) {
        _cleanup_free_ char *copy = strdup(pickled ?: "");
        _cleanup_(outbound_freep) OlmOutboundGroupSession *s = outbound_new();

        if (!copy || !s ||
            olm_unpickle_outbound_group_session(s, c->key, c->key_len, copy, strlen(copy)) == olm_error())
                return NULL;
        return TAKE_PTR(s);
}

static bool is_member(Crypto *c, const char *room_id, const char *user_id) {
        return json_object_get(json_object_get(c->members, room_id), user_id) != NULL;
}

/* The session a room key's content opens, if it is the session the content names. */
static OlmInboundGroupSession *room_key_session(json_t *content, bool forwarded) {
        const char *session_id = json_string_value(json_object_get(content, "session_id")),
                   *key = json_string_value(json_object_get(content, "session_key"));
        _cleanup_free_ char *copy = strdup(key ?: "");
        _cleanup_(inbound_freep) OlmInboundGroupSession *s = inbound_new();
        uint8_t sid[128];
        size_t n;

        if (!copy || !s || !session_id ||
            (forwarded ? olm_import_inbound_group_session(s, (uint8_t *) copy, strlen(copy))
                       : olm_init_inbound_group_session(s, (uint8_t *) copy, strlen(copy))) == olm_error())
                return NULL;
        n = olm_inbound_group_session_id(s, sid, sizeof(sid) - 1);
        if (n == olm_error() || strlen(session_id) != n || memcmp(sid, session_id, n) != 0)
                return NULL;
        return TAKE_PTR(s);
}

static size_t pending_of(Crypto *c, const char *sender) {
        size_t n = 0, i;
        json_t *p;

        json_array_foreach(c->pending, i, p)
                n += streq_ptr(json_string_value(json_object_get(p, "sender")), sender);
        return n;
}

/* A key whose sender we have not seen in its room waits for them, a few at a time. Full, the
 * oldest key of whoever has the most waiting goes: a stranger's flood pushes out only their own. */
static int room_key_wait(Crypto *c, json_t *content, const char *sender, const char *sender_key) {
        json_t *p = json_pack("{s:O, s:s, s:s}", "content", content, "sender", sender, "sender_key",
                              sender_key), *q;
        size_t i, most = 0, victim = 0;

        if (!p || json_array_append_new(c->pending, p) < 0)
                return -ENOMEM;
        if (json_array_size(c->pending) <= CRYPTO_PENDING_MAX)
                return 0;
        json_array_foreach(c->pending, i, q) {
                size_t k = pending_of(c, json_string_value(json_object_get(q, "sender")));
                if (k > most) {
                        most = k;
                        victim = i;
                }
        }
        (void) json_array_remove(c->pending, victim);
        return 0;
}

int crypto_store_room_key(Crypto *c, json_t *content, const char *sender, const char *sender_key,
                          bool forwarded, char **ret_why) {
        const char *room = json_string_value(json_object_get(content, "room_id")),
                   *session_id = json_string_value(json_object_get(content, "session_id"));
        _cleanup_free_ char *id = NULL, *pickle = NULL;
        _cleanup_(inbound_freep) OlmInboundGroupSession *s = NULL;
        json_t *old, *entry;

        if (!room || !session_id || !crypto_key_valid(sender_key) ||
            !streq_ptr(json_string_value(json_object_get(content, "algorithm")), MEGOLM_ALGORITHM))
                return crypto_why(ret_why, -EBADMSG, "a room key without its room, session or key");
        /* Anyone may send us to-device messages: keep keys only for the encrypted rooms we are in. */
        if (!crypto_room_encrypted(c, room))
                return crypto_why(ret_why, -EPERM, "a room key for a room we are not in");
        s = room_key_session(content, forwarded);
        if (!s)
                return crypto_why(ret_why, -EBADMSG, "a room key that is not the session it names");
        /* ... and only from a member of that room. */
        if (!forwarded && !is_member(c, room, sender))
                return room_key_wait(c, content, sender, sender_key);
        id = crypto_inbound_id(room, sender_key, session_id);
        if (!id)
                return -ENOMEM;
        /* A key we have from an earlier index stays: a later one would lose messages. */
        old = json_object_get(crypto_section(c, "inbound"), id);
        if (json_is_integer(json_object_get(old, "first")) &&
            json_integer_value(json_object_get(old, "first")) <=
                    olm_inbound_group_session_first_known_index(s))
                return 0;
        pickle = inbound_pickle(c, s);
        entry = pickle ? json_pack("{s:s, s:s, s:I, s:o}", "pickle", pickle, "sender", sender, "first",
                                   (json_int_t) olm_inbound_group_session_first_known_index(s), "seen",
                                   json_object())
                       : NULL;
        /* The same session from an earlier index: what it has seen stays seen (replays). */
        if (entry && old && json_is_object(json_object_get(old, "seen")) &&
            (json_object_set(entry, "seen", json_object_get(old, "seen")) < 0 ||
             (json_object_get(old, "floor") &&
              json_object_set(entry, "floor", json_object_get(old, "floor")) < 0)))
                return json_decref(entry), -ENOMEM;
        (void) json_object_del(crypto_section(c, "inbound"), id);
        if (!entry || json_object_set_new(crypto_section(c, "inbound"), id, entry) < 0)
                return -ENOMEM;
        crypto_inbound_evict(c, room, sender_key);
        return 1;
}

int crypto_room_member(Crypto *c, const char *room_id, const char *user_id, bool member) {
        json_t *room = json_object_get(c->members, room_id), *p;
        int kept = 0, r;

        if (!member) {
                (void) json_object_del(room, user_id);
                return 0;
        }
        if (!crypto_room_encrypted(c, room_id) || is_member(c, room_id, user_id))
                return 0;
        if (!room) {
                room = json_object();
                if (!room || json_object_set_new(c->members, room_id, room) < 0)
                        return -ENOMEM;
        }
        if (json_object_size(room) >= CRYPTO_MEMBERS_PER_ROOM ||
            json_object_set_new(room, user_id, json_true()) < 0)
                return json_object_size(room) >= CRYPTO_MEMBERS_PER_ROOM ? 0 : -ENOMEM;
        for (size_t i = json_array_size(c->pending); i > 0; i--) {
                p = json_array_get(c->pending, i - 1);
                json_t *content = json_object_get(p, "content");
                if (!streq_ptr(json_string_value(json_object_get(p, "sender")), user_id) ||
                    !streq_ptr(json_string_value(json_object_get(content, "room_id")), room_id))
                        continue;
                r = crypto_store_room_key(c, content, user_id,
                                          json_string_value(json_object_get(p, "sender_key")), false, NULL);
                if (r == -ENOMEM)
                        return r;
                kept += r > 0;
                (void) json_array_remove(c->pending, i - 1);
        }
        return kept;
}

static int group_decrypt(OlmInboundGroupSession *s, const char *ciphertext, char **ret,
                         uint32_t *ret_index) {
        _cleanup_free_ char *copy = strdup(ciphertext), *copy2 = strdup(ciphertext), *plain = NULL;
        size_t max, n;

        if (!copy || !copy2)
                return -ENOMEM;
        max = olm_group_decrypt_max_plaintext_length(s, (uint8_t *) copy, strlen(copy));
        if (max == olm_error())
                return -EBADMSG;
        plain = malloc(max + 1);
        if (!plain)
                return -ENOMEM;
        n = olm_group_decrypt(s, (uint8_t *) copy2, strlen(copy2), (uint8_t *) plain, max, ret_index);
        if (n == olm_error())
                return -EBADMSG;
        plain[n] = 0;
        *ret = TAKE_PTR(plain);
        return 0;
}

/* Whether event_id may use index of the session: a second event at an index seen is a replay.
 * The last CRYPTO_SEEN_MAX indices are remembered; one below them ("floor") is refused. */
static int seen_check(json_t *entry, uint32_t index, const char *event_id) {
        json_t *seen = json_object_get(entry, "seen");
        char key[16];
        const char *before;

        if (!json_is_object(seen)) {
                seen = json_object();
                if (!seen || json_object_set_new(entry, "seen", seen) < 0)
                        return -ENOMEM;
        }
        snprintf(key, sizeof(key), "%" PRIu32, index);
        before = json_string_value(json_object_get(seen, key));
        if (before)
                return streq(before, event_id) ? 0 : -EEXIST;
        if ((json_int_t) index < json_integer_value(json_object_get(entry, "floor")))
                return -EEXIST;
        if (json_object_set_new(seen, key, json_string(event_id)) < 0)
                return -ENOMEM;
        (void) crypto_seen_trim(entry);
        return 0;
}

int crypto_room_decrypt(Crypto *c, const char *room_id, json_t *event, json_t **ret, char **ret_why) {
        json_t *content = json_object_get(event, "content"), *entry;
        const char *sender = json_string_value(json_object_get(event, "sender")),
                   *event_id = json_string_value(json_object_get(event, "event_id")),
                   *sender_key = json_string_value(json_object_get(content, "sender_key")),
                   *session_id = json_string_value(json_object_get(content, "session_id")),
                   *ciphertext = json_string_value(json_object_get(content, "ciphertext"));
        _cleanup_free_ char *id = NULL, *text = NULL;
        json_auto_t *plain = NULL;
        OlmInboundGroupSession *s;
        uint32_t index = 0;
        int r;

        if (!sender || !event_id || !sender_key || !session_id || !ciphertext ||
            !streq_ptr(json_string_value(json_object_get(content, "algorithm")), MEGOLM_ALGORITHM))
                return crypto_why(ret_why, -EBADMSG, "not a Megolm message");
        id = crypto_inbound_id(room_id, sender_key, session_id);
        if (!id)
                return -ENOMEM;
        entry = json_object_get(crypto_section(c, "inbound"), id);
        if (!entry)
                return crypto_why(ret_why, -ENOKEY, "its session's key has not reached us");
        if (!streq_ptr(json_string_value(json_object_get(entry, "sender")), sender))
                return crypto_why(ret_why, -EPERM, "its session is not its sender's");
        s = inbound_unpickle(c, json_string_value(json_object_get(entry, "pickle")));
        if (!s)
                return crypto_why(ret_why, -EBADMSG, "its session in the store does not open");
        r = group_decrypt(s, ciphertext, &text, &index);
        inbound_free(s);
        if (r < 0)
                return crypto_why(ret_why, r, "it does not decrypt");
        r = seen_check(entry, index, event_id);
        if (r < 0)
                return crypto_why(ret_why, r, "it repeats an earlier message (a replay)");
        if (crypto_touch(crypto_section(c, "inbound"), id) < 0)
                return -ENOMEM;
        plain = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);   /* as /sync: matrix.c */
        if (!json_is_string(json_object_get(plain, "type")) ||
            !json_is_object(json_object_get(plain, "content")) ||
            !streq_ptr(json_string_value(json_object_get(plain, "room_id")), room_id))
                return crypto_why(ret_why, -EBADMSG, "its plaintext is not an event of this room");
        *ret = TAKE_PTR(plain);
        return 0;
}

json_t *crypto_key_request(Crypto *c, const char *room_id, json_t *content, char **ret_request_id) {
        const char *session_id = json_string_value(json_object_get(content, "session_id"));
        char *request_id;

        if (!session_id || asprintf(&request_id, "%016llx", (unsigned long long) hash_fnv1a(session_id)) < 0)
                return NULL;
        *ret_request_id = request_id;
        return json_pack("{s:s, s:{s:s, s:s, s:s?, s:s}, s:s, s:s}", "action", "request", "body",
                         "algorithm", MEGOLM_ALGORITHM, "room_id", room_id, "sender_key",
                         json_string_value(json_object_get(content, "sender_key")), "session_id", session_id,
                         "request_id", request_id, "requesting_device_id", c->device_id);
}

bool crypto_room_encrypted(const Crypto *c, const char *room_id) {
        return c && json_object_get(json_object_get(c->store, "rooms"), room_id);
}

int crypto_room_set_encryption(Crypto *c, const char *room_id, json_t *content) {
        json_t *ms = json_object_get(content, "rotation_period_ms"),
               *msgs = json_object_get(content, "rotation_period_msgs");

        if (!streq_ptr(json_string_value(json_object_get(content, "algorithm")), MEGOLM_ALGORITHM))
                return -EOPNOTSUPP;
        return json_object_set_new(crypto_section(c, "rooms"), room_id,
                                   json_pack("{s:I, s:I}", "rotation_period_ms",
                                             json_integer_value(ms) > 0 ? json_integer_value(ms)
                                                                        : (json_int_t) ROTATION_MS_DEFAULT,
                                             "rotation_period_msgs",
                                             json_integer_value(msgs) > 0 ? json_integer_value(msgs)
                                                                          : ROTATION_MSGS_DEFAULT)) < 0
                       ? -ENOMEM
                       : 0;
}

void crypto_room_rotate(Crypto *c, const char *room_id) {
        (void) json_object_del(crypto_section(c, "outbound"), room_id);
}

/* Our session for the room, a new one when there is none or it is due for rotation. */
static json_t *outbound_current(Crypto *c, const char *room_id, bool create) {
        json_t *out = json_object_get(crypto_section(c, "outbound"), room_id),
               *room = json_object_get(crypto_section(c, "rooms"), room_id);
        _cleanup_free_ uint8_t *random = NULL;
        _cleanup_free_ char *pickle = NULL;
        _cleanup_(outbound_freep) OlmOutboundGroupSession *s = NULL;
        size_t n;

        if (out &&
            now_ms() - (uint64_t) json_integer_value(json_object_get(out, "created")) <
                    (uint64_t) json_integer_value(json_object_get(room, "rotation_period_ms")) &&
            json_integer_value(json_object_get(out, "messages")) <
                    json_integer_value(json_object_get(room, "rotation_period_msgs")))
                return out;
        if (!create)
                return NULL;
        s = outbound_new();
        if (!s)
                return NULL;
        n = olm_init_outbound_group_session_random_length(s);
        random = crypto_random(n);
        if (random && olm_init_outbound_group_session(s, random, n) != olm_error())
                pickle = outbound_pickle(c, s);
        if (!pickle)
                return NULL;
        out = json_pack("{s:s, s:I, s:i, s:o}", "pickle", pickle, "created", (json_int_t) now_ms(),
                        "messages", 0, "shared", json_object());
        if (!out || json_object_set_new(crypto_section(c, "outbound"), room_id, out) < 0)
                return NULL;
        return out;
}

static bool shared_with(json_t *out, const char *user, const char *device) {
        return json_object_get(json_object_get(json_object_get(out, "shared"), user), device);
}

/* Calls f for each device of members but ours, as "user", "device", keys. */
#define FOREACH_MEMBER_DEVICE(c, members, u, id, d)                                                         \
        for (char **u = (members); u && *u; u++)                                                            \
                json_object_foreach(json_object_get(crypto_section(c, "devices"), *u), id, d)               \
                        if (!streq(*u, (c)->user_id) || !streq(id, (c)->device_id))

bool crypto_room_ready(Crypto *c, const char *room_id, char **members) {
        json_t *out = outbound_current(c, room_id, false), *d;
        _cleanup_strv_free_ char **unknown = crypto_devices_unknown(c, members);
        const char *id;

        if (!out || unknown)
                return false;
        FOREACH_MEMBER_DEVICE(c, members, u, id, d) {
                _cleanup_free_ char *key = NULL;
                if (shared_with(out, *u, id))
                        continue;
                if (asprintf(&key, "%s %s", *u, id) < 0 || !json_object_get(c->no_otk, key))
                        return false;
        }
        return true;
}

static json_t *room_key_content(Crypto *c, const char *room_id, json_t *out) {
        _cleanup_(outbound_freep) OlmOutboundGroupSession *s =
                outbound_unpickle(c, json_string_value(json_object_get(out, "pickle")));
        _cleanup_free_ char *id = NULL, *key = NULL;
        size_t n, k;

        if (!s)
                return NULL;
        n = olm_outbound_group_session_id_length(s);
        k = olm_outbound_group_session_key_length(s);
        id = calloc(1, n + 1);
        key = calloc(1, k + 1);
        if (!id || !key || olm_outbound_group_session_id(s, (uint8_t *) id, n) == olm_error() ||
            olm_outbound_group_session_key(s, (uint8_t *) key, k) == olm_error())
                return NULL;
        return json_pack("{s:s, s:s, s:s, s:s}", "algorithm", MEGOLM_ALGORITHM, "room_id", room_id,
                         "session_id", id, "session_key", key);
}

int crypto_share_body(Crypto *c, const char *room_id, char **members, json_t **ret,
                      json_t **ret_recipients) {
        json_t *out = outbound_current(c, room_id, true), *d;
        json_auto_t *key = NULL, *messages = json_object(), *recipients = json_object();
        const char *id;
        int r;

        if (!out || !messages || !recipients)
                return -ENOMEM;
        key = room_key_content(c, room_id, out);
        if (!key)
                return -ENOMEM;
        FOREACH_MEMBER_DEVICE(c, members, u, id, d) {
                json_t *enc = NULL;
                if (shared_with(out, *u, id))
                        continue;
                r = crypto_olm_encrypt(c, *u, d, "m.room_key", key, &enc);
                if (r == -ENOKEY)
                        continue; /* no session: no one-time key could be claimed */
                if (r < 0)
                        return r;
                if (!crypto_device_map_add(messages, *u, id, enc) ||
                    !crypto_device_map_add(recipients, *u, id, json_true()))
                        return -ENOMEM;
        }
        if (json_object_size(messages) == 0) {
                *ret = NULL;
                *ret_recipients = NULL;
                return 0;
        }
        *ret = json_pack("{s:O}", "messages", messages);
        *ret_recipients = TAKE_PTR(recipients);
        return *ret ? 0 : -ENOMEM;
}

void crypto_shared(Crypto *c, const char *room_id, json_t *recipients) {
        json_t *shared = json_object_get(json_object_get(crypto_section(c, "outbound"), room_id), "shared"),
               *devs;
        const char *user;

        if (!shared)
                return;
        json_object_foreach(recipients, user, devs) {
                json_t *mine = json_object_get(shared, user);
                if (!mine) {
                        mine = json_object();
                        if (!mine || json_object_set_new(shared, user, mine) < 0)
                                return;
                }
                (void) json_object_update(mine, devs);
        }
}

int crypto_room_encrypt(Crypto *c, const char *room_id, const char *type, json_t *content, json_t **ret) {
        json_t *out = outbound_current(c, room_id, false), *rel;
        _cleanup_free_ char *text = NULL, *msg = NULL, *pickle = NULL, *sid = NULL;
        json_auto_t *plain = NULL, *enc = NULL;
        _cleanup_(outbound_freep) OlmOutboundGroupSession *s = NULL;
        size_t len, n;

        if (!out)
                return -ENOKEY;
        s = outbound_unpickle(c, json_string_value(json_object_get(out, "pickle")));
        if (!s)
                return -EBADMSG;
        plain = json_pack("{s:s, s:O, s:s}", "type", type, "content", content, "room_id", room_id);
        text = plain ? json_dumps(plain, JSON_COMPACT) : NULL;
        len = text ? olm_group_encrypt_message_length(s, strlen(text)) : 0;
        n = olm_outbound_group_session_id_length(s);
        msg = text ? malloc(len + 1) : NULL;
        sid = calloc(1, n + 1);
        if (!msg || !sid ||
            olm_group_encrypt(s, (uint8_t *) text, strlen(text), (uint8_t *) msg, len) == olm_error() ||
            olm_outbound_group_session_id(s, (uint8_t *) sid, n) == olm_error())
                return -ENOMEM;
        pickle = outbound_pickle(c, s);
        if (!pickle)
                return -ENOMEM;
        msg[len] = 0;
        enc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "algorithm", MEGOLM_ALGORITHM, "sender_key",
                        c->curve25519, "ciphertext", msg, "session_id", sid, "device_id", c->device_id);
        if (!enc || json_object_set_new(out, "pickle", json_string(pickle)) < 0 ||
            json_object_set_new(out, "messages",
                                json_integer(json_integer_value(json_object_get(out, "messages")) + 1)) < 0)
                return -ENOMEM;
        /* An edit's relation stays readable to the homeserver, as clients expect. */
        rel = json_object_get(content, "m.relates_to");
        if (streq_ptr(json_string_value(json_object_get(rel, "rel_type")), "m.replace") &&
            json_object_set(enc, "m.relates_to", rel) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(enc);
        return 0;
}
