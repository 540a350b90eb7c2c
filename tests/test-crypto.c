/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The crypto store and sessions, two devices talking through the pure functions only: what one
 * uploads is what the other's /keys/query and /keys/claim would answer. */

#include "crypto-internal.h"
#include "base64.h"
#include "tests.h"

#define KEY "correct horse battery staple"
#define ROOM "!room:test"

static const char *store_path(const char *name) {
        static char path[8][4096];
        static int n;
        char *p = path[n++ % 8];

        snprintf(p, 4096, "%s/%s.json", tests_tmpdir(), name);
        return p;
}

/* A device with its first upload done: its /keys/upload body in *ret_upload. */
static Crypto *device(const char *name, const char *user, const char *dev, json_t **ret_upload) {
        Crypto *c = NULL;

        if (crypto_create(store_path(name), KEY, user, dev, &c) < 0 ||
            crypto_upload_body(c, -1, false, ret_upload) < 0)
                abort();
        crypto_upload_done(c);
        return c;
}

/* What /keys/query answers about the device that uploaded upload. */
static json_t *query_answer(const char *user, const char *dev, json_t *upload) {
        return json_pack("{s:{s:{s:O}}}", "device_keys", user, dev, json_object_get(upload, "device_keys"));
}

/* What /keys/claim answers: a one-time key of the upload's, each once, as a homeserver hands them. */
static json_t *claim_answer(const char *user, const char *dev, json_t *upload) {
        json_t *otks = json_object_get(upload, "one_time_keys"), *claimed = json_object_get(upload, "claimed"), *v;
        const char *id;

        if (!claimed) {
                claimed = json_object();
                json_object_set_new(upload, "claimed", claimed);
        }
        json_object_foreach(otks, id, v)
                if (!json_object_get(claimed, id)) {
                        json_object_set_new(claimed, id, json_true());
                        return json_pack("{s:{s:{s:{s:O}}}}", "one_time_keys", user, dev, id, v);
                }
        return NULL;
}

TEST(store_opens_with_its_key_only) {
        _cleanup_(crypto_freep) Crypto *c = NULL, *d = NULL;
        _cleanup_free_ char *why = NULL, *why2 = NULL, *curve = NULL;
        const char *path = store_path("own");

        ASSERT_EQ(crypto_open(path, KEY, "@bot:test", "DEV", &c, NULL), -ENOENT);
        ASSERT_OK(crypto_create(path, KEY, "@bot:test", "DEV", &c));
        curve = strdup(crypto_curve25519(c));
        c = crypto_free(c);

        ASSERT_OK(crypto_open(path, KEY, "@bot:test", "DEV", &d, NULL));
        ASSERT_STREQ(crypto_curve25519(d), curve);
        ASSERT_EQ(crypto_open(path, "another key", "@bot:test", "DEV", &c, &why), -EKEYREJECTED);
        ASSERT_STREQ(why, "the key does not open the store (a wrong key, or the store is damaged)");
        ASSERT_EQ(crypto_open(path, KEY, "@bot:test", "OTHER", &c, &why2), -EBADMSG);
        ASSERT_STREQ(why2, "the store is of another user or device");
        ASSERT_EQ(
                crypto_open(tests_write("corrupt.json", "{\"version\":1,\"account\":\"not base64!\","
                                                        "\"user_id\":\"@bot:test\",\"device_id\":\"DEV\"}"),
                            KEY, "@bot:test", "DEV", &c, NULL),
                -EKEYREJECTED);
        ASSERT_EQ(crypto_open(tests_write("half.json", "{\"version\":1,\"acc"), KEY, "@bot:test", "DEV", &c,
                              NULL),
                  -EBADMSG);
}

