/* SPDX-License-Identifier: GPL-3.0-or-later */

/* While a maintenance runs, its customer sees it: the "initiated" message (or, for a scheduled
 * one, a progress message of the bot's own) is edited with the time so far and the current step,
 * at most every 30 s, and the bot keeps a typing notice in the room. All of it is best effort on a
 * lane of its own, one request at a time and never retried: results go through the ops, which
 * nothing here waits for or reorders. */

#include "e2ee-rooms.h"
#include "log.h"
#include "manager.h"
#include "progress-io.h"
#include "progress.h"
#include "reply.h"
#include "results.h"

#define EDIT_INTERVAL_USEC (30ULL * USEC_PER_SEC)
#define TYPING_TIMEOUT_MS 30000U
#define TYPING_RENEW_USEC (25ULL * USEC_PER_SEC)
/* A run whose "initiated" id we do not know (we restarted since) gets a message of its own. */
#define INITIATED_WAIT_USEC (30ULL * USEC_PER_SEC)
#define TICK_USEC (5ULL * USEC_PER_SEC)
#define REQUEST_TIMEOUT_MS 15000U
#define PROGRESS_MAX 256U
/* A run never reported (its result dropped): longer than any maintenance may take. */
#define PROGRESS_GIVE_UP_USEC (25ULL * 3600ULL * USEC_PER_SEC)

static void progress_free(Progress *p) {
        free(p->run);
        free(p->room);
        free(p->reply_to);
        free(p->target);
        free(p->step);
        free(p->shown);
        free(p);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Progress *, progress_free);

static Progress *progress_find(Manager *m, const char *run) {
        for (Progress *p = m->progress; p; p = p->next)
                if (streq(p->run, run))
                        return p;
        return NULL;
}

static Progress *progress_add(Manager *m, const RunResult *e) {
        _cleanup_(progress_freep) Progress *p = NULL;
        Progress **tail = &m->progress;
        size_t n = 0;

        for (; *tail; tail = &(*tail)->next)
                n++;
        if (n >= PROGRESS_MAX)
                return NULL;
        p = calloc(1, sizeof(Progress));
        if (!p)
                return NULL;
        p->run = strdup(e->run);
        p->room = strdup(e->room);
        p->reply_to = strdup(strempty(e->reply_to));
        if (!p->run || !p->room || !p->reply_to)
                return NULL;
        p->initiated = streq_ptr(e->mode, "run") && !isempty(e->reply_to);
        p->started = e->started;
        p->seen = now_usec(CLOCK_MONOTONIC);
        *tail = p;
        return TAKE_PTR(p);
}

static void progress_remove(Manager *m, Progress *p) {
        for (Progress **i = &m->progress; *i; i = &(*i)->next)
                if (*i == p) {
                        *i = p->next;
                        break;
                }
        if (m->progress_busy == p) {
                matrix_request_cancel(m->progress_request);
                m->progress_request = NULL;
                m->progress_busy = NULL;
        }
        progress_free(p);
}

void progress_entry(Manager *m, const RunResult *e) {
        const char *room = isempty(e->room) ? state_get_room(m->state, e->customer) : e->room;
        RunResult copy = *e;
        Progress *p;

        /* Only into one of the customer's own rooms (the run says which; it could lie). */
        if (!room || !state_room_is_customers(m->state, room, e->customer))
                return;
        copy.room = (char *) room;
        p = progress_find(m, e->run) ?: progress_add(m, &copy);
        if (!p || p->finished || free_and_strdup(&p->step, e->step) < 0)
                return;
        progress_step(m);
}

void progress_note_initiated(Manager *m, const char *command_event, const char *event_id) {
        Initiated *i = &m->initiated[m->n_initiated++ % INITIATED_MAX];

        free(i->command_event);
        free(i->event_id);
        i->command_event = strdup(command_event);
        i->event_id = strdup(event_id);
        progress_step(m);
}

void progress_delivered(Manager *m, const char *run) {
        Progress *p = progress_find(m, run);

        if (!p)
                return;
        p->finished = true;
        progress_step(m);
}

static const char *initiated_lookup(Manager *m, const char *command_event) {
        for (size_t i = 0; i < INITIATED_MAX; i++)
                if (streq_ptr(m->initiated[i].command_event, command_event))
                        return m->initiated[i].event_id;
        return NULL;
}

static void on_progress_done(MatrixRequest *req, const MatrixResponse *resp, void *userdata) {
        Manager *m = userdata;
        Progress *p = m->progress_busy;
        const char *event_id = json_string_value(json_object_get(resp->json, "event_id"));

        m->progress_request = NULL;
        m->progress_busy = NULL;
        if (resp->status != 200)
                log_debug("Progress for %s not shown: HTTP %li %s, ignoring.", p ? p->run : "a gone run",
                          resp->status, strempty(resp->errcode));
        /* A progress message of our own: from now on it is the one edited. */
        else if (p && !p->target && event_id)
                (void) free_and_strdup(&p->target, event_id);
        progress_step(m);
}

static int progress_request(Manager *m, Progress *p, const char *method, const char *path, json_t *body) {
        int r;

        r = matrix_request(m->matrix, method, path, body, REQUEST_TIMEOUT_MS, on_progress_done, m,
                           &m->progress_request);
        if (r < 0)
                return log_debug_errno(r, "Failed to send progress, ignoring: %m");
        m->progress_busy = p;
        return 0;
}

