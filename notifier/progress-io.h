/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* A running maintenance's progress in chat (progress-io.c, the text is progress.c's), and the
 * typing notice. */

#include "manager.h"
#include "results.h"

/* A maintenance running, as the customer sees it (progress-io.c). Best effort: nothing here
 * holds up or reorders the ops. */
struct Progress {
        char *run;             /* SCHEDULER_RUN */
        char *room;
        char *reply_to;        /* the command message (run mode), to find its "initiated" */
        bool initiated;        /* run mode: edit "initiated"; else a progress message of its own */
        char *target;          /* the event edited; NULL until known */
        char *step;
        char *shown;           /* the text the target has now */
        usec_t started;        /* CLOCK_REALTIME, when the run began */
        usec_t seen;           /* CLOCK_MONOTONIC of the first entry */
        usec_t edited;         /* CLOCK_MONOTONIC of the last edit */
        usec_t typing_until;   /* CLOCK_MONOTONIC; 0: not typing */
        unsigned edits;
        bool finished;         /* its result is delivered: a last edit, typing off, then gone */
        struct Progress *next;
};

/* An entry of a maintenance's run: its progress shown. */
void progress_entry(Manager *m, const RunResult *entry);
/* The "initiated" reply to command_event went out as event_id: the run's progress edits it. */
void progress_note_initiated(Manager *m, const char *command_event, const char *event_id);
/* run's result is delivered: a last edit, typing off, then gone. */
void progress_delivered(Manager *m, const char *run);
void progress_step(Manager *m);
void progress_free_all(Manager *m);
