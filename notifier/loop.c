/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The notifier's loop. Two lanes towards the homeserver: the sync lane logs in and long-polls
 * /sync; the send lane does the ops (replies, joins, runs, results) one by one. A batch's /sync
 * position is saved only after all of its ops are done, a result's journal position only after
 * the homeserver accepted it: a crash repeats at most what was not yet confirmed, and the repeats'
 * transaction ids make the homeserver drop what it already has. The modules never call the loop:
 * they wake it (manager_wake()), and it steps the lanes once back in the event loop. */

#include <pwd.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "alerts-io.h"
#include "build-config.h"
#include "crypto.h"
#include "e2ee-rooms.h"
#include "e2ee.h"
#include "interrupted.h"
#include "lanes.h"
#include "log.h"
#include "locks.h"
#include "loop.h"
#include "manager.h"
#include "ops.h"
#include "progress-io.h"
#include "reconcile.h"
#include "reminders.h"
#include "results-io.h"
#include "run-watch.h"
#include "sync.h"

#define QUIT_GRACE_USEC (10ULL * USEC_PER_SEC)

/* Whatever woke the loop: the sync lane, then the send lane; when nothing is owed, the start's
 * reconcile puts its next op on the queue; a leaving notifier leaves once the queue is empty. */
static int on_wake(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        sync_step(m);
        ops_step(m);
        if (m->ops || lane_busy(&m->send) || !matrix_client_has_token(m->matrix))
                return 0;
        if (!m->quitting) {
                reconcile_step(m);
                if (m->ops)
                        ops_step(m);
                return 0;
        }
        if (m->pending_since && m->sync_ops == 0)
                sync_commit(m);
        manager_exit(m, EXIT_SUCCESS);
        return 0;
}

static int on_quit_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        log_warning("Homeserver still not accepting the last messages; they go out after the next start.");
        manager_exit(m, EXIT_SUCCESS);
        return 0;
}

/* SIGTERM/SIGINT: stop listening, send what is already decided, save, leave. */
static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        int r;

        if (m->quitting)
                return 0;
        m->quitting = true;
        log_info("Received %s, finishing in-flight messages.", strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Finishing in-flight messages");

        lane_cancel(&m->sync);
        (void) sd_event_source_set_enabled(m->journal_source, SD_EVENT_OFF);
        r = sd_event_add_time_relative(m->event, &m->quit_timer, CLOCK_MONOTONIC, QUIT_GRACE_USEC, 0,
                                       on_quit_timeout, m);
        if (r < 0)
                manager_exit(m, EXIT_SUCCESS);
        else
                manager_wake(m);
        return 0;
}

/* Secrets belong to the user the notifier runs as: the build's user when it exists (so root's
 * --check-config checks what the service will find), else whoever runs it. */
static uid_t secrets_owner(const char **ret_name) {
        const struct passwd *pw = getpwnam(SCHEDULER_USER);

        *ret_name = pw ? SCHEDULER_USER : NULL;
        return pw ? pw->pw_uid : geteuid();
}

/* A secret others can read, or that someone else can change, is not a secret: refuse to start. */
static int check_secret(const char *path, const char *section, const char *key) {
        const char *name;
        uid_t uid = secrets_owner(&name);
        _cleanup_free_ char *who = name ? strdup(name) : NULL;
        struct stat st;
        int r;

        if (!who && asprintf(&who, "%u", (unsigned) uid) < 0)
                return log_oom();
        r = secret_file_check(path, uid, &st);
        if (r < 0)
                return log_error_errno(r, "Secret file %s (%s %s) cannot be checked: %m", path, section,
                                       key);
        if (r & SECRET_EXPOSED)
                log_error("Secret file %s (%s %s) is open to group or others (mode %04o); "
                          "refusing to start. Fix: chmod 600 %s",
                          path, section, key, (unsigned) (st.st_mode & 07777), path);
        if (r & SECRET_FOREIGN)
                log_error("Secret file %s (%s %s) is owned by UID %u, not by %s (UID %u) that the notifier "
                          "runs as; refusing to start. Fix: chown %s %s",
                          path, section, key, (unsigned) st.st_uid, who, (unsigned) uid, who, path);
        return r == 0 ? 0 : -EPERM;
}

