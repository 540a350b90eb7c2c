/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Olm: one-to-one sessions with devices, to-device messages, and the device lists they rest on. */

#include "crypto-internal.h"

/* Sessions with a device, the one used last first; NULL if none. A lookup never makes an entry:
 * anyone can write any sender_key. */
static json_t *sessions_of(Crypto *c, const char *curve25519) {
        json_t *list = json_object_get(crypto_section(c, "olm"), curve25519);

        return json_is_array(list) ? list : NULL;
}

/* s, used now, becomes the device's first session (replacing its entry at replace, if any); the
 * device becomes the one used last. */
static int session_keep(Crypto *c, const char *curve25519, OlmSession *s, size_t replace) {
        json_t *olm = crypto_section(c, "olm"), *old = sessions_of(c, curve25519);
        _cleanup_free_ char *p = crypto_pickle_session(c, s);
        json_t *list = old ? json_incref(old) : json_array();

        if (!list || !p)
                return json_decref(list), -ENOMEM;
        if (replace != SIZE_MAX)
                (void) json_array_remove(list, replace);
        if (json_array_insert_new(list, 0, json_string(p)) < 0)
                return json_decref(list), -ENOMEM;
        while (json_array_size(list) > CRYPTO_SESSIONS_PER_PEER)
                (void) json_array_remove(list, json_array_size(list) - 1);
        (void) json_object_del(olm, curve25519);
        if (json_object_set_new(olm, curve25519, list) < 0)
                return -ENOMEM;
        c->sessions_changed++;
        if (!old)
                crypto_olm_evict(c);
        return 0;
}

static int session_decrypt(OlmSession *s, size_t type, const char *body, char **ret) {
        _cleanup_free_ char *copy = strdup(body), *copy2 = strdup(body), *plain = NULL;
        size_t max, n;

        if (!copy || !copy2)
                return -ENOMEM;
        max = olm_decrypt_max_plaintext_length(s, type, copy, strlen(copy));
        if (max == olm_error())
                return -EBADMSG;
        plain = malloc(max + 1);
        if (!plain)
                return -ENOMEM;
        n = olm_decrypt(s, type, copy2, strlen(copy2), plain, max);
        if (n == olm_error())
                return -EBADMSG;
        plain[n] = 0;
        *ret = TAKE_PTR(plain);
        return 0;
}

/* A message from the device with sender_key: an existing session, or a new one from a pre-key
 * message (which uses up one of our one-time keys). */
static int olm_decrypt_from(Crypto *c, const char *sender_key, size_t type, const char *body, char **ret) {
        json_t *list = sessions_of(c, sender_key), *p;
        size_t i;
        int r;

        json_array_foreach(list, i, p) {
                _cleanup_free_ char *copy = strdup(body);
                _cleanup_(crypto_session_freep) OlmSession *s =
                        crypto_unpickle_session(c, json_string_value(p) ?: "");

                if (!s || !copy)
                        continue;
                if (type == 0 && olm_matches_inbound_session_from(s, sender_key, strlen(sender_key), copy,
                                                                  strlen(copy)) != 1)
                        continue;
                if (session_decrypt(s, type, body, ret) >= 0)
                        return session_keep(c, sender_key, s, i);
        }
        if (type != 0)
                return -ENOKEY;

        /* Not olm_create_inbound_session_from(): libolm 3.2.13 reads the sender's identity key out of
         * the message without looking whether it is there, and a pre-key message without one
         * crashed the bot (fuzz-crypto). Without _from a message must carry that key; whether it
         * is the sender's is asked after. */
        _cleanup_free_ char *copy = strdup(body), *copy2 = strdup(body);
        _cleanup_(crypto_session_freep) OlmSession *s = crypto_session_new();
        size_t n = strlen(body);

        if (!copy || !copy2 || !s)
                return -ENOMEM;
        if (olm_create_inbound_session(s, c->account, copy, n) == olm_error() ||
            olm_matches_inbound_session_from(s, sender_key, strlen(sender_key), copy2, n) != 1)
                return -EBADMSG;
        (void) olm_remove_one_time_keys(c->account, s);
        r = session_decrypt(s, type, body, ret);
        if (r < 0)
                return r;
        return session_keep(c, sender_key, s, SIZE_MAX);
}

/* The device of user whose Curve25519 key is curve25519, from its list; NULL if unknown. */
static json_t *device_by_curve(Crypto *c, const char *user, const char *curve25519) {
        const char *id;
        json_t *d;

        json_object_foreach(json_object_get(crypto_section(c, "devices"), user), id, d)
                if (streq_ptr(json_string_value(json_object_get(d, "curve25519")), curve25519))
                        return d;
        return NULL;
}

