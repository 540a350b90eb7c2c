/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The crypto store and our identity: the Olm account, signing, key upload, cross-signing. */

#include <olm/pk.h>
#include <sys/random.h>

#include "crypto-internal.h"

#define STORE_VERSION 1
/* What is read at start: the limits keep a store far smaller (crypto-internal.h), but one an older
 * bot let a flood grow is read whole, then trimmed. */
#define STORE_READ_MAX (1024U * 1024U * 1024U)

static const char *const SECTIONS[] = { "olm", "inbound", "outbound", "devices", "stale", "rooms" };

uint8_t *crypto_random(size_t n) {
        uint8_t *buf = malloc(n ?: 1);
        size_t done = 0;

        while (buf && done < n) {
                ssize_t k = getrandom(buf + done, n - done, 0);
                if (k < 0 && errno != EINTR)
                        return mfree(buf);
                if (k > 0)
                        done += (size_t) k;
        }
        return buf;
}

json_t *crypto_section(Crypto *c, const char *name) {
        return json_object_get(c->store, name);
}

size_t crypto_trimmed(const Crypto *c) {
        return c->trimmed;
}

unsigned crypto_sessions_changed(const Crypto *c) {
        return c->sessions_changed;
}

bool crypto_key_valid(const char *k) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

        return k && strlen(k) == 43 && strspn(k, alphabet) == 43;
}

const char *crypto_curve25519(const Crypto *c) {
        return c->curve25519;
}

const char *crypto_ed25519(const Crypto *c) {
        return c->ed25519;
}

OlmSession *crypto_session_new(void) {
        void *mem = malloc(olm_session_size());
        return mem ? olm_session(mem) : NULL;
}

void crypto_session_free(OlmSession *s) {
        if (!s)
                return;
        olm_clear_session(s);
        free(s);
}

char *crypto_pickle_session(Crypto *c, OlmSession *s) {
        size_t n = olm_pickle_session_length(s);
        char *p = malloc(n + 1);

        if (!p || olm_pickle_session(s, c->key, c->key_len, p, n) == olm_error())
                return mfree(p);
        p[n] = 0;
        return p;
}

OlmSession *crypto_unpickle_session(Crypto *c, const char *pickled) {
        _cleanup_free_ char *copy = strdup(pickled);
        _cleanup_(crypto_session_freep) OlmSession *s = crypto_session_new();

        if (!copy || !s || olm_unpickle_session(s, c->key, c->key_len, copy, strlen(copy)) == olm_error())
                return NULL;
        return TAKE_PTR(s);
}

static char *account_pickle(Crypto *c) {
        size_t n = olm_pickle_account_length(c->account);
        char *p = malloc(n + 1);

        if (!p || olm_pickle_account(c->account, c->key, c->key_len, p, n) == olm_error())
                return mfree(p);
        p[n] = 0;
        return p;
}

Crypto *crypto_free(Crypto *c) {
        if (!c)
                return NULL;
        if (c->account) {
                olm_clear_account(c->account);
                free(c->account);
        }
        if (c->key)
                explicit_bzero(c->key, c->key_len);
        free(c->key);
        free(c->path);
        free(c->user_id);
        free(c->device_id);
        free(c->curve25519);
        free(c->ed25519);
        json_decref(c->store);
        json_decref(c->no_otk);
        json_decref(c->members);
        json_decref(c->pending);
        free(c);
        return NULL;
}