TEST(upload_is_signed_and_tops_up_one_time_keys) {
        json_auto_t *first = NULL, *again = NULL, *low = NULL;
        _cleanup_(crypto_freep) Crypto *c = device("upload", "@bot:test", "DEV", &first);
        json_t *dk = json_object_get(first, "device_keys");
        const char *id;
        json_t *v;

        ASSERT_TRUE(crypto_verify_json(dk, "@bot:test", "ed25519:DEV", crypto_ed25519(c)));
        ASSERT_STREQ(json_string_value(json_object_get(json_object_get(dk, "keys"), "curve25519:DEV")),
                     crypto_curve25519(c));
        ASSERT_EQ(json_object_size(json_object_get(first, "one_time_keys")), 50);
        json_object_foreach(json_object_get(first, "one_time_keys"), id, v)
                ASSERT_TRUE(crypto_verify_json(v, "@bot:test", "ed25519:DEV", crypto_ed25519(c)));
        ASSERT_EQ(json_object_size(json_object_get(first, "fallback_keys")), 1);

        /* Nothing to do while the server has enough; the missing ones when it runs low. */
        ASSERT_OK(crypto_upload_body(c, 50, false, &again));
        ASSERT_TRUE(again == NULL);
        ASSERT_OK(crypto_upload_body(c, 40, false, &low));
        ASSERT_EQ(json_object_size(json_object_get(low, "one_time_keys")), 10);
        ASSERT_TRUE(json_object_get(low, "device_keys") == NULL);

        /* A signature over anything else does not verify. */
        json_object_set_new(dk, "device_id", json_string("EVIL"));
        ASSERT_FALSE(crypto_verify_json(dk, "@bot:test", "ed25519:DEV", crypto_ed25519(c)));
}

/* The room's m.room.encryption content; msgs > 0: rotate after that many messages. */
static json_t *settings(int msgs) {
        static json_t *kept[16];
        static int n;
        json_t *o = json_pack("{s:s}", "algorithm", MEGOLM_ALGORITHM);

        if (msgs > 0)
                json_object_set_new(o, "rotation_period_msgs", json_integer(msgs));
        json_decref(kept[n % 16]);
        return kept[n++ % 16] = o;
}

/* user (whose device from is) shares a room session with alice over Olm: the to-device event she
 * receives. With alice_up, the first time: her device's keys and a one-time key of hers first;
 * without, a new session over the Olm session they have. */
static json_t *share_from(Crypto *from, const char *user, json_t *alice_up) {
        char *members[] = { (char *) "@alice:test", (char *) user, NULL };
        json_auto_t *q = NULL, *claim = NULL, *claimed = NULL, *share = NULL, *recipients = NULL;
        _cleanup_strv_free_ char **unknown = NULL;

        if (alice_up) {
                q = query_answer("@alice:test", "ALICE", alice_up);
                unknown = crypto_devices_unknown(from, members);
                if (strv_length(unknown) != 2 || crypto_devices_update(from, q, unknown) < 0 ||
                    crypto_claim_body(from, ROOM, members, &claim) < 0 || !claim)
                        abort();
                claimed = claim_answer("@alice:test", "ALICE", alice_up);
                if (crypto_claimed(from, claim, claimed) < 0)
                        abort();
        } else
                crypto_room_rotate(from, ROOM);
        if (crypto_share_body(from, ROOM, members, &share, &recipients) < 0 || !share)
                abort();
        crypto_shared(from, ROOM, recipients);
        return json_pack("{s:s, s:s, s:O}", "type", "m.room.encrypted", "sender", user, "content",
                         json_object_get(json_object_get(json_object_get(share, "messages"), "@alice:test"),
                                         "ALICE"));
}

static json_t *share_to_alice(json_t *alice_up, Crypto *bob) {
        return share_from(bob, "@bob:test", alice_up);
}

/* ... and sends her a message in the room, which she is in. */
static void exchange(Crypto *alice, json_t *alice_up, Crypto *bob, json_t **ret_event) {
        json_auto_t *to_device = share_to_alice(alice_up, bob), *content = NULL;

        if (crypto_room_set_encryption(alice, ROOM, settings(0)) < 0 ||
            crypto_room_member(alice, ROOM, "@bob:test", true) < 0 ||
            crypto_to_device(alice, to_device, NULL) != 1)
                abort();
        content = json_pack("{s:s, s:s}", "msgtype", "m.text", "body", "run ping");
        if (crypto_room_encrypt(bob, ROOM, "m.room.message", content, ret_event) < 0)
                abort();
}

static json_t *room_event(json_t *content, const char *event_id, const char *sender) {
        return json_pack("{s:s, s:s, s:s, s:O}", "type", "m.room.encrypted", "event_id", event_id, "sender",
                         sender, "content", content);
}