json_t *crypto_device(Crypto *c, const char *user, const char *device) {
        return json_object_get(json_object_get(crypto_section(c, "devices"), user), device);
}

static int plaintext_check(Crypto *c, json_t *plain, const char *sender, const char *sender_key,
                           char **ret_why) {
        const char *claimed = json_string_value(json_object_get(json_object_get(plain, "keys"), "ed25519"));
        json_t *known;

        if (!streq_ptr(json_string_value(json_object_get(plain, "sender")), sender) ||
            !streq_ptr(json_string_value(json_object_get(plain, "recipient")), c->user_id) ||
            !streq_ptr(
                    json_string_value(json_object_get(json_object_get(plain, "recipient_keys"), "ed25519")),
                    c->ed25519) ||
            !json_is_object(json_object_get(plain, "content")))
                return crypto_why(ret_why, -EBADMSG,
                                  "an Olm message not meant for us, or not from its sender");
        known = device_by_curve(c, sender, sender_key);
        if (known && !streq_ptr(json_string_value(json_object_get(known, "ed25519")), claimed))
                return crypto_why(ret_why, -EPERM, "an Olm message whose signing key is not its device's");
        return 0;
}

static int forwarded_key(Crypto *c, json_t *content, const char *sender, const char *sender_key,
                         char **ret_why) {
        json_t *d = device_by_curve(c, sender, sender_key);
        const char *session_key = json_string_value(json_object_get(content, "sender_key")), *user,
                   *owner = NULL;
        json_t *devs;

        if (!streq(sender, c->user_id) || !json_is_true(json_object_get(d, "cross_signed")))
                return crypto_why(ret_why, -EPERM,
                                  "a forwarded room key not from one of our own verified devices");
        /* Whose session it is: the user of the device that made it, as far as we know them. */
        json_object_foreach(crypto_section(c, "devices"), user, devs)
                if (device_by_curve(c, user, session_key))
                        owner = user;
        if (!owner)
                return crypto_why(ret_why, -EPERM, "a forwarded room key of a device we do not know");
        return crypto_store_room_key(c, content, owner, session_key, true, ret_why);
}

int crypto_to_device(Crypto *c, json_t *event, char **ret_why) {
        json_t *content = json_object_get(event, "content"), *mine;
        const char *sender = json_string_value(json_object_get(event, "sender")),
                   *sender_key = json_string_value(json_object_get(content, "sender_key")), *type, *body;
        _cleanup_free_ char *text = NULL;
        json_auto_t *plain = NULL;
        json_int_t mtype;
        int r;

        if (!streq_ptr(json_string_value(json_object_get(event, "type")), "m.room.encrypted"))
                return 0;
        mine = json_object_get(json_object_get(content, "ciphertext"), c->curve25519);
        body = json_string_value(json_object_get(mine, "body"));
        mtype = json_integer_value(json_object_get(mine, "type"));
        if (!sender || !sender_key || !body || (mtype != 0 && mtype != 1) ||
            !streq_ptr(json_string_value(json_object_get(content, "algorithm")), OLM_ALGORITHM))
                return crypto_why(ret_why, -EBADMSG, "an encrypted to-device message not for this device");
        if (!crypto_key_valid(sender_key))
                return crypto_why(ret_why, -EBADMSG, "its sender_key is not a Curve25519 key");
        r = olm_decrypt_from(c, sender_key, (size_t) mtype, body, &text);
        if (r < 0)
                return crypto_why(ret_why, r,
                                  r == -ENOKEY ? "no Olm session with its device" : "it does not decrypt");
        plain = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        r = plaintext_check(c, plain, sender, sender_key, ret_why);
        if (r < 0)
                return r;
        type = json_string_value(json_object_get(plain, "type"));
        if (streq_ptr(type, "m.room_key"))
                return crypto_store_room_key(c, json_object_get(plain, "content"), sender, sender_key, false,
                                             ret_why);
        if (streq_ptr(type, "m.forwarded_room_key"))
                return forwarded_key(c, json_object_get(plain, "content"), sender, sender_key, ret_why);
        return 0;
}

bool crypto_devices_changed(Crypto *c, const char *user_id) {
        json_t *stale = crypto_section(c, "stale");

        if (!user_id || !json_object_get(crypto_section(c, "devices"), user_id) ||
            json_object_get(stale, user_id))
                return false;
        return json_object_set_new(stale, user_id, json_true()) >= 0;
}

