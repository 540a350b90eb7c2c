/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <sys/stat.h>

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

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
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