static int crypto_alloc(const char *path, const char *key, const char *user_id, const char *device_id,
                        Crypto **ret) {
        _cleanup_(crypto_freep) Crypto *c = calloc(1, sizeof(Crypto));
        void *acc;

        if (!c)
                return -ENOMEM;
        c->key_len = strlen(key);
        c->path = strdup(path);
        c->key = strdup(key);
        c->user_id = strdup(user_id);
        c->device_id = strdup(device_id);
        c->no_otk = json_object();
        c->members = json_object();
        c->pending = json_array();
        acc = malloc(olm_account_size());
        if (acc)
                c->account = olm_account(acc);
        if (!c->path || !c->key || !c->user_id || !c->device_id || !c->no_otk || !c->members ||
            !c->pending || !c->account)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

/* Our identity keys, out of the account. */
static int crypto_load_identity(Crypto *c) {
        size_t n = olm_account_identity_keys_length(c->account);
        _cleanup_free_ char *buf = malloc(n + 1);
        json_auto_t *keys = NULL;

        if (!buf || olm_account_identity_keys(c->account, buf, n) == olm_error())
                return -ENOMEM;
        keys = json_loadb(buf, n, 0, NULL);
        if (!json_is_string(json_object_get(keys, "curve25519")) ||
            !json_is_string(json_object_get(keys, "ed25519")))
                return -EBADMSG;
        c->curve25519 = strdup(json_string_value(json_object_get(keys, "curve25519")));
        c->ed25519 = strdup(json_string_value(json_object_get(keys, "ed25519")));
        return c->curve25519 && c->ed25519 ? 0 : -ENOMEM;
}

/* Each section an object; missing ones are made. */
static int crypto_check_sections(Crypto *c) {
        for (size_t i = 0; i < ELEMENTSOF(SECTIONS); i++) {
                json_t *v = json_object_get(c->store, SECTIONS[i]);
                if (v && !json_is_object(v))
                        return -EBADMSG;
                if (!v && json_object_set_new(c->store, SECTIONS[i], json_object()) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int crypto_create(const char *path, const char *key, const char *user_id, const char *device_id,
                  Crypto **ret) {
        _cleanup_(crypto_freep) Crypto *c = NULL;
        _cleanup_free_ uint8_t *random = NULL;
        size_t n;
        int r;

        r = crypto_alloc(path, key, user_id, device_id, &c);
        if (r < 0)
                return r;
        n = olm_create_account_random_length(c->account);
        random = crypto_random(n);
        if (!random || olm_create_account(c->account, random, n) == olm_error())
                return -ENOMEM;
        explicit_bzero(random, n);
        c->store = json_object();
        if (!c->store)
                return -ENOMEM;
        r = crypto_check_sections(c);
        if (r >= 0)
                r = crypto_load_identity(c);
        if (r >= 0)
                r = crypto_save(c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int crypto_why(char **ret_why, int r, const char *why) {
        if (ret_why)
                *ret_why = strdup(why);
        return r;
}

int crypto_open(const char *path, const char *key, const char *user_id, const char *device_id, Crypto **ret,
                char **ret_why) {
        _cleanup_(crypto_freep) Crypto *c = NULL;
        _cleanup_free_ char *text = NULL, *pickle = NULL;
        size_t size;
        json_t *v;
        int r;

        r = read_full_file(path, STORE_READ_MAX, &text, &size);
        if (r < 0)
                return r;
        r = crypto_alloc(path, key, user_id, device_id, &c);
        if (r < 0)
                return r;
        c->store = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(c->store) ||
            json_integer_value(json_object_get(c->store, "version")) != STORE_VERSION ||
            !json_is_string(json_object_get(c->store, "account")))
                return crypto_why(ret_why, -EBADMSG, "not a crypto store of this version");
        if (!streq_ptr(json_string_value(json_object_get(c->store, "user_id")), user_id) ||
            !streq_ptr(json_string_value(json_object_get(c->store, "device_id")), device_id))
                return crypto_why(ret_why, -EBADMSG, "the store is of another user or device");
        v = json_object_get(c->store, "account");
        pickle = strdup(json_string_value(v));
        if (!pickle)
                return -ENOMEM;
        if (olm_unpickle_account(c->account, c->key, c->key_len, pickle, strlen(pickle)) == olm_error()) {
                if (olm_account_last_error_code(c->account) == OLM_BAD_ACCOUNT_KEY)
                        return crypto_why(
                                ret_why, -EKEYREJECTED,
                                "the key does not open the store (a wrong key, or the store is damaged)");
                return crypto_why(ret_why, -EBADMSG, olm_account_last_error(c->account));
        }
        (void) json_object_del(c->store, "account");
        r = crypto_check_sections(c);
        if (r < 0)
                return crypto_why(ret_why, r, "a section of the store is not an object");
        c->trimmed = crypto_trim(c);
        r = crypto_load_identity(c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int crypto_save(Crypto *c) {
        _cleanup_free_ char *pickle = NULL, *text = NULL;
        json_auto_t *out = NULL;

        pickle = account_pickle(c);
        out = json_copy(c->store);
        if (!pickle || !out || json_object_set_new(out, "version", json_integer(STORE_VERSION)) < 0 ||
            json_object_set_new(out, "user_id", json_string(c->user_id)) < 0 ||
            json_object_set_new(out, "device_id", json_string(c->device_id)) < 0 ||
            json_object_set_new(out, "account", json_string(pickle)) < 0)
                return -ENOMEM;
        text = json_dumps(out, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        return write_file_atomic(c->path, text, strlen(text), 0600);
}

char *crypto_canonical(json_t *o) {
        json_auto_t *copy = json_copy(o);

        if (!copy)
                return NULL;
        (void) json_object_del(copy, "signatures");
        (void) json_object_del(copy, "unsigned");
        return json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static int add_signature(json_t *o, const char *user, const char *key_id, const char *sig) {
        json_t *sigs = json_object_get(o, "signatures"), *mine;

        if (!json_is_object(sigs)) {
                sigs = json_object();
                if (!sigs || json_object_set_new(o, "signatures", sigs) < 0)
                        return -ENOMEM;
        }
        mine = json_object_get(sigs, user);
        if (!json_is_object(mine)) {
                mine = json_object();
                if (!mine || json_object_set_new(sigs, user, mine) < 0)
                        return -ENOMEM;
        }
        return json_object_set_new(mine, key_id, json_string(sig)) < 0 ? -ENOMEM : 0;
}

int crypto_sign_json(Crypto *c, json_t *o) {
        _cleanup_free_ char *text = crypto_canonical(o), *sig = NULL, *key_id = NULL;
        size_t n = olm_account_signature_length(c->account);

        sig = malloc(n + 1);
        if (!text || !sig || asprintf(&key_id, "ed25519:%s", c->device_id) < 0)
                return -ENOMEM;
        if (olm_account_sign(c->account, text, strlen(text), sig, n) == olm_error())
                return -EIO;
        sig[n] = 0;
        return add_signature(o, c->user_id, key_id, sig);
}

bool crypto_verify_json(json_t *o, const char *user, const char *key_id, const char *ed25519) {
        const char *sig = json_string_value(
                json_object_get(json_object_get(json_object_get(o, "signatures"), user), key_id));
        _cleanup_free_ char *text = NULL, *copy = NULL;
        _cleanup_free_ void *mem = NULL;
        OlmUtility *u;
        bool ok;

        if (!sig || !ed25519)
                return false;
        text = crypto_canonical(o);
        copy = strdup(sig);
        mem = malloc(olm_utility_size());
        if (!text || !copy || !mem)
                return false;
        u = olm_utility(mem);
        ok = olm_ed25519_verify(u, ed25519, strlen(ed25519), text, strlen(text), copy, strlen(copy)) !=
             olm_error();
        olm_clear_utility(u);
        return ok;
}

static json_t *device_keys(Crypto *c) {
        _cleanup_free_ char *curve_id = NULL, *ed_id = NULL;
        json_t *o;

        if (asprintf(&curve_id, "curve25519:%s", c->device_id) < 0 ||
            asprintf(&ed_id, "ed25519:%s", c->device_id) < 0)
                return NULL;
        o = json_pack("{s:s, s:s, s:[s,s], s:{s:s, s:s}}", "user_id", c->user_id, "device_id", c->device_id,
                      "algorithms", OLM_ALGORITHM, MEGOLM_ALGORITHM, "keys", curve_id, c->curve25519, ed_id,
                      c->ed25519);
        if (o && crypto_sign_json(c, o) < 0)
                return json_decref(o), NULL;
        return o;
}

/* {"curve25519": {id: key}} from libolm → {"signed_curve25519:id": {key, signatures}} */
static int signed_keys(Crypto *c, const char *olm_json, bool fallback, json_t *into) {
        json_auto_t *keys = json_loads(olm_json, 0, NULL);
        const char *id;
        json_t *k;

        json_object_foreach(json_object_get(keys, "curve25519"), id, k) {
                _cleanup_free_ char *name = NULL;
                json_t *o = json_pack("{s:O}", "key", k);

                if (!o || (fallback && json_object_set_new(o, "fallback", json_true()) < 0) ||
                    crypto_sign_json(c, o) < 0 || asprintf(&name, "signed_curve25519:%s", id) < 0 ||
                    json_object_set_new(into, name, o) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int account_keys_json(Crypto *c, bool fallback, json_t *into) {
        size_t n = fallback ? olm_account_unpublished_fallback_key_length(c->account)
                            : olm_account_one_time_keys_length(c->account);
        _cleanup_free_ char *buf = malloc(n + 1);
        size_t k;

        if (!buf)
                return -ENOMEM;
        k = fallback ? olm_account_unpublished_fallback_key(c->account, buf, n)
                     : olm_account_one_time_keys(c->account, buf, n);
        if (k == olm_error())
                return -EIO;
        buf[k] = 0;
        return signed_keys(c, buf, fallback, into);
}

static int generate(Crypto *c, size_t count) {
        size_t n = count ? olm_account_generate_one_time_keys_random_length(c->account, count)
                         : olm_account_generate_fallback_key_random_length(c->account);
        _cleanup_free_ uint8_t *random = crypto_random(n);
        size_t k;

        if (!random)
                return -ENOMEM;
        k = count ? olm_account_generate_one_time_keys(c->account, count, random, n)
                  : olm_account_generate_fallback_key(c->account, random, n);
        explicit_bzero(random, n);
        return k == olm_error() ? -EIO : 0;
}

int crypto_upload_body(Crypto *c, long server_count, bool fallback_used, json_t **ret) {
        json_auto_t *body = json_object(), *otks = json_object(), *fallbacks = json_object();
        bool published = json_is_true(json_object_get(c->store, "published"));
        long half = (long) olm_account_max_number_of_one_time_keys(c->account) / 2;
        int r;

        if (!body || !otks || !fallbacks)
                return -ENOMEM;
        if (!published && json_object_set_new(body, "device_keys", device_keys(c)) < 0)
                return -ENOMEM;
        if (server_count >= 0 || !published) {
                long want = half - (server_count > 0 ? server_count : 0);
                if (want > 0) {
                        r = generate(c, (size_t) want);
                        if (r < 0)
                                return r;
                }
        }
        if (fallback_used || !json_is_true(json_object_get(c->store, "fallback"))) {
                r = generate(c, 0);
                if (r < 0)
                        return r;
                if (json_object_set_new(c->store, "fallback", json_true()) < 0)
                        return -ENOMEM;
        }
        r = account_keys_json(c, false, otks);
        if (r < 0)
                return r;
        r = account_keys_json(c, true, fallbacks);
        if (r < 0)
                return r;
        if (json_object_size(otks) > 0 && json_object_set(body, "one_time_keys", otks) < 0)
                return -ENOMEM;
        if (json_object_size(fallbacks) > 0 && json_object_set(body, "fallback_keys", fallbacks) < 0)
                return -ENOMEM;
        *ret = json_object_size(body) > 0 ? TAKE_PTR(body) : NULL;
        return 0;
}

void crypto_upload_done(Crypto *c) {
        (void) olm_account_mark_keys_as_published(c->account);
        (void) json_object_set_new(c->store, "published", json_true());
}

bool crypto_cross_signing_done(const Crypto *c) {
        return json_is_object(json_object_get(c->store, "cross_signing"));
}

typedef struct Signer {
        OlmPkSigning *signing;
        char *public;
} Signer;

static void signer_done(Signer *s) {
        if (s->signing) {
                olm_clear_pk_signing(s->signing);
                free(s->signing);
        }
        free(s->public);
}

static int signer_new(Signer *s) {
        size_t seed_len = olm_pk_signing_seed_length(), pub_len = olm_pk_signing_public_key_length();
        _cleanup_free_ uint8_t *seed = crypto_random(seed_len);
        void *mem = malloc(olm_pk_signing_size());

        s->public = malloc(pub_len + 1);
        s->signing = mem ? olm_pk_signing(mem) : NULL;
        if (!seed || !s->signing || !s->public)
                return -ENOMEM;
        if (olm_pk_signing_key_from_seed(s->signing, s->public, pub_len, seed, seed_len) == olm_error())
                return -EIO;
        explicit_bzero(seed, seed_len);
        s->public[pub_len] = 0;
        return 0;
}

static int signer_sign(Signer *s, const char *user, json_t *o) {
        _cleanup_free_ char *text = crypto_canonical(o), *key_id = NULL, *sig = NULL;
        size_t n = olm_pk_signature_length();

        sig = malloc(n + 1);
        if (!text || !sig || asprintf(&key_id, "ed25519:%s", s->public) < 0)
                return -ENOMEM;
        if (olm_pk_sign(s->signing, (const uint8_t *) text, strlen(text), (uint8_t *) sig, n) == olm_error())
                return -EIO;
        sig[n] = 0;
        return add_signature(o, user, key_id, sig);
}

static json_t *cross_key(Crypto *c, const char *usage, Signer *s) {
        _cleanup_free_ char *key_id = NULL;

        if (asprintf(&key_id, "ed25519:%s", s->public) < 0)
                return NULL;
        return json_pack("{s:s, s:[s], s:{s:s}}", "user_id", c->user_id, "usage", usage, "keys", key_id,
                         s->public);
}

int crypto_cross_signing_new(Crypto *c, json_t **ret_keys, json_t **ret_signatures) {
        _cleanup_(signer_done) Signer master = {}, self = {}, user = {};
        json_auto_t *mk = NULL, *sk = NULL, *uk = NULL, *dev = NULL, *keys = NULL, *sigs = NULL;
        int r;

        r = signer_new(&master);
        if (r < 0)
                return r;
        r = signer_new(&self);
        if (r < 0)
                return r;
        r = signer_new(&user);
        if (r < 0)
                return r;
        mk = cross_key(c, "master", &master);
        sk = cross_key(c, "self_signing", &self);
        uk = cross_key(c, "user_signing", &user);
        dev = device_keys(c);
        if (!mk || !sk || !uk || !dev)
                return -ENOMEM;
        (void) json_object_del(dev, "signatures");
        r = crypto_sign_json(c, mk);
        if (r < 0)
                return r;
        r = signer_sign(&master, c->user_id, sk);
        if (r < 0)
                return r;
        r = signer_sign(&master, c->user_id, uk);
        if (r < 0)
                return r;
        r = signer_sign(&self, c->user_id, dev);
        if (r < 0)
                return r;
        keys = json_pack("{s:O, s:O, s:O}", "master_key", mk, "self_signing_key", sk, "user_signing_key",
                         uk);
        sigs = json_pack("{s:{s:O}}", c->user_id, c->device_id, dev);
        if (!keys || !sigs)
                return -ENOMEM;
        *ret_keys = TAKE_PTR(keys);
        *ret_signatures = TAKE_PTR(sigs);
        return 0;
}

static const char *first_key(json_t *key) {
        const char *id;
        json_t *v;

        json_object_foreach(json_object_get(key, "keys"), id, v)
                return json_string_value(v);
        return NULL;
}

void crypto_cross_signing_uploaded(Crypto *c, json_t *keys) {
        (void) json_object_set_new(
                c->store, "cross_signing",
                json_pack("{s:s?, s:s?, s:s?}", "master", first_key(json_object_get(keys, "master_key")),
                          "self_signing", first_key(json_object_get(keys, "self_signing_key")),
                          "user_signing", first_key(json_object_get(keys, "user_signing_key"))));
}