TEST(olm_shares_a_room_session_and_megolm_decrypts) {
        json_auto_t *alice_up = NULL, *bob_up = NULL, *enc = NULL, *ev = NULL, *plain = NULL, *again = NULL,
                    *replay = NULL, *spoof = NULL, *enc_rs = NULL;
        _cleanup_(crypto_freep) Crypto *alice = device("alice", "@alice:test", "ALICE", &alice_up);
        _cleanup_(crypto_freep) Crypto *bob = device("bob", "@bob:test", "BOB", &bob_up);
        _cleanup_(crypto_freep) Crypto *reopened = NULL;
        _cleanup_free_ char *why = NULL;

        ASSERT_OK(crypto_room_set_encryption(bob, ROOM, settings(0)));
        exchange(alice, alice_up, bob, &enc);
        ASSERT_TRUE(crypto_room_encrypted(bob, ROOM));
        ASSERT_STREQ(json_string_value(json_object_get(enc, "algorithm")), MEGOLM_ALGORITHM);

        ev = room_event(enc, "$1", "@bob:test");
        ASSERT_OK(crypto_room_decrypt(alice, ROOM, ev, &plain, NULL));
        ASSERT_STREQ(json_string_value(json_object_get(json_object_get(plain, "content"), "body")),
                     "run ping");
        /* The same event again (a repeated /sync) is fine; the same ciphertext as another event not. */
        ASSERT_OK(crypto_room_decrypt(alice, ROOM, ev, &again, NULL));
        replay = room_event(enc, "$2", "@bob:test");
        ASSERT_EQ(crypto_room_decrypt(alice, ROOM, replay, &plain, &why), -EEXIST);
        spoof = room_event(enc, "$3", "@mallory:test");
        ASSERT_EQ(crypto_room_decrypt(alice, ROOM, spoof, &plain, NULL), -EPERM);
        ASSERT_EQ(crypto_room_decrypt(alice, "!other:test", ev, &plain, NULL), -ENOKEY);

        /* Everything needed survives a restart: the inbound session and what it has seen. */
        ASSERT_OK(crypto_save(alice));
        ASSERT_OK(crypto_open(store_path("alice"), KEY, "@alice:test", "ALICE", &reopened, NULL));
        ASSERT_EQ(crypto_room_decrypt(reopened, ROOM, replay, &plain, NULL), -EEXIST);
        json_decref(plain);
        plain = NULL;
        ASSERT_OK(crypto_room_decrypt(reopened, ROOM, ev, &plain, NULL));

        /* Bob's next message needs no new sharing. */
        char *members[] = { (char *) "@alice:test", (char *) "@bob:test", NULL };
        ASSERT_TRUE(crypto_room_ready(bob, ROOM, members));
        ASSERT_OK(crypto_room_encrypt(bob, ROOM, "m.room.message", settings(0), &enc_rs));
}

TEST(a_session_rotates_after_its_message_count) {
        json_auto_t *alice_up = NULL, *bob_up = NULL, *enc = NULL, *share = NULL, *recipients = NULL;
        _cleanup_(crypto_freep) Crypto *alice = device("alice2", "@alice:test", "ALICE", &alice_up);
        _cleanup_(crypto_freep) Crypto *bob = device("bob2", "@bob:test", "BOB", &bob_up);
        char *members[] = { (char *) "@alice:test", (char *) "@bob:test", NULL };

        ASSERT_OK(crypto_room_set_encryption(bob, ROOM, settings(2)));
        exchange(alice, alice_up, bob, &enc);
        json_decref(enc);
        ASSERT_TRUE(crypto_room_ready(bob, ROOM, members));
        ASSERT_OK(crypto_room_encrypt(bob, ROOM, "m.room.message", settings(0), &enc));
        /* Two messages sent: the next needs a new session, shared again. */
        ASSERT_FALSE(crypto_room_ready(bob, ROOM, members));
        ASSERT_OK(crypto_share_body(bob, ROOM, members, &share, &recipients));
        ASSERT_TRUE(share != NULL);
        crypto_room_rotate(bob, ROOM);
        ASSERT_FALSE(crypto_room_ready(bob, ROOM, members));
}

