/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "tests.h"

static const char *fresh_dir(const char *name) {
        static char path[4096];

        snprintf(path, sizeof(path), "%s/%s", tests_tmpdir(), name);
        if (mkdir(path, 0700) < 0)
                abort();
        return path;
}

TEST(round_trip) {
        const char *dir = fresh_dir("rt");
        State *s = NULL, *t = NULL;
        struct stat st;
        char path[4200];

        ASSERT_OK(state_load(dir, "http://hs", "@bot:test", &s));
        ASSERT_TRUE(s->since == NULL);
        ASSERT_OK(state_set_session(s, "DEVICE", "secret-token"));
        ASSERT_OK(state_set_since(s, "s1_2"));
        ASSERT_OK(state_set_room(s, "acme", "!a:test"));
        ASSERT_OK(state_save(s));
        state_free(s);

        snprintf(path, sizeof(path), "%s/state.json", dir);
        ASSERT_OK(stat(path, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600);

        ASSERT_OK(state_load(dir, "http://hs", "@bot:test", &t));
        ASSERT_STREQ(t->device_id, "DEVICE");
        ASSERT_STREQ(t->access_token, "secret-token");
        ASSERT_STREQ(t->since, "s1_2");
        ASSERT_STREQ(state_get_room(t, "acme"), "!a:test");
        ASSERT_TRUE(state_get_room(t, "globex") == NULL);
        state_free(t);

        /* Another account: the session and position do not apply. */
        ASSERT_OK(state_load(dir, "http://hs", "@other:test", &t));
        ASSERT_TRUE(t->access_token == NULL);
        ASSERT_TRUE(t->since == NULL);
        state_free(t);
}

static void write_state(const char *dir, const char *text) {
        char path[4200];
        FILE *f;

        snprintf(path, sizeof(path), "%s/state.json", dir);
        f = fopen(path, "we");
        ASSERT_TRUE(f);
        fputs(text, f);
        fclose(f);
}

TEST(a_room_stays_its_customers) {
        const char *dir = fresh_dir("bound");
        State *s = NULL;

        ASSERT_OK(state_load(dir, "http://hs", "@bot:test", &s));
        ASSERT_FALSE(state_room_is_others(s, "!a:test", "globex"));
        ASSERT_OK(state_set_room(s, "acme", "!a:test"));
        ASSERT_OK(state_set_room(s, "acme", "!a2:test"));
        /* acme's earlier room is still acme's, not free for another customer's owner. */
        ASSERT_TRUE(state_room_is_others(s, "!a:test", "globex"));
        ASSERT_TRUE(state_room_is_others(s, "!a2:test", "globex"));
        ASSERT_FALSE(state_room_is_others(s, "!a:test", "acme"));
        ASSERT_FALSE(state_room_is_others(s, "!b:test", "globex"));
        ASSERT_OK(state_save(s));
        state_free(s);

        ASSERT_OK(state_load(dir, "http://hs", "@bot:test", &s));
        ASSERT_TRUE(state_room_is_others(s, "!a:test", "globex"));
        ASSERT_STREQ(state_get_room(s, "acme"), "!a2:test");
        state_free(s);

        /* A state written before rooms were bound: each customer's room is theirs. */
        dir = fresh_dir("old");
        write_state(dir, "{\"homeserver\":\"http://hs\",\"user_id\":\"@bot:test\","
                         "\"rooms\":{\"acme\":\"!a:test\",\"globex\":\"!b:test\"}}");
        ASSERT_OK(state_load(dir, "http://hs", "@bot:test", &s));
        ASSERT_TRUE(state_room_is_others(s, "!a:test", "globex"));
        ASSERT_TRUE(state_room_is_others(s, "!b:test", "acme"));
        ASSERT_FALSE(state_room_is_others(s, "!b:test", "globex"));
        state_free(s);
}

TEST(corrupt_files_are_refused) {
        static const char *const bad[] = {
                "{", "[]", "{\"homeserver\":\"http://hs\",\"user_id\":\"@bot:test\",\"since\":5}",
                "{\"homeserver\":\"http://hs\",\"user_id\":\"@bot:test\",\"rooms\":{\"acme\":1}}",
                "{\"homeserver\":\"http://hs\",\"user_id\":\"@bot:test\",\"room_customers\":[]}",
                "{\"homeserver\":\"http://hs\",\"user_id\":\"@bot:test\",\"room_customers\":{\"!a:t\":2}}",
        };

        FOREACH_ROW(i, bad, "%s", bad[i]) {
                char name[32], path[4200];
                const char *dir;
                State *s = NULL;
                FILE *f;

                snprintf(name, sizeof(name), "bad%zu", i);
                dir = fresh_dir(name);
                snprintf(path, sizeof(path), "%s/state.json", dir);
                f = fopen(path, "we");
                ASSERT_TRUE(f);
                fputs(bad[i], f);
                fclose(f);
                ASSERT_EQ(state_load(dir, "http://hs", "@bot:test", &s), -EBADMSG);
                ASSERT_TRUE(s == NULL);
        }
}

TEST(refused_runs_are_kept_and_bounded) {
        const char *dir = fresh_dir("refused");
        State *s = NULL, *t = NULL;
        char id[32];

        ASSERT_OK(state_load(dir, "http://hs", "@bot:test", &s));
        for (int i = 0; i < REFUSED_RUNS_MAX + 6; i++) {
                snprintf(id, sizeof(id), "$e%d", i);
                ASSERT_OK(state_note_refused_run(s, id));
        }
        ASSERT_OK(state_save(s));
        state_free(s);
        ASSERT_OK(state_load(dir, "http://hs", "@bot:test", &t));
        /* The latest REFUSED_RUNS_MAX: enough for the batch a crash can repeat. */
        snprintf(id, sizeof(id), "$e%d", REFUSED_RUNS_MAX + 5);
        ASSERT_TRUE(state_run_refused(t, id));
        ASSERT_TRUE(state_run_refused(t, "$e6"));
        ASSERT_FALSE(state_run_refused(t, "$e5"));
        state_free(t);
}

static bool file_exists(const char *dir, const char *name) {
        char path[4200];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return access(path, F_OK) == 0;
}

static void remove_file(const char *dir, const char *name) {
        char path[4200];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        ASSERT_OK(unlink(path));
}

static char *read_text(const char *dir, const char *name) {
        char path[4200], *text = NULL;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (read_full_file(path, 1U << 20, &text, NULL) < 0)
                return strdup("");
        return text;
}

TEST(monitoring_memory_moves_out_of_an_old_state) {
        const char *dir = fresh_dir("upgrade");
        _cleanup_free_ char *state_text = NULL, *monitoring_text = NULL;
        State *s = NULL, *t = NULL;
        struct stat st;
        char path[4200];
        json_t *acme;

        /* An installation from before monitoring.json: acme's check failed and acme was told. */
        write_state(dir, "{\"homeserver\":\"http://hs\",\"user_id\":\"@bot:test\",\"since\":\"s9\","
                         "\"alerts\":{\"acme\":{\"last\":1700000000000000,\"reminded\":1700000500,"
                         "\"checks\":{\"25 (tcp port)\":{\"fails\":3,\"alerted\":true,\"line\":\"x\"}}}}}");
        ASSERT_OK(state_load(dir, "http://hs", "@bot:test", &s));
        acme = state_get_alerts(s, "acme");
        ASSERT_EQ(json_integer_value(json_object_get(acme, "last")), 1700000000000000);
        /* Nothing else changed, and still the next save moves them. */
        ASSERT_OK(state_set_since(s, "s9"));
        ASSERT_OK(state_save(s));
        state_free(s);

        snprintf(path, sizeof(path), "%s/monitoring.json", dir);
        ASSERT_OK(stat(path, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600);
        state_text = read_text(dir, "state.json");
        ASSERT_TRUE(strstr(state_text, "alerts") == NULL);
        ASSERT_TRUE(strstr(state_text, "\"s9\""));

        ASSERT_OK(state_load(dir, "http://hs", "@bot:test", &t));
        acme = state_get_alerts(t, "acme");
        ASSERT_EQ(json_integer_value(json_object_get(acme, "last")), 1700000000000000);
        ASSERT_EQ(json_integer_value(json_object_get(acme, "reminded")), 1700000500);
        ASSERT_TRUE(json_is_true(json_object_get(
                json_object_get(json_object_get(acme, "checks"), "25 (tcp port)"), "alerted")));
        ASSERT_FALSE(t->unsaved);
        ASSERT_FALSE(t->alerts_unsaved);
        state_free(t);
        monitoring_text = read_text(dir, "monitoring.json");
        ASSERT_TRUE(strstr(monitoring_text, "25 (tcp port)"));
}

TEST(monitoring_json_wins_over_an_old_states_alerts) {
        const char *dir = fresh_dir("crashed");
        char path[4200];
        State *s = NULL;
        FILE *f;

        /* A crash after monitoring.json was written, before state.json was written without them. */
        write_state(dir, "{\"homeserver\":\"http://hs\",\"user_id\":\"@bot:test\","
                         "\"alerts\":{\"acme\":{\"last\":1}}}");
        snprintf(path, sizeof(path), "%s/monitoring.json", dir);
        f = fopen(path, "we");
        ASSERT_TRUE(f);
        fputs("{\"homeserver\":\"http://hs\",\"user_id\":\"@bot:test\",\"alerts\":{\"acme\":{\"last\":2}}}",
              f);
        fclose(f);
        ASSERT_OK(state_load(dir, "http://hs", "@bot:test", &s));
        ASSERT_EQ(json_integer_value(json_object_get(state_get_alerts(s, "acme"), "last")), 2);
        ASSERT_FALSE(s->alerts_unsaved);
        state_free(s);

        /* Another account's: forgotten, like its state. */
        ASSERT_OK(state_load(dir, "http://hs", "@other:test", &s));
        ASSERT_EQ(json_object_size(s->alerts), 0);
        state_free(s);

        /* Not ours to read. */
        f = fopen(path, "we");
        ASSERT_TRUE(f);
        fputs("{\"homeserver\":\"http://hs\",\"user_id\":\"@bot:test\",\"alerts\":[]}", f);
        fclose(f);
        ASSERT_EQ(state_load(dir, "http://hs", "@bot:test", &s), -EBADMSG);
}

TEST(nothing_changed_nothing_written) {
        const char *dir = fresh_dir("quiet");
        State *s = NULL;

        ASSERT_OK(state_load(dir, "http://hs", "@bot:test", &s));
        ASSERT_OK(state_set_since(s, "s1"));
        ASSERT_OK(state_save(s));
        remove_file(dir, "state.json");
        /* The same position again, and monitoring's memory changed: state.json is not written. */
        ASSERT_OK(state_set_since(s, "s1"));
        ASSERT_OK(json_object_set_new(state_get_alerts(s, "acme"), "last", json_integer(5)));
        state_alerts_changed(s, "acme");
        ASSERT_OK(state_save_alerts(s));
        ASSERT_OK(state_save(s));
        ASSERT_FALSE(file_exists(dir, "state.json"));
        ASSERT_TRUE(file_exists(dir, "monitoring.json"));
        /* A new position is. */
        ASSERT_OK(state_set_since(s, "s2"));
        ASSERT_OK(state_save(s));
        ASSERT_TRUE(file_exists(dir, "state.json"));

        /* One customer's memory changed again, another's not: both as they are now. */
        ASSERT_OK(json_object_set_new(state_get_alerts(s, "globex"), "last", json_integer(7)));
        state_alerts_changed(s, "globex");
        ASSERT_OK(state_save_alerts(s));
        ASSERT_OK(json_object_set_new(state_get_alerts(s, "acme"), "last", json_integer(6)));
        state_alerts_changed(s, "acme");
        ASSERT_OK(state_save_alerts(s));
        state_free(s);
        ASSERT_OK(state_load(dir, "http://hs", "@bot:test", &s));
        ASSERT_EQ(json_integer_value(json_object_get(state_get_alerts(s, "acme"), "last")), 6);
        ASSERT_EQ(json_integer_value(json_object_get(state_get_alerts(s, "globex"), "last")), 7);
        ASSERT_EQ(json_object_size(s->alerts), 2);
        state_free(s);
}

TEST(a_file_is_read_whole_up_to_its_limit) {
        const char *dir = fresh_dir("sizes");
        static const size_t sizes[] = { 0, 1, 4095, 4096, 4097, 100000 };
        char path[4200];

        snprintf(path, sizeof(path), "%s/f", dir);
        FOREACH_ROW(i, sizes, "%zu bytes", sizes[i]) {
                _cleanup_free_ char *text = NULL, *again = NULL;
                size_t n = 0;
                FILE *f = fopen(path, "we");

                ASSERT_TRUE(f);
                for (size_t k = 0; k < sizes[i]; k++)
                        fputc('a' + (int) (k % 26), f);
                fclose(f);
                ASSERT_OK(read_full_file(path, sizes[i], &text, &n));
                ASSERT_EQ(n, sizes[i]);
                ASSERT_EQ(strlen(text), sizes[i]);
                ASSERT_TRUE(sizes[i] == 0 || text[sizes[i] - 1] == 'a' + (int) ((sizes[i] - 1) % 26));
                if (sizes[i] > 0)
                        ASSERT_EQ(read_full_file(path, sizes[i] - 1, &again, &n), -EFBIG);
                ASSERT_TRUE(again == NULL);
        }
}