int loop_check_secrets(const Config *c) {
        const char *const matrix[][2] = {
                { c->password_file, "password_file" },
                { c->access_token_file, "access_token_file" },
                { c->crypto_key_file, "crypto_key_file" },
        };
        int r = 0, k;

        /* Each bad one is logged, so that one look at the log shows every fix to make. */
        for (size_t i = 0; i < ELEMENTSOF(matrix); i++)
                if (matrix[i][0] && (k = check_secret(matrix[i][0], "[matrix]", matrix[i][1])) < 0 && r >= 0)
                        r = k;
        for (size_t i = 0; i < c->n_customers; i++) {
                _cleanup_free_ char *section = NULL;

                if (asprintf(&section, "[customer %s]", c->customers[i].name) < 0)
                        return log_oom();
                k = check_secret(c->customers[i].ssh_key_file, section, "ssh_key_file");
                if (k < 0 && r >= 0)
                        r = k;
        }
        return r;
}

static int read_secrets(Manager *m) {
        const char *path = m->config->password_file ?: m->config->access_token_file;
        int r;

        r = read_secret_file(path, m->config->password_file ? &m->password : &m->static_token);
        if (r == -EBADMSG)
                return log_error_errno(r, "The Matrix secret in %s must be one non-empty line.", path);
        if (r < 0)
                return log_error_errno(r, "Failed to read the Matrix secret from %s: %m", path);
        return e2ee_read_key(m);
}

static int setup_loop(Manager *m) {
        int r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        /* Enabled once: the first step. */
        r = sd_event_add_defer(m->event, &m->wake, on_wake, m);
        if (r < 0)
                return r;
        r = matrix_client_new(m->event, m->config->homeserver, &m->matrix);
        if (r < 0)
                return r;
        r = matrix_client_set_token(m->matrix, m->static_token ?: m->state->access_token);
        if (r < 0)
                return r;
        r = lane_init(m, &m->sync, "sync");
        if (r < 0)
                return r;
        r = lane_init(m, &m->send, "send");
        if (r < 0)
                return r;
        r = sd_event_add_signal(m->event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, on_signal, m);
        if (r < 0)
                return r;
        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        /* Without systemd we can start nothing: leave, and let systemd restart us. */
        r = sd_bus_set_exit_on_disconnect(m->bus, true);
        if (r >= 0)
                r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        return sd_event_set_watchdog(m->event, true);
}

int loop_new(Config *config, Manager **ret) {
        _cleanup_(loop_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return log_oom();
        m->config = config;
        m->start_ms = now_usec(CLOCK_REALTIME) / USEC_PER_MSEC;
        m->otk_count = -1;
        m->room_encrypted = e2ee_room_encrypted;
        m->send_encrypted = e2ee_send_step;
        ratelimit_init(&m->rate, config->commands_per_minute);

        r = read_secrets(m);
        if (r < 0)
                return r;
        r = state_load(config->state_dir, config->homeserver, config->user_id, &m->state);
        if (r < 0)
                return log_error_errno(r, "Failed to load %s/state.json: %m", config->state_dir);
        m->replay_guard = !m->state->since;

        r = setup_loop(m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the event loop: %m");
        locks_prepare(config, SCHEDULER_LOCK_DIR);
        r = alerts_queue_pending(m);
        if (r < 0)
                return r;
        r = results_follow(m);
        if (r < 0)
                return r;
        (void) interrupted_report(m);
        r = reconcile_start(m);
        if (r < 0)
                return r;
        r = reminders_arm(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *loop_free(Manager *m) {
        if (!m)
                return NULL;
        lane_cancel(&m->sync);
        lane_cancel(&m->send);
        sd_event_source_disable_unref(m->sync.retry);
        sd_event_source_disable_unref(m->send.retry);
        ops_clear(m);
        reconcile_free(m);
        progress_free_all(m);
        for (size_t i = 0; i < m->n_refusals; i++)
                free(m->refusals[i].room_id);
        free(m->refusals);
        ratelimit_done(&m->rate);
        free(m->pending_since);
        matrix_sync_batch_free(m->backfill);
        json_decref(m->backfill_events);
        sd_event_source_disable_unref(m->quit_timer);
        sd_event_source_disable_unref(m->reminder_timer);
        sd_event_source_disable_unref(m->save_timer);
        sd_event_source_disable_unref(m->wake);
        sd_event_source_disable_unref(m->journal_source);
        sd_journal_close(m->journal);
        free(m->journal_read);
        run_unwatch_all(m);
        sd_bus_flush_close_unref(m->bus);
        matrix_client_free(m->matrix);
        sd_event_unref(m->event);
        state_free(m->state);
        crypto_free(m->crypto);
        if (m->crypto_key)
                explicit_bzero(m->crypto_key, strlen(m->crypto_key));
        free(m->crypto_key);
        json_decref(m->members);
        e2ee_free_waiting(m);
        json_decref(m->cross_signing);
        if (m->password)
                explicit_bzero(m->password, strlen(m->password));
        free(m->password);
        free(m->static_token);
        free(m);
        return NULL;
}

int loop_run(Manager *m) {
        return sd_event_loop(m->event);
}