TEST(a_device_whose_signing_key_changed_is_not_trusted) {
        json_auto_t *bob_up = NULL, *up = NULL, *up2 = NULL, *q = NULL, *q2 = NULL;
        _cleanup_(crypto_freep) Crypto *bob = device("bob3", "@bob:test", "BOB", &bob_up);
        _cleanup_(crypto_freep) Crypto *alice = device("alice3", "@alice:test", "ALICE", &up);
        _cleanup_(crypto_freep) Crypto *evil = device("evil3", "@alice:test", "ALICE", &up2);
        char *users[] = { (char *) "@alice:test", NULL };
        json_auto_t *claim = NULL, *claimed = NULL, *share = NULL, *recipients = NULL;

        q = query_answer("@alice:test", "ALICE", up);
        ASSERT_OK(crypto_devices_update(bob, q, users));
        q2 = query_answer("@alice:test", "ALICE", up2);
        crypto_devices_changed(bob, "@alice:test");
        ASSERT_OK(crypto_devices_update(bob, q2, users));
        /* The impostor's one-time key does not carry the signature we know: no session, no sharing. */
        ASSERT_OK(crypto_claim_body(bob, ROOM, users, &claim));
        ASSERT_TRUE(claim != NULL);
        claimed = claim_answer("@alice:test", "ALICE", up2);
        ASSERT_OK(crypto_claimed(bob, claim, claimed));
        ASSERT_OK(crypto_room_set_encryption(bob, ROOM, settings(0)));
        ASSERT_OK(crypto_share_body(bob, ROOM, users, &share, &recipients));
        ASSERT_TRUE(share == NULL);
        (void) alice;
        (void) evil;
}

/* Synapse names users in device_lists.changed again and again (the sender of every message, with
 * lazy-loading): only a user whose keys we hold, and who is not to be asked for already, changes
 * what is stored, so only that is worth a write of the store. */
TEST(a_device_list_change_marks_only_users_whose_keys_we_hold) {
        json_auto_t *bob_up = NULL, *up = NULL, *q = NULL;
        _cleanup_(crypto_freep) Crypto *bob = device("bob5", "@bob:test", "BOB", &bob_up);
        _cleanup_(crypto_freep) Crypto *alice = device("alice5", "@alice:test", "ALICE", &up);
        char *users[] = { (char *) "@alice:test", NULL };
        _cleanup_strv_free_ char **unknown = NULL;

        ASSERT_FALSE(crypto_devices_changed(bob, "@alice:test"));
        q = query_answer("@alice:test", "ALICE", up);
        ASSERT_OK(crypto_devices_update(bob, q, users));
        ASSERT_FALSE(crypto_devices_changed(bob, "@bob:test"));
        ASSERT_FALSE(crypto_devices_changed(bob, NULL));
        ASSERT_TRUE(crypto_devices_changed(bob, "@alice:test"));
        ASSERT_FALSE(crypto_devices_changed(bob, "@alice:test"));
        unknown = crypto_devices_unknown(bob, users);
        ASSERT_EQ(strv_length(unknown), 1U);
        ASSERT_OK(crypto_devices_update(bob, q, users));
        ASSERT_TRUE(crypto_devices_changed(bob, "@alice:test"));
        (void) alice;
}

TEST(a_forwarded_key_from_someone_else_is_refused) {
        json_auto_t *alice_up = NULL, *bob_up = NULL, *q = NULL, *claim = NULL, *claimed = NULL,
                    *body = NULL, *to_device = NULL, *fwd = NULL;
        _cleanup_(crypto_freep) Crypto *alice = device("alice4", "@alice:test", "ALICE", &alice_up);
        _cleanup_(crypto_freep) Crypto *bob = device("bob4", "@bob:test", "BOB", &bob_up);
        char *users[] = { (char *) "@alice:test", NULL };
        _cleanup_free_ char *why = NULL;

        /* Bob opens an Olm session to alice and sends her a forwarded room key. */
        q = query_answer("@alice:test", "ALICE", alice_up);
        ASSERT_OK(crypto_devices_update(bob, q, users));
        ASSERT_OK(crypto_claim_body(bob, ROOM, users, &claim));
        claimed = claim_answer("@alice:test", "ALICE", alice_up);
        ASSERT_OK(crypto_claimed(bob, claim, claimed));
        fwd = json_pack("{s:s, s:s, s:s, s:s, s:s}", "algorithm", MEGOLM_ALGORITHM, "room_id", ROOM,
                        "session_id", "x", "session_key", "y", "sender_key", "z");
        ASSERT_OK(crypto_olm_encrypt(bob, "@alice:test", crypto_device(bob, "@alice:test", "ALICE"),
                                     "m.forwarded_room_key", fwd, &body));
        to_device = json_pack("{s:s, s:s, s:O}", "type", "m.room.encrypted", "sender", "@bob:test",
                              "content", body);
        ASSERT_EQ(crypto_to_device(alice, to_device, &why), -EPERM);
        ASSERT_STREQ(why, "a forwarded room key not from one of our own verified devices");
}