static int progress_typing(Manager *m, Progress *p, bool typing) {
        _cleanup_free_ char *room = matrix_escape(p->room), *user = matrix_escape(m->config->user_id),
                            *path = NULL;
        json_auto_t *body = typing ? json_pack("{s:b, s:i}", "typing", 1, "timeout", TYPING_TIMEOUT_MS) :
                                     json_pack("{s:b}", "typing", 0);

        if (!room || !user || !body ||
            asprintf(&path, "/_matrix/client/v3/rooms/%s/typing/%s", room, user) < 0)
                return -ENOMEM;
        p->typing_until = typing ? now_usec(CLOCK_MONOTONIC) + TYPING_RENEW_USEC : 0;
        return progress_request(m, p, "PUT", path, body);
}

/* The text to show now, or NULL when the target shows it already. */
static char *progress_due_text(Progress *p) {
        usec_t now = now_usec(CLOCK_REALTIME);
        char *text = NULL;

        if (progress_text(p->initiated, p->step, now > p->started ? now - p->started : 0, p->finished,
                          &text) < 0)
                return NULL;
        if (streq_ptr(text, p->shown))
                return mfree(text);
        return text;
}

static int progress_send(Manager *m, Progress *p, char *text) {
        _cleanup_free_ char *room = matrix_escape(p->room), *txn = NULL, *path = NULL;
        json_auto_t *content = NULL;
        bool encrypted = false;
        int r;

        /* The txn id of our own progress message is the run's, so a repeat is the same message. */
        r = p->target ? progress_edit_content(p->target, text, &content) :
                        reply_content(text, p->reply_to, &content);
        /* In an encrypted room only when no key sharing is due: the ops do that, this waits. */
        if (r >= 0 && e2ee_room_encrypted(m, p->room)) {
                json_t *plain = TAKE_PTR(content);
                encrypted = true;
                r = e2ee_encrypt_now(m, p->room, plain, &content);
                json_decref(plain);
                if (r < 0) {
                        free(text);
                        return r == -ENOMEM ? r : 0;
                }
        }
        if (r >= 0)
                r = p->target ? asprintf(&txn, "progress-%s-%u", p->run, p->edits) :
                                asprintf(&txn, "progress-%s", p->run);
        if (r < 0 || !room ||
            asprintf(&path, "/_matrix/client/v3/rooms/%s/send/%s/%s", room,
                     encrypted ? "m.room.encrypted" : "m.room.message", txn) < 0) {
                free(text);
                return -ENOMEM;
        }
        free(p->shown);
        p->shown = text;
        p->edits++;
        p->edited = now_usec(CLOCK_MONOTONIC);
        return progress_request(m, p, "PUT", path, content);
}

/* The one thing p needs now, if any: 1 when a request went out. */
static int progress_act(Manager *m, Progress *p) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        char *text;

        if (now > p->seen + PROGRESS_GIVE_UP_USEC)
                p->finished = true;
        if (!p->target && p->initiated) {
                const char *id = initiated_lookup(m, p->reply_to);
                if (id && free_and_strdup(&p->target, id) < 0)
                        return -ENOMEM;
                if (!id && now < p->seen + INITIATED_WAIT_USEC && !p->finished)
                        return 0;
                p->initiated = !!id;
        }
        if (p->finished && !p->target)
                return p->typing_until > 0 ? progress_typing(m, p, false) >= 0 : 0;
        if (p->finished || p->edits == 0 || now >= p->edited + EDIT_INTERVAL_USEC) {
                text = progress_due_text(p);
                if (text)
                        return progress_send(m, p, text) >= 0;
        }
        if (p->finished)
                return p->typing_until > 0 ? progress_typing(m, p, false) >= 0 : 0;
        if (now + TICK_USEC >= p->typing_until)
                return progress_typing(m, p, true) >= 0;
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        progress_step(userdata);
        return 0;
}

/* While any run is shown, look again every TICK_USEC. */
static void progress_arm(Manager *m) {
        if (!m->progress)
                return;
        if (!m->progress_timer &&
            sd_event_add_time_relative(m->event, &m->progress_timer, CLOCK_MONOTONIC, TICK_USEC, 0, on_tick,
                                       m) < 0)
                return;
        (void) sd_event_source_set_time_relative(m->progress_timer, TICK_USEC);
        (void) sd_event_source_set_enabled(m->progress_timer, SD_EVENT_ONESHOT);
}

void progress_step(Manager *m) {
        Progress *next;

        progress_arm(m);
        if (m->progress_request || !matrix_client_has_token(m->matrix))
                return;
        for (Progress *p = m->progress; p; p = next) {
                next = p->next;
                if (progress_act(m, p) != 0)
                        return;
                if (p->finished && !m->progress_request)
                        progress_remove(m, p);
        }
}

void progress_free_all(Manager *m) {
        while (m->progress)
                progress_remove(m, m->progress);
        for (size_t i = 0; i < INITIATED_MAX; i++) {
                free(m->initiated[i].command_event);
                free(m->initiated[i].event_id);
        }
        m->progress_timer = sd_event_source_disable_unref(m->progress_timer);
}
