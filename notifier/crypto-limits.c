/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The bounds of what the store keeps from outside: Olm sessions by peer, Megolm sessions by room
 * and sender, the indices each has seen, devices by user. New entries push out those used longest
 * ago; a store that holds more at start (an older bot's, or one edited by hand) is trimmed. */

#include <inttypes.h>

#include "crypto-internal.h"

int crypto_touch(json_t *section, const char *key) {
        _cleanup_free_ char *k = strdup(key);
        json_t *v = json_object_get(section, key);

        if (!v)
                return 0;
        if (!k)
                return -ENOMEM;
        json_incref(v);
        (void) json_object_del(section, k);
        return json_object_set_new(section, k, v) < 0 ? -ENOMEM : 0;
}

/* Drops the oldest keys of section, but those in spare, until it holds target; how many. */
static size_t evict_oldest(json_t *section, size_t target, json_t *spare) {
        const char *key;
        size_t n = 0;
        json_t *v;
        void *tmp;

        json_object_foreach_safe(section, tmp, key, v) {
                if (json_object_size(section) <= target)
                        break;
                if (spare && json_object_get(spare, key))
                        continue;
                (void) json_object_del(section, key);
                n++;
        }
        return n;
}

/* The Curve25519 keys of the devices of users we asked for (members of our rooms), as a set. */
static json_t *known_curves(Crypto *c) {
        json_t *set = json_object(), *devs, *d;
        const char *user, *id;

        json_object_foreach(crypto_section(c, "devices"), user, devs)
                json_object_foreach(devs, id, d) {
                        const char *curve = json_string_value(json_object_get(d, "curve25519"));
                        if (set && curve && json_object_set_new(set, curve, json_true()) < 0)
                                return json_decref(set), NULL;
                }
        return set;
}

/* Evicts a tenth below the limit at once: a flood costs one walk per tenth, not one per event. */
static size_t olm_evict(Crypto *c) {
        json_t *olm = crypto_section(c, "olm");
        size_t target = CRYPTO_PEERS_MAX - CRYPTO_PEERS_MAX / 10, n;
        json_auto_t *known = NULL;

        if (json_object_size(olm) <= CRYPTO_PEERS_MAX)
                return 0;
        known = known_curves(c);
        n = evict_oldest(olm, target, known);
        return n + evict_oldest(olm, target, NULL);
}

void crypto_olm_evict(Crypto *c) {
        (void) olm_evict(c);
}

char *crypto_inbound_id(const char *room_id, const char *sender_key, const char *session_id) {
        char *id;
        return asprintf(&id, "%s|%s|%s", room_id, sender_key, session_id) < 0 ? NULL : id;
}

/* "room|sender_key|" of an inbound id (room ids may hold '|', keys and session ids do not). */
static char *sender_prefix(const char *id) {
        const char *last = strrchr(id, '|');
        return last ? strndup(id, (size_t) (last - id) + 1) : NULL;
}

static size_t inbound_evict_sender(json_t *inbound, const char *prefix) {
        size_t count = 0, n = 0;
        const char *id;
        json_t *v;
        void *tmp;

        json_object_foreach(inbound, id, v)
                if (startswith(id, prefix))
                        count++;
        json_object_foreach_safe(inbound, tmp, id, v) {
                if (count <= CRYPTO_INBOUND_PER_SENDER)
                        break;
                if (!startswith(id, prefix))
                        continue;
                (void) json_object_del(inbound, id);
                count--;
                n++;
        }
        return n;
}

void crypto_inbound_evict(Crypto *c, const char *room_id, const char *sender_key) {
        json_t *inbound = crypto_section(c, "inbound");
        _cleanup_free_ char *prefix = NULL;

        if (asprintf(&prefix, "%s|%s|", room_id, sender_key) >= 0)
                (void) inbound_evict_sender(inbound, prefix);
        if (json_object_size(inbound) > CRYPTO_INBOUND_MAX)
                (void) evict_oldest(inbound, CRYPTO_INBOUND_MAX - CRYPTO_INBOUND_MAX / 10, NULL);
}

/* An index of a session's "seen" map, or -1. */
static int64_t seen_index(const char *key) {
        char *end;
        unsigned long long v;

        if (!key[0] || key[0] == '-' || strlen(key) > 10)
                return -1;
        errno = 0;
        v = strtoull(key, &end, 10);
        return errno || *end || v > UINT32_MAX ? -1 : (int64_t) v;
}

/* The seen map held to CRYPTO_SEEN_MAX: the lowest indices go, and "floor" says that anything
 * below the lowest kept is refused as a replay. What was dropped. */
size_t crypto_seen_trim(json_t *entry) {
        json_t *seen = json_object_get(entry, "seen"), *v;
        size_t n = 0;
        const char *key;
        void *tmp;

        if (!json_is_object(seen))
                return 0;
        json_object_foreach_safe(seen, tmp, key, v)
                if (seen_index(key) < 0 || !json_is_string(v)) {
                        (void) json_object_del(seen, key);
                        n++;
                }
        while (json_object_size(seen) > CRYPTO_SEEN_MAX) {
                int64_t lowest = INT64_MAX;
                char buf[16];

                json_object_foreach(seen, key, v)
                        lowest = MIN(lowest, seen_index(key));
                snprintf(buf, sizeof(buf), "%" PRId64, lowest);
                (void) json_object_del(seen, buf);
                (void) json_object_set_new(entry, "floor", json_integer(lowest + 1));
                n++;
        }
        return n;
}

static size_t trim_olm(Crypto *c) {
        json_t *olm = crypto_section(c, "olm"), *list;
        const char *key;
        size_t n = 0;
        void *tmp;

        json_object_foreach_safe(olm, tmp, key, list) {
                if (!crypto_key_valid(key) || !json_is_array(list) || json_array_size(list) == 0) {
                        (void) json_object_del(olm, key);
                        n++;
                        continue;
                }
                while (json_array_size(list) > CRYPTO_SESSIONS_PER_PEER) {
                        (void) json_array_remove(list, json_array_size(list) - 1);
                        n++;
                }
        }
        return n + olm_evict(c);
}

static size_t trim_inbound(Crypto *c) {
        json_t *inbound = crypto_section(c, "inbound"), *entry;
        json_auto_t *senders = json_object();
        const char *id;
        size_t n = 0;
        void *tmp;

        json_object_foreach_safe(inbound, tmp, id, entry) {
                _cleanup_free_ char *prefix = sender_prefix(id);
                const char *key = prefix ? strchr(prefix, '|') : NULL;

                if (!json_is_string(json_object_get(entry, "pickle")) || !key) {
                        (void) json_object_del(inbound, id);
                        n++;
                        continue;
                }
                n += crypto_seen_trim(entry);
                if (senders)
                        (void) json_object_set_new(senders, prefix, json_true());
        }
        json_object_foreach(senders, id, entry)
                n += inbound_evict_sender(inbound, id);
        if (json_object_size(inbound) > CRYPTO_INBOUND_MAX)
                n += evict_oldest(inbound, CRYPTO_INBOUND_MAX, NULL);
        return n;
}

static size_t trim_devices(Crypto *c) {
        json_t *devices = crypto_section(c, "devices"), *devs, *d;
        const char *user, *id;
        size_t n = 0;
        void *tmp, *tmp2;

        json_object_foreach_safe(devices, tmp, user, devs) {
                if (!json_is_object(devs)) {
                        (void) json_object_del(devices, user);
                        n++;
                        continue;
                }
                json_object_foreach_safe(devs, tmp2, id, d)
                        if (json_object_size(devs) > CRYPTO_DEVICES_PER_USER) {
                                (void) json_object_del(devs, id);
                                n++;
                        }
        }
        return n;
}

size_t crypto_trim(Crypto *c) {
        return trim_olm(c) + trim_inbound(c) + trim_devices(c);
}