TEST(a_pre_key_message_without_its_identity_key_is_refused) {
        json_auto_t *alice_up = NULL, *bob_up = NULL, *to_device = NULL;
        _cleanup_(crypto_freep) Crypto *alice = device("alice6", "@alice:test", "ALICE", &alice_up);
        _cleanup_(crypto_freep) Crypto *bob = device("bob6", "@bob:test", "BOB", &bob_up);
        _cleanup_free_ char *why = NULL, *padded = NULL, *stripped = NULL;
        _cleanup_free_ uint8_t *m = NULL;
        const char *body;
        json_t *mine;
        size_t n;

        /* A real pre-key message, its identity key's field (tag 0x1A, 32 bytes, after the version
         * byte, the one-time key and the base key) cut out: libolm 3.2.13 read it anyway, from NULL. */
        ASSERT_OK(crypto_room_set_encryption(bob, ROOM, settings(0)));
        to_device = share_to_alice(alice_up, bob);
        mine = json_object_get(json_object_get(json_object_get(to_device, "content"), "ciphertext"),
                               crypto_curve25519(alice));
        body = json_string_value(json_object_get(mine, "body"));
        ASSERT_EQ(json_integer_value(json_object_get(mine, "type")), 0);
        /* Olm's base64 is unpadded. */
        ASSERT_TRUE(asprintf(&padded, "%s%.*s", body, (int) ((4 - strlen(body) % 4) % 4), "==") > 0);
        ASSERT_OK(base64_decode(padded, &m, &n));
        ASSERT_TRUE(n > 103 && m[0] == 3 && m[69] == 0x1A && m[70] == 32);
        memmove(m + 69, m + 103, n - 103);
        ASSERT_TRUE(stripped = base64_encode_unpadded(m, n - 34));
        ASSERT_OK(json_object_set_new(mine, "body", json_string(stripped)));

        ASSERT_OK(crypto_room_set_encryption(alice, ROOM, settings(0)));
        ASSERT_EQ(crypto_to_device(alice, to_device, &why), -EBADMSG);
        ASSERT_STREQ(why, "it does not decrypt");
}

TEST(a_room_key_for_a_room_we_are_not_in_is_refused) {
        json_auto_t *alice_up = NULL, *bob_up = NULL, *to_device = NULL;
        _cleanup_(crypto_freep) Crypto *alice = device("alice5", "@alice:test", "ALICE", &alice_up);
        _cleanup_(crypto_freep) Crypto *bob = device("bob5", "@bob:test", "BOB", &bob_up);
        _cleanup_free_ char *why = NULL;

        ASSERT_OK(crypto_room_set_encryption(bob, ROOM, settings(0)));
        to_device = share_to_alice(alice_up, bob);
        ASSERT_EQ(crypto_to_device(alice, to_device, &why), -EPERM);
        ASSERT_STREQ(why, "a room key for a room we are not in");
}

/* A to-device event as a stranger writes it: any sender_key, any body. */
static json_t *junk_to_device(Crypto *to, const char *sender_key, int type, const char *body) {
        return json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:{s:i, s:s}}}}", "type", "m.room.encrypted", "sender",
                         "@stranger:test", "content", "algorithm", OLM_ALGORITHM, "sender_key", sender_key,
                         "ciphertext", crypto_curve25519(to), "type", type, "body", body);
}

