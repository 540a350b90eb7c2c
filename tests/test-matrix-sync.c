/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "matrix-sync.h"
#include "tests.h"

static json_t *load(const char *text) {
        return json_loads(text, 0, NULL);
}

TEST(batch_keeps_what_matters_and_skips_the_malformed) {
        _cleanup_(matrix_sync_batch_freep) SyncBatch *b = NULL;
        json_auto_t *root = json_load_file(tests_data("sync-batch.json"), 0, NULL);

        ASSERT_TRUE(root);
        ASSERT_OK(matrix_sync_parse(root, "@bot:test", &b));
        ASSERT_STREQ(b->next_batch, "s72595_4483_1934");
        ASSERT_TRUE(b->limited);

        ASSERT_EQ(b->n_invites, 1);
        ASSERT_STREQ(b->invites[0].room_id, "!invited:test");
        ASSERT_STREQ(b->invites[0].inviter, "@alice:test");

        /* $1, $edit and $2: the bot's own, the sender-less, the bad ones are gone. */
        ASSERT_EQ(b->n_messages, 3);
        ASSERT_STREQ(b->messages[0].event_id, "$1");
        ASSERT_STREQ(b->messages[0].body, "help");
        ASSERT_STREQ(b->messages[0].room_id, "!room:test");
        ASSERT_EQ(b->messages[0].origin_server_ts, 1700000000000ULL);
        ASSERT_FALSE(b->messages[0].edit);
        ASSERT_STREQ(b->messages[1].event_id, "$edit");
        ASSERT_TRUE(b->messages[1].edit);
        ASSERT_STREQ(b->messages[2].msgtype, "m.notice");
}

TEST(no_next_batch_is_not_a_sync_answer) {
        static const char *const bad[] = {
                "{}", "[]", "{\"next_batch\": 5}", "{\"next_batch\": \"\"}", "\"x\"", "null",
        };

        FOREACH_ROW(i, bad, "%s", bad[i]) {
                json_auto_t *root = load(bad[i]);
                SyncBatch *b = NULL;

                ASSERT_EQ(matrix_sync_parse(root, "@bot:test", &b), -EBADMSG);
                ASSERT_TRUE(b == NULL);
        }
}

TEST(rooms_of_the_wrong_shape_are_ignored) {
        static const char *const odd[] = {
                "{\"next_batch\":\"a\",\"rooms\":[]}",
                "{\"next_batch\":\"a\",\"rooms\":{\"join\":[1,2]}}",
                "{\"next_batch\":\"a\",\"rooms\":{\"join\":{\"!r\":{\"timeline\":{\"events\":{}}}}}}",
                ("{\"next_batch\":\"a\",\"rooms\":{\"invite\":{\"!r\":"
                 "{\"invite_state\":{\"events\":[null]}}}}}"),
        };

        FOREACH_ROW(i, odd, "%s", odd[i]) {
                _cleanup_(matrix_sync_batch_freep) SyncBatch *b = NULL;
                json_auto_t *root = load(odd[i]);

                ASSERT_TRUE(root);
                ASSERT_OK(matrix_sync_parse(root, "@bot:test", &b));
                ASSERT_EQ(b->n_messages, 0);
                ASSERT_EQ(b->n_invites, 0);
        }
}

TEST(long_bodies_are_no_command_at_all) {
        _cleanup_(matrix_sync_batch_freep) SyncBatch *b = NULL;
        _cleanup_free_ char *body = malloc(100001), *text = NULL;
        json_auto_t *root = NULL;

        ASSERT_TRUE(body);
        memset(body, 'x', 100000);
        body[100000] = 0;
        ASSERT_TRUE(asprintf(&text,
                             "{\"next_batch\":\"a\",\"rooms\":{\"join\":{\"!r\":{\"timeline\":{\"events\":"
                             "[{\"type\":\"m.room.message\",\"event_id\":\"$x\",\"sender\":\"@a:t\","
                             "\"origin_server_ts\":1,\"content\":{\"msgtype\":\"m.text\",\"body\":\"%s\"}}]"
                             "}}}}}",
                             body) > 0);
        root = load(text);
        ASSERT_TRUE(root);
        ASSERT_OK(matrix_sync_parse(root, "@bot:test", &b));
        ASSERT_EQ(b->n_messages, 1);
        /* Nothing of it is kept: cut to 4,096 bytes, "run price" and 5,000 blanks would be a command. */
        ASSERT_STREQ(b->messages[0].body, "");
        ASSERT_EQ(b->messages[0].body_size, 100000);
}

/* A sync answer with one room's timeline of events; NULL if it does not parse. */
static SyncBatch *parse_events(const char *events) {
        _cleanup_free_ char *text = NULL;
        json_auto_t *root = NULL;
        SyncBatch *b = NULL;

        if (asprintf(&text,
                     "{\"next_batch\":\"a\",\"rooms\":{\"join\":{\"!r\":{\"timeline\":"
                     "{\"events\":[%s]}}}}}",
                     events) < 0)
                return NULL;
        root = json_loads(text, JSON_ALLOW_NUL, NULL);
        if (!root || matrix_sync_parse(root, "@bot:test", &b) < 0)
                return NULL;
        return b;
}

