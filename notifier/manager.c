/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The notifier's loop. Two lanes towards the homeserver: the sync lane logs in and long-polls
 * /sync; the send lane does the ops (replies, joins, runs, results) one by one. A batch's /sync
 * position is saved only after all of its ops are done, a result's journal position only after
 * the homeserver accepted it: a crash repeats at most what was not yet confirmed, and the repeats'
 * transaction ids make the homeserver drop what it already has. */

#include <pwd.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "build-config.h"
#include "log.h"
#include "manager.h"

#define BACKOFF_MIN_USEC (500ULL * USEC_PER_MSEC)
#define BACKOFF_MAX_USEC (30ULL * USEC_PER_SEC)
#define RETRY_AFTER_MAX_MS (10ULL * 60ULL * 1000ULL)
#define QUIT_GRACE_USEC (10ULL * USEC_PER_SEC)
/* A burst of 1,000 monitoring results trickles in over minutes: monitoring.json (most of a
 * megabyte then) is written a few dozen times instead of once per journal batch and alert. */
#define SAVE_SOON_USEC (5ULL * USEC_PER_SEC)

void manager_exit(Manager *m, int code) {
        int r;

        r = state_save(m->state);
        if (r < 0)
                log_error_errno(r, "Failed to save %s: %m", m->state->path);
        (void) sd_notify(false, "STOPPING=1");
        (void) sd_event_exit(m->event, code);
}

static int on_save_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        r = state_save(m->state);
        if (r < 0)
                log_error_errno(r, "Failed to save the state, continuing (a later save tries again): %m");
        return 0;
}

void manager_save_soon(Manager *m) {
        int r;

        if (sd_event_source_get_enabled(m->save_timer, NULL) > 0)
                return;
        r = m->save_timer ? sd_event_source_set_time_relative(m->save_timer, SAVE_SOON_USEC)
                          : sd_event_add_time_relative(m->event, &m->save_timer, CLOCK_MONOTONIC,
                                                       SAVE_SOON_USEC, 0, on_save_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->save_timer, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_error_errno(r, "Failed to arm the save timer, saving now: %m");
                (void) on_save_timer(m->save_timer, 0, m);
        }
}

void manager_fatal_oom(Manager *m) {
        (void) log_oom();
        manager_exit(m, EXIT_FAILURE);
}

void manager_step(Manager *m) {
        sync_step(m);
        ops_step(m);
}

bool lane_busy(const Lane *l) {
        return l->request || l->slot || sd_event_source_get_enabled(l->retry, NULL) > 0;
}

/* Exponential, with jitter so many bots do not come back at the same instant; and never sooner
 * than the homeserver asked. */
static uint64_t backoff_usec(unsigned failures, uint64_t retry_after_ms) {
        uint64_t d = BACKOFF_MIN_USEC;

        for (unsigned i = 1; i < failures && d < BACKOFF_MAX_USEC; i++)
                d *= 2;
        if (d > BACKOFF_MAX_USEC)
                d = BACKOFF_MAX_USEC;
        d = d / 2 + (uint64_t) random() % (d / 2 + 1);
        if (retry_after_ms > RETRY_AFTER_MAX_MS)
                retry_after_ms = RETRY_AFTER_MAX_MS;
        if (retry_after_ms * USEC_PER_MSEC > d)
                d = retry_after_ms * USEC_PER_MSEC;
        return d;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_step(userdata);
        return 0;
}

void lane_retry_later(Manager *m, Lane *l, const MatrixResponse *resp) {
        uint64_t d = backoff_usec(++l->failures, resp->retry_after_ms);
        int r;

        if (resp->error < 0)
                log_warning_errno(resp->error, "%s: homeserver unreachable (%m), retrying in %.1f s.",
                                  l->name, (double) d / USEC_PER_SEC);
        else
                log_warning("%s: HTTP %li %s, retrying in %.1f s.", l->name, resp->status,
                            strempty(resp->errcode), (double) d / USEC_PER_SEC);
        (void) sd_notifyf(false, "STATUS=Homeserver trouble (%s), retrying", l->name);

        r = sd_event_source_set_time_relative(l->retry, d);
        if (r >= 0)
                r = sd_event_source_set_enabled(l->retry, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_error_errno(r, "Failed to arm the retry timer: %m");
                manager_exit(m, EXIT_FAILURE);
        }
}

void lane_succeeded(Manager *m, Lane *l) {
        if (l->failures > 0 && m->ready)
                (void) sd_notify(false, "STATUS=Connected to the homeserver");
        l->failures = 0;
        if (l == &m->send) {
                m->ahead_held = false;
                m->ahead_stale = true;
        }
}

