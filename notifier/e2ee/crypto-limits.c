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

/* sum over users of min(their sessions, cap) */
static size_t capped_total(json_t *counts, json_int_t cap) {
        const char *user;
        size_t sum = 0;
        json_t *v;

        json_object_foreach(counts, user, v)
                sum += (size_t) MIN(json_integer_value(v), cap);
        return sum;
}

/* Down to target, taking from those who hold the most: the sessions used longest ago of each user
 * over the largest share that fits (one room member's flood pushes out only their own keys). */
static size_t inbound_evict_users(Crypto *c, size_t target) {
        json_t *inbound = crypto_section(c, "inbound"), *entry, *count;
        json_auto_t *counts = json_object();
        json_int_t lo = 0, hi = 0;
        const char *id;
        size_t n = 0;
        void *tmp;

        if (json_object_size(inbound) <= target || !counts)
                return 0;
        json_object_foreach(inbound, id, entry) {
                const char *user = strempty(json_string_value(json_object_get(entry, "sender")));
                json_int_t k = json_integer_value(json_object_get(counts, user)) + 1;

                (void) json_object_set_new(counts, user, json_integer(k));
                hi = k > hi ? k : hi;
        }
        /* The largest share each may keep: binary search over what the capped total allows. */
        while (lo < hi) {
                json_int_t mid = lo + (hi - lo + 1) / 2;
                if (capped_total(counts, mid) <= target)
                        lo = mid;
                else
                        hi = mid - 1;
        }
        json_object_foreach_safe(inbound, tmp, id, entry) {
                count = json_object_get(counts, strempty(json_string_value(json_object_get(entry, "sender"))));
                if (json_integer_value(count) <= lo)
                        continue;
                (void) json_integer_set(count, json_integer_value(count) - 1);
                (void) json_object_del(inbound, id);
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
                (void) inbound_evict_users(c, CRYPTO_INBOUND_MAX - CRYPTO_INBOUND_MAX / 10);
}

/* An index of a session's "seen" map as we write them (digits, no leading zero), or -1. */
static int64_t seen_index(const char *key) {
        int64_t v = 0;

        if (!key[0] || strlen(key) > 10 || (key[0] == '0' && key[1]))
                return -1;
        for (const char *p = key; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -1;
                v = v * 10 + (*p - '0');
        }
        return v > UINT32_MAX ? -1 : v;
}

static int compare_index(const void *a, const void *b) {
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
        return x < y ? -1 : x > y;
}

/* The seen map held to CRYPTO_SEEN_MAX: the lowest indices go, and "floor" says that anything
 * below the lowest kept is refused as a replay. What was dropped. */
size_t crypto_seen_trim(json_t *entry) {
        json_t *seen = json_object_get(entry, "seen"), *v;
        _cleanup_free_ int64_t *indices = NULL;
        size_t n = 0, k = 0, excess;
        const char *key;
        void *tmp;

        if (!json_is_object(seen))
                return 0;
        json_object_foreach_safe(seen, tmp, key, v)
                if (seen_index(key) < 0 || !json_is_string(v)) {
                        (void) json_object_del(seen, key);
                        n++;
                }
        if (json_object_size(seen) <= CRYPTO_SEEN_MAX)
                return n;
        /* Sorted once, the lowest cut at once: a map of any size costs one sort. */
        indices = malloc(json_object_size(seen) * sizeof(int64_t));
        if (!indices)
                return n;
        json_object_foreach(seen, key, v)
                indices[k++] = seen_index(key);
        qsort(indices, k, sizeof(int64_t), compare_index);
        excess = k - CRYPTO_SEEN_MAX;
        for (size_t i = 0; i < excess; i++) {
                char buf[16];

                snprintf(buf, sizeof(buf), "%" PRId64, indices[i]);
                (void) json_object_del(seen, buf);
        }
        (void) json_object_set_new(entry, "floor", json_integer(indices[excess - 1] + 1));
        return n + excess;
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
        json_auto_t *counts = json_object();
        const char *id;
        size_t n = 0;
        void *tmp;

        if (!counts)
                return 0;
        /* One walk counts each sender's sessions in each room, a second drops the oldest of those
         * over the limit: linear in the store, whatever a flood left in it. */
        json_object_foreach_safe(inbound, tmp, id, entry) {
                _cleanup_free_ char *prefix = sender_prefix(id);

                if (!json_is_string(json_object_get(entry, "pickle")) || !prefix || !strchr(prefix, '|')) {
                        (void) json_object_del(inbound, id);
                        n++;
                        continue;
                }
                n += crypto_seen_trim(entry);
                (void) json_object_set_new(counts, prefix,
                                           json_integer(json_integer_value(json_object_get(counts, prefix)) + 1));
        }
        json_object_foreach_safe(inbound, tmp, id, entry) {
                _cleanup_free_ char *prefix = sender_prefix(id);
                json_t *count = json_object_get(counts, prefix);

                if (json_integer_value(count) <= CRYPTO_INBOUND_PER_SENDER)
                        continue;
                (void) json_integer_set(count, json_integer_value(count) - 1);
                (void) json_object_del(inbound, id);
                n++;
        }
        return n + inbound_evict_users(c, CRYPTO_INBOUND_MAX);
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