TEST(a_nul_in_the_body_is_seen) {
        _cleanup_(matrix_sync_batch_freep) SyncBatch *b =
                parse_events("{\"type\":\"m.room.message\",\"event_id\":\"$x\",\"sender\":\"@a:t\","
                             "\"origin_server_ts\":1,"
                             "\"content\":{\"msgtype\":\"m.text\",\"body\":\"run price\\u0000; reboot\"}}");

        ASSERT_TRUE(b);
        ASSERT_EQ(b->n_messages, 1);
        ASSERT_STREQ(b->messages[0].body, "run price");
        ASSERT_EQ(b->messages[0].body_size, strlen("run price") + 1 + strlen("; reboot"));
}

TEST(a_replys_quote_is_not_its_command) {
        _cleanup_(matrix_sync_batch_freep) SyncBatch *b =
                parse_events("{\"type\":\"m.room.message\",\"event_id\":\"$1\",\"sender\":\"@a:t\","
                             "\"origin_server_ts\":1,"
                             "\"content\":{\"msgtype\":\"m.text\","
                             "\"body\":\"> <@b:t> run maintenance\\n> now\\n\\nhelp\","
                             "\"m.relates_to\":{\"m.in_reply_to\":{\"event_id\":\"$0\"}}}},"
                             "{\"type\":\"m.room.message\",\"event_id\":\"$2\",\"sender\":\"@a:t\","
                             "\"origin_server_ts\":1,"
                             "\"content\":{\"msgtype\":\"m.text\",\"body\":\"> <@b:t> run maintenance\","
                             "\"m.relates_to\":{\"m.in_reply_to\":{\"event_id\":\"$0\"}}}},"
                             "{\"type\":\"m.room.message\",\"event_id\":\"$3\",\"sender\":\"@a:t\","
                             "\"origin_server_ts\":1,"
                             "\"content\":{\"msgtype\":\"m.text\",\"body\":\"> run ping\\n\\nhelp\"}}");

        ASSERT_TRUE(b);
        ASSERT_EQ(b->n_messages, 3);
        ASSERT_STREQ(b->messages[0].body, "help");
        ASSERT_EQ(b->messages[0].body_size, 4);
        /* Nothing but the quote: nothing of the sender's own. */
        ASSERT_STREQ(b->messages[1].body, "");
        ASSERT_EQ(b->messages[1].body_size, 0);
        /* No reply: the text is all the sender's, and as it is no command. */
        ASSERT_STREQ(b->messages[2].body, "> run ping\n\nhelp");
}

TEST(the_sender_is_the_homeservers_never_the_contents) {
        _cleanup_(matrix_sync_batch_freep) SyncBatch *b = parse_events(
                "{\"type\":\"m.room.message\",\"event_id\":\"$x\",\"sender\":\"@mallory:t\","
                "\"origin_server_ts\":1,\"content\":{\"msgtype\":\"m.text\",\"body\":\"run ping\","
                "\"sender\":\"@alice:t\",\"user_id\":\"@alice:t\",\"formatted_body\":\"run maintenance\"}},"
                "{\"type\":\"m.room.encrypted\",\"event_id\":\"$e\",\"sender\":\"@mallory:t\","
                "\"origin_server_ts\":1,\"content\":{\"algorithm\":\"m.megolm.v1.aes-sha2\"}}");
        json_auto_t *plain = load("{\"type\":\"m.room.message\",\"sender\":\"@alice:t\",\"room_id\":\"!o\","
                                  "\"content\":{\"msgtype\":\"m.text\",\"body\":\"help\"}}");

        ASSERT_TRUE(b);
        ASSERT_EQ(b->n_messages, 2);
        ASSERT_STREQ(b->messages[0].sender, "@mallory:t");
        /* body is the command; formatted_body is only how a client shows it. */
        ASSERT_STREQ(b->messages[0].body, "run ping");
        ASSERT_OK(matrix_sync_message_decrypted(&b->messages[1], plain));
        ASSERT_STREQ(b->messages[1].sender, "@mallory:t");
        ASSERT_STREQ(b->messages[1].room_id, "!r");
}

TEST(filter_is_json) {
        json_auto_t *f = load(matrix_sync_filter());

        ASSERT_TRUE(json_is_object(f));
}