int lane_request(Manager *m, Lane *l, const char *method, const char *path, json_t *body,
                 unsigned timeout_ms, matrix_callback_t cb) {
        int r;

        r = matrix_request(m->matrix, method, path, body, timeout_ms, cb, m, &l->request);
        if (r < 0) {
                log_error_errno(r, "Failed to start a request to the homeserver: %m");
                manager_exit(m, EXIT_FAILURE);
        }
        return r;
}

static void lane_cancel(Lane *l) {
        matrix_request_cancel(l->request);
        l->request = NULL;
        l->slot = sd_bus_slot_unref(l->slot);
        (void) sd_event_source_set_enabled(l->retry, SD_EVENT_OFF);
}

/* The token went bad: log in again with the password, keeping our device. */
bool manager_token_rejected(Manager *m, const MatrixResponse *resp) {
        if (resp->status != 401 || !streq_ptr(resp->errcode, "M_UNKNOWN_TOKEN"))
                return false;
        if (!m->password) {
                log_error("The homeserver rejected the access token from %s.", m->config->access_token_file);
                manager_exit(m, EXIT_FAILURE);
                return true;
        }
        log_warning("The homeserver rejected our access token; logging in again.");
        (void) matrix_client_set_token(m->matrix, NULL);
        (void) state_set_session(m->state, m->state->device_id, NULL);
        /* A long-poll with the old token would only fail later: start over now. */
        lane_cancel(&m->sync);
        manager_step(m);
        return true;
}

bool lane_answered(Manager *m, Lane *l, const MatrixResponse *resp) {
        l->request = NULL;
        if (manager_token_rejected(m, resp))
                return false;
        if (matrix_response_retryable(resp)) {
                lane_retry_later(m, l, resp);
                return false;
        }
        lane_succeeded(m, l);
        return true;
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
                manager_step(m);
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

int manager_check_secrets(const Config *c) {
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

static int manager_read_secrets(Manager *m) {
        const char *path = m->config->password_file ?: m->config->access_token_file;
        int r;

        r = read_secret_file(path, m->config->password_file ? &m->password : &m->static_token);
        if (r == -EBADMSG)
                return log_error_errno(r, "The Matrix secret in %s must be one non-empty line.", path);
        if (r < 0)
                return log_error_errno(r, "Failed to read the Matrix secret from %s: %m", path);
        return e2ee_read_key(m);
}

static int lane_init(Manager *m, Lane *l, const char *name) {
        int r;

        l->name = name;
        r = sd_event_add_time(m->event, &l->retry, CLOCK_MONOTONIC, 0, 0, on_retry, m);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(l->retry, SD_EVENT_OFF);
}

static int manager_setup_loop(Manager *m) {
        int r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = matrix_client_new(m->event, m->config->homeserver, &m->matrix);
        if (r < 0)
                return r;
        r = matrix_client_set_token(m->matrix, m->static_token ?: m->state->access_token);
        if (r < 0)
                return r;
        if ((r = lane_init(m, &m->sync, "sync")) < 0 || (r = lane_init(m, &m->send, "send")) < 0)
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

int manager_new(Config *config, Manager **ret) {
        Manager *m;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return log_oom();
        m->config = config;
        m->start_ms = now_usec(CLOCK_REALTIME) / USEC_PER_MSEC;
        m->otk_count = -1;
        ratelimit_init(&m->rate, config->commands_per_minute);

        r = manager_read_secrets(m);
        if (r < 0)
                goto fail;
        r = state_load(config->state_dir, config->homeserver, config->user_id, &m->state);
        if (r < 0) {
                log_error_errno(r, "Failed to load %s/state.json: %m", config->state_dir);
                goto fail;
        }
        m->replay_guard = !m->state->since;

        r = manager_setup_loop(m);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the event loop: %m");
                goto fail;
        }
        r = alerts_queue_pending(m);
        if (r < 0)
                goto fail;
        r = journal_follow(m);
        if (r < 0)
                goto fail;
        (void) journal_report_interrupted(m);
        r = reconcile_start(m);
        if (r < 0)
                goto fail;
        r = reminders_arm(m);
        if (r < 0)
                goto fail;
        *ret = m;
        return 0;

fail:
        manager_free(m);
        return r;
}

Manager *manager_free(Manager *m) {
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
        sd_event_source_disable_unref(m->journal_source);
        sd_journal_close(m->journal);
        free(m->journal_read);
        journal_unwatch_all(m);
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

int manager_run(Manager *m) {
        manager_step(m);
        return sd_event_loop(m->event);
}