TEST(keys_from_outside_are_checked_and_junk_keeps_nothing) {
        json_auto_t *up = NULL, *ev = NULL;
        _cleanup_(crypto_freep) Crypto *bot = device("bot7", "@bot:test", "BOT", &up);
        _cleanup_free_ char *huge = malloc(60001), *why = NULL, *why2 = NULL;
        const char *valid = "A3zlu+0yX2X4UCmFPf2GDQAlgU2Xi7gaHnw5DV5hWmU";
        static const struct {
                const char *key;
                bool valid;
        } keys[] = {
                { "A3zlu+0yX2X4UCmFPf2GDQAlgU2Xi7gaHnw5DV5hWmU", true },
                { NULL, false },
                { "A3zlu+0yX2X4UCmFPf2GDQAlgU2Xi7gaHnw5DV5hWmU=", false },
                { "A3zlu+0yX2X4UCmFPf2GDQAlgU2Xi7gaHnw5DV5hWm", false },
                { "A3zlu+0yX2X4UCmFPf2GDQAlgU2Xi7gaHnw5DV5hW|U", false },
        };

        FOREACH_ROW(i, keys, "\"%s\"", keys[i].key ?: "(null)")
                ASSERT_EQ(crypto_key_valid(keys[i].key), keys[i].valid);
        ASSERT_TRUE(crypto_key_valid(crypto_curve25519(bot)));

        /* 60 KB "keys", as the flood that grew the store to 72 MB had. */
        memset(huge, 'A', 60000);
        huge[60000] = 0;
        for (int type = 0; type <= 1; type++) {
                json_auto_t *big = junk_to_device(bot, huge, type, "AwogAAAA"),
                            *unknown = junk_to_device(bot, valid, type, "AwogAAAA");
                free(why);
                ASSERT_EQ(crypto_to_device(bot, big, &why), -EBADMSG);
                ASSERT_STREQ(why, "its sender_key is not a Curve25519 key");
                ASSERT_TRUE(crypto_to_device(bot, unknown, NULL) < 0);
        }
        /* A lookup made no entry, and nothing was kept of what did not decrypt. */
        ASSERT_EQ(json_object_size(crypto_section(bot, "olm")), 0U);
        ASSERT_EQ(crypto_sessions_changed(bot), 0U);
        ASSERT_OK(crypto_room_set_encryption(bot, ROOM, settings(0)));
        ev = junk_to_device(bot, valid, 1, "x");
        ASSERT_EQ(crypto_to_device(bot, ev, &why2), -ENOKEY);
        ASSERT_EQ(json_object_size(crypto_section(bot, "olm")), 0U);
}

/* Bob, who shared with alice before, starts a new session and shares it: the to-device event. */
static json_t *share_again(Crypto *bob) {
        return share_from(bob, "@bob:test", NULL);
}

TEST(a_room_key_is_kept_only_from_a_member_of_its_room) {
        json_auto_t *alice_up = NULL, *bob_up = NULL, *mallory_up = NULL, *to_device = NULL, *enc = NULL, *ev = NULL,
                    *plain = NULL, *content = NULL;
        _cleanup_(crypto_freep) Crypto *alice = device("alice8", "@alice:test", "ALICE", &alice_up);
        _cleanup_(crypto_freep) Crypto *bob = device("bob8", "@bob:test", "BOB", &bob_up);

        ASSERT_OK(crypto_room_set_encryption(bob, ROOM, settings(0)));
        ASSERT_OK(crypto_room_set_encryption(alice, ROOM, settings(0)));
        to_device = share_to_alice(alice_up, bob);
        /* Bob is not known to be in the room: his key waits, and nothing decrypts with it. */
        ASSERT_EQ(crypto_to_device(alice, to_device, NULL), 0);
        ASSERT_EQ(json_object_size(crypto_section(alice, "inbound")), 0U);
        content = json_pack("{s:s, s:s}", "msgtype", "m.text", "body", "help");
        ASSERT_OK(crypto_room_encrypt(bob, ROOM, "m.room.message", content, &enc));
        ev = room_event(enc, "$m", "@bob:test");
        ASSERT_EQ(crypto_room_decrypt(alice, ROOM, ev, &plain, NULL), -ENOKEY);
        /* A member of another room, or of a room we are not in, changes nothing. */
        ASSERT_EQ(crypto_room_member(alice, "!other:test", "@bob:test", true), 0);
        ASSERT_EQ(crypto_room_member(alice, ROOM, "@carol:test", true), 0);
        ASSERT_EQ(json_object_size(crypto_section(alice, "inbound")), 0U);
        /* A stranger's flood of keys for the room, more than may wait: it pushes out only its own. */
        _cleanup_(crypto_freep) Crypto *mallory = device("mallory8", "@mallory:test", "MALLORY", &mallory_up);
        ASSERT_OK(crypto_room_set_encryption(mallory, ROOM, settings(0)));
        for (int i = 0; i < CRYPTO_PENDING_MAX + 10; i++) {
                json_auto_t *junk = share_from(mallory, "@mallory:test", i == 0 ? alice_up : NULL);
                ASSERT_EQ(crypto_to_device(alice, junk, NULL), 0);
        }
        /* Seen in the room (his message, or his member event): the key is kept, the message opens. */
        ASSERT_EQ(crypto_room_member(alice, ROOM, "@bob:test", true), 1);
        ASSERT_EQ(json_object_size(crypto_section(alice, "inbound")), 1U);
        ASSERT_OK(crypto_room_decrypt(alice, ROOM, ev, &plain, NULL));
        /* Once gone, his next keys wait again. */
        ASSERT_EQ(crypto_room_member(alice, ROOM, "@bob:test", false), 0);
        json_decref(to_device);
        to_device = share_again(bob);
        ASSERT_EQ(crypto_to_device(alice, to_device, NULL), 0);
        ASSERT_EQ(json_object_size(crypto_section(alice, "inbound")), 1U);
}