char **crypto_devices_unknown(Crypto *c, char **members) {
        char **users = NULL;

        for (char **u = members; u && *u; u++)
                if (!json_object_get(crypto_section(c, "devices"), *u) ||
                    json_object_get(crypto_section(c, "stale"), *u))
                        if (strv_extend(&users, *u) < 0)
                                return strv_free(users), NULL;
        return users;
}

/* A device's keys as /keys/query gives them, checked: its ids, its own signature, and the same
 * signing key as the first time we saw it. */
static json_t *device_checked(Crypto *c, const char *user, const char *id, json_t *keys, json_t *old) {
        _cleanup_free_ char *ed_id = NULL, *curve_id = NULL, *ssk_id = NULL;
        const char *ed, *curve, *ssk;

        if (asprintf(&ed_id, "ed25519:%s", id) < 0 || asprintf(&curve_id, "curve25519:%s", id) < 0)
                return NULL;
        ed = json_string_value(json_object_get(json_object_get(keys, "keys"), ed_id));
        curve = json_string_value(json_object_get(json_object_get(keys, "keys"), curve_id));
        if (!streq_ptr(json_string_value(json_object_get(keys, "user_id")), user) ||
            !streq_ptr(json_string_value(json_object_get(keys, "device_id")), id) || !crypto_key_valid(ed) ||
            !crypto_key_valid(curve) || !crypto_verify_json(keys, user, ed_id, ed))
                return NULL;
        if (old && !streq_ptr(json_string_value(json_object_get(old, "ed25519")), ed))
                return NULL;
        ssk = json_string_value(json_object_get(json_object_get(c->store, "cross_signing"), "self_signing"));
        if (ssk && asprintf(&ssk_id, "ed25519:%s", ssk) < 0)
                return NULL;
        return json_pack("{s:s, s:s, s:b}", "curve25519", curve, "ed25519", ed, "cross_signed",
                         streq(user, c->user_id) && ssk && crypto_verify_json(keys, user, ssk_id, ssk));
}

int crypto_devices_update(Crypto *c, json_t *response, char **users) {
        json_t *all = crypto_section(c, "devices");

        for (char **u = users; u && *u; u++) {
                json_t *given = json_object_get(json_object_get(response, "device_keys"), *u), *keys;
                json_t *old = json_object_get(all, *u), *now = json_object();
                const char *id;

                if (!now)
                        return -ENOMEM;
                json_object_foreach(given, id, keys) {
                        json_t *was = json_object_get(old, id), *d;

                        /* A homeserver may list any number: the first ones are enough for a bot. */
                        if (json_object_size(now) >= CRYPTO_DEVICES_PER_USER)
                                break;
                        d = device_checked(c, *u, id, keys, was);
                        /* A known device with another signing key now: we keep what we knew. */
                        if (!d && was)
                                d = json_incref(was);
                        if (d && json_object_set_new(now, id, d) < 0)
                                return json_decref(now), -ENOMEM;
                }
                if (json_object_set_new(all, *u, now) < 0)
                        return -ENOMEM;
                (void) json_object_del(crypto_section(c, "stale"), *u);
        }
        json_object_clear(c->no_otk);
        return 0;
}

json_t *crypto_device_map_add(json_t *map, const char *user, const char *device, json_t *value) {
        json_t *u = json_object_get(map, user);

        if (!u) {
                u = json_object();
                if (!u || json_object_set_new(map, user, u) < 0)
                        return json_decref(value), NULL;
        }
        return json_object_set_new(u, device, value) < 0 ? NULL : value;
}

static bool has_session(Crypto *c, json_t *device) {
        return json_array_size(json_object_get(crypto_section(c, "olm"),
                                               json_string_value(json_object_get(device, "curve25519")))) >
               0;
}

int crypto_claim_body(Crypto *c, const char *room_id, char **members, json_t **ret) {
        json_auto_t *claim = json_object();

        if (!claim)
                return -ENOMEM;
        for (char **u = members; u && *u; u++) {
                const char *id;
                json_t *d;

                json_object_foreach(json_object_get(crypto_section(c, "devices"), *u), id, d) {
                        _cleanup_free_ char *key = NULL;
                        if (streq(*u, c->user_id) && streq(id, c->device_id))
                                continue;
                        if (asprintf(&key, "%s %s", *u, id) < 0)
                                return -ENOMEM;
                        if (has_session(c, d) || json_object_get(c->no_otk, key))
                                continue;
                        if (!crypto_device_map_add(claim, *u, id, json_string("signed_curve25519")))
                                return -ENOMEM;
                }
        }
        *ret = json_object_size(claim) > 0 ? json_pack("{s:O}", "one_time_keys", claim) : NULL;
        return 0;
}