TEST(encryption_keys_and_members_are_noted) {
        _cleanup_(matrix_sync_batch_freep) SyncBatch *b = NULL;
        json_auto_t *root =
                load("{\"next_batch\":\"a\",\"to_device\":{\"events\":[{\"type\":\"m.room.encrypted\"},7]},"
                     "\"device_lists\":{\"changed\":[\"@a:t\",{}]},"
                     "\"device_one_time_keys_count\":{\"signed_curve25519\":12},"
                     "\"device_unused_fallback_key_types\":[],"
                     "\"rooms\":{\"join\":{\"!r\":{"
                     "\"state\":{\"events\":[{\"type\":\"m.room.encryption\",\"state_key\":\"\","
                     "\"content\":{\"algorithm\":\"m.megolm.v1.aes-sha2\"}}]},"
                     "\"timeline\":{\"events\":["
                     "{\"type\":\"m.room.member\",\"state_key\":\"@b:t\",\"sender\":\"@b:t\","
                     "\"content\":{\"membership\":\"leave\"}},"
                     "{\"type\":\"m.room.encrypted\",\"event_id\":\"$e\",\"sender\":\"@a:t\","
                     "\"origin_server_ts\":1,\"content\":{\"algorithm\":\"m.megolm.v1.aes-sha2\"}},"
                     "{\"type\":\"m.room.encrypted\",\"event_id\":\"$f\",\"sender\":\"@a:t\","
                     "\"origin_server_ts\":1,\"content\":\"not an object\"}]}}}}}");
        json_auto_t *plain =
                load("{\"type\":\"m.room.message\",\"content\":{\"msgtype\":\"m.text\",\"body\":\"help\"}}");

        ASSERT_OK(matrix_sync_parse(root, "@bot:test", &b));
        ASSERT_EQ(json_array_size(b->to_device), 1);
        ASSERT_EQ(json_array_size(b->devices_changed), 1);
        ASSERT_EQ(b->otk_count, 12);
        ASSERT_TRUE(b->fallback_used);
        ASSERT_TRUE(json_object_get(b->encryption, "!r") != NULL);
        ASSERT_TRUE(json_is_true(json_object_get(b->members_changed, "!r")));
        /* The encrypted message waits for its decryption; the malformed one is left out. */
        ASSERT_EQ(b->n_messages, 1);
        ASSERT_TRUE(b->messages[0].encrypted != NULL);
        ASSERT_TRUE(b->messages[0].body == NULL);
        ASSERT_OK(matrix_sync_message_decrypted(&b->messages[0], plain));
        ASSERT_STREQ(b->messages[0].body, "help");
        ASSERT_STREQ(b->messages[0].msgtype, "m.text");
}

TEST(left_out_events_go_before_the_timeline) {
        _cleanup_(matrix_sync_batch_freep) SyncBatch *b = NULL;
        json_auto_t *root =
                load("{\"next_batch\":\"a\",\"rooms\":{\"join\":{\"!r\":{\"timeline\":{"
                     "\"limited\":true,\"prev_batch\":\"p1\",\"events\":["
                     "{\"type\":\"m.room.message\",\"event_id\":\"$3\",\"sender\":\"@a:t\","
                     "\"origin_server_ts\":3,\"content\":{\"msgtype\":\"m.text\",\"body\":\"c\"}}]}}}}}");
        json_auto_t *older =
                load("[{\"type\":\"m.room.message\",\"event_id\":\"$1\",\"sender\":\"@a:t\","
                     "\"origin_server_ts\":1,\"content\":{\"msgtype\":\"m.text\",\"body\":\"a\"}},"
                     "{\"type\":\"m.room.message\",\"event_id\":\"$x\",\"sender\":\"@bot:test\","
                     "\"origin_server_ts\":1,\"content\":{\"msgtype\":\"m.notice\",\"body\":\"x\"}},"
                     "{\"type\":\"m.room.message\",\"event_id\":\"$2\",\"sender\":\"@a:t\","
                     "\"origin_server_ts\":2,\"content\":{\"msgtype\":\"m.text\",\"body\":\"b\"}}]");

        ASSERT_OK(matrix_sync_parse(root, "@bot:test", &b));
        ASSERT_TRUE(b->limited);
        ASSERT_STREQ(json_string_value(json_object_get(b->gaps, "!r")), "p1");
        ASSERT_OK(matrix_sync_prepend_events(b, "!r", older, "@bot:test"));
        ASSERT_EQ(b->n_messages, 3);
        ASSERT_STREQ(b->messages[0].body, "a");
        ASSERT_STREQ(b->messages[1].body, "b");
        ASSERT_STREQ(b->messages[2].body, "c");
}

TEST(left_out_events_of_a_batch_without_messages) {
        _cleanup_(matrix_sync_batch_freep) SyncBatch *b = NULL;
        json_auto_t *root = load("{\"next_batch\":\"a\"}");
        json_auto_t *older = load("[{\"type\":\"m.room.message\",\"event_id\":\"$1\",\"sender\":\"@a:t\","
                                  "\"origin_server_ts\":1,\"content\":{\"msgtype\":\"m.text\",\"body\":\"a\"}}]");
        json_auto_t *none = load("[]");

        ASSERT_OK(matrix_sync_parse(root, "@bot:test", &b));
        ASSERT_OK(matrix_sync_prepend_events(b, "!r", none, "@bot:test"));
        ASSERT_EQ(b->n_messages, 0);
        ASSERT_OK(matrix_sync_prepend_events(b, "!r", older, "@bot:test"));
        ASSERT_EQ(b->n_messages, 1);
        ASSERT_STREQ(b->messages[0].body, "a");
}