/* Bob's next room session, shared with alice (who holds bob as a member). */
static void next_session(Crypto *alice, Crypto *bob) {
        json_auto_t *to_device = share_again(bob);

        if (crypto_to_device(alice, to_device, NULL) != 1)
                abort();
}

TEST(megolm_sessions_and_their_seen_indices_are_bounded) {
        json_auto_t *alice_up = NULL, *bob_up = NULL;
        _cleanup_(crypto_freep) Crypto *alice = device("alice9", "@alice:test", "ALICE", &alice_up);
        _cleanup_(crypto_freep) Crypto *bob = device("bob9", "@bob:test", "BOB", &bob_up);
        json_t *events[CRYPTO_SEEN_MAX + 20] = {};
        json_auto_t *plain = NULL, *replay = NULL, *first = NULL;
        char event_id[32];

        ASSERT_OK(crypto_room_set_encryption(bob, ROOM, settings(1000)));
        ASSERT_OK(crypto_room_set_encryption(alice, ROOM, settings(0)));
        ASSERT_OK(crypto_room_member(alice, ROOM, "@bob:test", true));
        first = share_to_alice(alice_up, bob);
        ASSERT_EQ(crypto_to_device(alice, first, NULL), 1);
        /* More messages than remembered: each decrypts once; the oldest replayed is refused. */
        for (size_t i = 0; i < ELEMENTSOF(events); i++) {
                json_auto_t *content = json_pack("{s:s, s:s}", "msgtype", "m.text", "body", "help"), *enc = NULL;
                snprintf(event_id, sizeof(event_id), "$e%zu", i);
                ASSERT_OK(crypto_room_encrypt(bob, ROOM, "m.room.message", content, &enc));
                events[i] = room_event(enc, event_id, "@bob:test");
                ASSERT_OK(crypto_room_decrypt(alice, ROOM, events[i], &plain, NULL));
                json_decref(plain);
                plain = NULL;
        }
        json_t *entry = NULL, *v;
        const char *id;
        json_object_foreach(crypto_section(alice, "inbound"), id, v)
                entry = v;
        ASSERT_EQ(json_object_size(json_object_get(entry, "seen")), (size_t) CRYPTO_SEEN_MAX);
        replay = room_event(json_object_get(events[0], "content"), "$again", "@bob:test");
        ASSERT_EQ(crypto_room_decrypt(alice, ROOM, replay, &plain, NULL), -EEXIST);
        for (size_t i = 0; i < ELEMENTSOF(events); i++)
                json_decref(events[i]);

        /* Sessions of one sender in one room: the newest are kept. */
        for (int i = 0; i < CRYPTO_INBOUND_PER_SENDER + 5; i++)
                next_session(alice, bob);
        ASSERT_EQ(json_object_size(crypto_section(alice, "inbound")), (size_t) CRYPTO_INBOUND_PER_SENDER);
}

/* A store as an older bot left it after a flood: more peers than the limit (some of them devices
 * we know), junk keys, a session with a long seen map. */