static int session_from_otk(Crypto *c, json_t *device, const char *user, const char *id, json_t *otks) {
        const char *curve = json_string_value(json_object_get(device, "curve25519")), *name, *otk = NULL;
        _cleanup_free_ char *ed_id = NULL;
        _cleanup_free_ uint8_t *random = NULL;
        OlmSession *s;
        json_t *v;
        size_t n;
        int r;

        if (asprintf(&ed_id, "ed25519:%s", id) < 0)
                return -ENOMEM;
        json_object_foreach(otks, name, v)
                if (startswith(name, "signed_curve25519:") &&
                    crypto_verify_json(v, user, ed_id,
                                       json_string_value(json_object_get(device, "ed25519"))))
                        otk = json_string_value(json_object_get(v, "key"));
        if (!otk || !curve)
                return -EBADMSG;
        s = crypto_session_new();
        if (!s)
                return -ENOMEM;
        n = olm_create_outbound_session_random_length(s);
        random = crypto_random(n);
        if (!random)
                r = -ENOMEM;
        else if (olm_create_outbound_session(s, c->account, curve, strlen(curve), otk, strlen(otk), random,
                                             n) == olm_error())
                r = -EBADMSG;
        else
                r = session_keep(c, curve, s, SIZE_MAX);
        crypto_session_free(s);
        return r;
}

int crypto_claimed(Crypto *c, json_t *claim_body, json_t *response) {
        json_t *asked = json_object_get(claim_body, "one_time_keys"), *devices;
        const char *user;

        json_object_foreach(asked, user, devices) {
                const char *id;
                json_t *unused;

                json_object_foreach(devices, id, unused) {
                        json_t *otks = json_object_get(
                                json_object_get(json_object_get(response, "one_time_keys"), user), id);
                        json_t *d = crypto_device(c, user, id);
                        _cleanup_free_ char *key = NULL;
                        int r;

                        if (!d)
                                continue;
                        r = session_from_otk(c, d, user, id, otks);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0 && (asprintf(&key, "%s %s", user, id) < 0 ||
                                      json_object_set_new(c->no_otk, key, json_true()) < 0))
                                return -ENOMEM;
                }
        }
        return 0;
}

/* type/content to one device over Olm: its to-device m.room.encrypted content. */
int crypto_olm_encrypt(Crypto *c, const char *user, json_t *d, const char *type, json_t *content,
                       json_t **ret) {
        const char *curve = json_string_value(json_object_get(d, "curve25519"));
        json_t *list = json_object_get(crypto_section(c, "olm"), curve);
        _cleanup_free_ char *text = NULL, *msg = NULL;
        _cleanup_free_ uint8_t *random = NULL;
        json_auto_t *plain = NULL;
        _cleanup_(crypto_session_freep) OlmSession *s = NULL;
        size_t n, len, mtype;
        int r;

        s = json_array_size(list) > 0
                    ? crypto_unpickle_session(c, json_string_value(json_array_get(list, 0)) ?: "")
                    : NULL;
        if (!s)
                return -ENOKEY;
        plain = json_pack("{s:s, s:O, s:s, s:s, s:{s:s}, s:s, s:{s:O}}", "type", type, "content", content,
                          "sender", c->user_id, "sender_device", c->device_id, "keys", "ed25519", c->ed25519,
                          "recipient", user, "recipient_keys", "ed25519", json_object_get(d, "ed25519"));
        text = plain ? json_dumps(plain, JSON_COMPACT) : NULL;
        if (!text)
                return -ENOMEM;
        n = olm_encrypt_random_length(s);
        random = crypto_random(n);
        len = olm_encrypt_message_length(s, strlen(text));
        msg = malloc(len + 1);
        if (!random || !msg)
                return -ENOMEM;
        mtype = olm_encrypt_message_type(s);
        if (olm_encrypt(s, text, strlen(text), random, n, msg, len) == olm_error())
                return -EIO;
        msg[len] = 0;
        r = session_keep(c, curve, s, 0);
        if (r < 0)
                return r;
        *ret = json_pack("{s:s, s:s, s:{s:{s:i, s:s}}}", "algorithm", OLM_ALGORITHM, "sender_key",
                         c->curve25519, "ciphertext", curve, "type", (int) mtype, "body", msg);
        return *ret ? 0 : -ENOMEM;
}
