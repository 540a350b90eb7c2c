/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What the notifier keeps across restarts, in STATE_DIR/state.json (0600, written atomically):
 * the Matrix session (so a restart is not a new device), the /sync position (so a restart neither
 * replays old commands nor misses new ones), the journal position of the last result delivered, and
 * the room of each customer and the direct chats we opened. Monitoring's memory, the bulk of it
 * (kilobytes per customer) and changed by every monitoring result, is in a file of its own,
 * STATE_DIR/monitoring.json (0600, atomically too), so that neither file is written for the
 * other's changes; an older state.json's "alerts" are read into it. No logging here. */

#include <jansson.h>
#include <stdbool.h>

#include "util.h"

typedef struct State {
        char *path;
        char *monitoring_path;
        char *homeserver;
        char *user_id;
        char *device_id;
        char *access_token;
        char *since;
        char *journal_cursor;  /* the last result the homeserver accepted */
        json_t *rooms;         /* customer name → room id */
        json_t *room_customers;        /* room id → the customer whose room it is, for every room ever
                                        * set as one: another customer's owner there is a stranger */
        json_t *alerts;        /* customer name → monitoring's memory (alerts.h): monitoring.json */
        json_t *direct;        /* m.direct as we keep it: owner → [room ids] of direct chats we made */
        json_t *encrypted;     /* room id → true: rooms with end-to-end encryption (never plaintext there) */
        json_t *refused_runs;  /* the latest `run` commands answered "already running" (event ids) */
        bool unsaved;          /* state.json is behind (state_changed(): setters, whoever changes direct) */
        unsigned changes;      /* state_changed() calls so far */
        json_t *alerts_text;   /* customer name → its "name":{memory} in monitoring.json as last written */
        bool alerts_unsaved;   /* monitoring.json is behind (state_alerts_changed()) */
} State;

/* A missing file is an empty state; one written for another homeserver or user too, since its
 * session and sync position mean nothing there. -EBADMSG if the file is not ours to read. */
int state_load(const char *dir, const char *homeserver, const char *user_id, State **ret);
State *state_free(State *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(State *, state_free);
/* Writes state.json if something in it changed since it was read or written; monitoring.json first
 * if that is behind (so moving "alerts" out of an old state.json loses nothing). */
int state_save(State *s);
void state_changed(State *s);
/* Writes monitoring.json if a customer's memory changed. */
int state_save_alerts(State *s);

int state_set_session(State *s, const char *device_id, const char *access_token);
int state_set_since(State *s, const char *since);
int state_set_journal_cursor(State *s, const char *cursor);
/* The customer's room from now on; the room becomes the customer's (for good). */
int state_set_room(State *s, const char *customer, const char *room_id);
const char *state_get_room(const State *s, const char *customer);
/* Whether the room is (or was) the room of a customer other than this one. */
bool state_room_is_others(const State *s, const char *room_id, const char *customer);
/* Whether the room is this customer's: their room, or one they gave commands in. */
bool state_room_is_customers(const State *s, const char *room_id, const char *customer);
/* The customer's monitoring memory, created empty if there is none; NULL: out of memory. Whoever
 * changes it says so (state_alerts_changed()) and saves (state_save_alerts()): only the customers
 * changed are serialised anew, the others' text is reused. */
json_t *state_get_alerts(State *s, const char *customer);
void state_alerts_changed(State *s, const char *customer);
bool state_room_encrypted(const State *s, const char *room_id);
/* As many as the largest batch a crash can repeat (a timeline of 100 and 1,000 fetched back). */
#define REFUSED_RUNS_MAX 1200
int state_note_refused_run(State *s, const char *event_id);
bool state_run_refused(const State *s, const char *event_id);
int state_set_encrypted(State *s, const char *room_id);