TEST(a_store_over_its_limits_is_trimmed_at_start) {
        json_auto_t *up = NULL;
        _cleanup_(crypto_freep) Crypto *bot = device("bot10", "@bot:test", "BOT", &up), *again = NULL;
        _cleanup_free_ char *why = NULL;
        json_t *olm = crypto_section(bot, "olm"), *seen = json_object(), *known = json_object();
        const char *path = store_path("bot10");
        char key[64], idx[16];

        for (int i = 0; i < CRYPTO_PEERS_MAX + 200; i++) {
                snprintf(key, sizeof(key), "%043d", i);
                ASSERT_OK(json_object_set_new(olm, key, json_pack("[s]", "pickle")));
                /* The first ten peers are devices of a member: kept though used longest ago. */
                if (i < 10)
                        ASSERT_OK(json_object_set_new(known, key,
                                                      json_pack("{s:s, s:s, s:b}", "curve25519", key,
                                                                "ed25519", key, "cross_signed", 0)));
        }
        ASSERT_OK(json_object_set_new(olm, "junk|key", json_pack("[s]", "pickle")));
        ASSERT_OK(json_object_set_new(crypto_section(bot, "devices"), "@alice:test", known));
        for (int i = 0; i < CRYPTO_SEEN_MAX * 3; i++) {
                snprintf(idx, sizeof(idx), "%d", i);
                ASSERT_OK(json_object_set_new(seen, idx, json_string("$e")));
        }
        ASSERT_OK(json_object_set_new(seen, "not an index", json_string("$e")));
        /* Keys that read as numbers but are not ours: dropped, not looped over. */
        ASSERT_OK(json_object_set_new(seen, "00", json_string("$e")));
        ASSERT_OK(json_object_set_new(seen, "+1", json_string("$e")));
        ASSERT_OK(json_object_set_new(seen, " 2", json_string("$e")));
        ASSERT_OK(json_object_set_new(seen, "4294967296", json_string("$e")));
        ASSERT_OK(json_object_set_new(crypto_section(bot, "inbound"), ROOM "|A3zlu+0yX2X4UCmFPf2GDQAlgU2Xi7gaHnw5DV5hWmU|s",
                                      json_pack("{s:s, s:i, s:o}", "pickle", "p", "first", 0, "seen", seen)));
        ASSERT_OK(crypto_save(bot));

        ASSERT_OK(crypto_open(path, KEY, "@bot:test", "BOT", &again, &why));
        ASSERT_TRUE(crypto_trimmed(again) > 200);
        olm = crypto_section(again, "olm");
        ASSERT_TRUE(json_object_size(olm) <= CRYPTO_PEERS_MAX);
        ASSERT_FALSE(json_object_get(olm, "junk|key"));
        snprintf(key, sizeof(key), "%043d", 0);
        ASSERT_TRUE(json_object_get(olm, key) != NULL);
        snprintf(key, sizeof(key), "%043d", 10);
        ASSERT_FALSE(json_object_get(olm, key));
        snprintf(key, sizeof(key), "%043d", CRYPTO_PEERS_MAX + 199);
        ASSERT_TRUE(json_object_get(olm, key) != NULL);
        const char *id;
        json_object_foreach(crypto_section(again, "inbound"), id, seen) {
                ASSERT_EQ(json_object_size(json_object_get(seen, "seen")), (size_t) CRYPTO_SEEN_MAX);
                ASSERT_EQ(json_integer_value(json_object_get(seen, "floor")), CRYPTO_SEEN_MAX * 2);
        }
        /* One room member's flood of sessions: theirs go, the others' stay. */
        json_t *inbound = crypto_section(again, "inbound");
        for (int i = 0; i < CRYPTO_INBOUND_MAX + 100; i++) {
                char name[128];
                snprintf(name, sizeof(name), "!r%d:test|A3zlu+0yX2X4UCmFPf2GDQAlgU2Xi7gaHnw5DV5hWmU|s%d", i, i);
                ASSERT_OK(json_object_set_new(inbound, name, json_pack("{s:s, s:s}", "pickle", "p", "sender",
                                                                       "@mallory:test")));
                if (i % 100 == 0) {
                        snprintf(name, sizeof(name), ROOM "|A3zlu+0yX2X4UCmFPf2GDQAlgU2Xi7gaHnw5DV5hWmU|a%d",
                                 i);
                        ASSERT_OK(json_object_set_new(inbound, name, json_pack("{s:s, s:s}", "pickle", "p",
                                                                               "sender", "@alice:test")));
                }
        }
        ASSERT_OK(crypto_save(again));
        again = crypto_free(again);
        ASSERT_OK(crypto_open(path, KEY, "@bot:test", "BOT", &again, NULL));
        inbound = crypto_section(again, "inbound");
        ASSERT_TRUE(json_object_size(inbound) <= CRYPTO_INBOUND_MAX);
        size_t alices = 0;
        json_object_foreach(inbound, id, seen)
                alices += streq_ptr(json_string_value(json_object_get(seen, "sender")), "@alice:test");
        ASSERT_EQ(alices, 11U);
        /* Saved, it opens again with nothing more to trim. */
        ASSERT_OK(crypto_save(again));
        again = crypto_free(again);
        ASSERT_OK(crypto_open(path, KEY, "@bot:test", "BOT", &again, NULL));
        ASSERT_EQ(crypto_trimmed(again), 0U);
}
