/* SPDX-License-Identifier: GPL-3.0-or-later */

/* scheduler-generator NORMAL_DIR [EARLY_DIR LATE_DIR]: re-creates every customer's active
 * schedules as timer + service units at boot and on daemon-reload, from SCHEDULES_DIR/NAME.conf and
 * the default maintenance, and every customer's monitoring timer from the configuration. Runs
 * before /var may be mounted: it reads only /etc, talks to no daemon, writes only into NORMAL_DIR
 * and never fails the boot. A broken input is skipped with one line on
 * the kernel log saying where and what is wrong. One argument (the output dir) is for tests. */

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "build-config.h"
#include "config.h"
#include "log.h"
#include "schedule.h"
#include "unit.h"

/* One drop-in that makes timers.target want every timer written, instead of a link each: one file
 * where there were thousands. A name of our own, as the dir is shared with other generators. */
#define WANTS_DROPIN_DIR "timers.target.d"
#define WANTS_DROPIN WANTS_DROPIN_DIR "/50-scheduler-generator.conf"
#define WANTS_LINE_MAX 1000U   /* a new Wants= line before one gets longer than this */

typedef struct Generator {
        const char *dir;       /* systemd's "normal" output dir */
        int dir_fd;
        usec_t now;            /* CLOCK_REALTIME: a one-shot due before it was missed */
        unsigned n_units;
        char *text;            /* a unit's text, one buffer for all */
        size_t text_allocated;
        FILE *wants;           /* WANTS_DROPIN's text so far: the timers written, and only those */
        char *wants_text;
        size_t wants_size;
        size_t wants_line;     /* the length of its last line */
        unsigned n_wanted;
} Generator;

static int write_unit(Generator *g, const UnitSpec *u, const char *source_path) {
        size_t size;
        int r;

        r = unit_text(u, source_path, &g->text, &g->text_allocated, &size);
        if (r < 0)
                return r;
        /* Never overwrite: the dir is shared with every other generator. No fsync: it is a tmpfs,
         * rebuilt on every boot and daemon-reload. Half a unit is worse than none. */
        r = write_file_exclusive_at(g->dir_fd, u->name, g->text, size);
        if (r < 0)
                return r;
        g->n_units++;
        return 0;
}

static int want_timer(Generator *g, const char *timer) {
        size_t n = strlen(timer);

        if (!g->wants) {
                g->wants = open_memstream(&g->wants_text, &g->wants_size);
                if (!g->wants)
                        return -ENOMEM;
                fputs(UNIT_FILE_HEADER, g->wants);
        }
        if (g->n_wanted > 0 && g->wants_line + 1 + n <= WANTS_LINE_MAX) {
                fputc(' ', g->wants);
                g->wants_line++;
        } else {
                fputs(g->n_wanted > 0 ? "\nWants=" : "Wants=", g->wants);
                g->wants_line = strlen("Wants=");
        }
        fputs(timer, g->wants);
        g->wants_line += n;
        g->n_wanted++;
        return ferror(g->wants) ? -ENOMEM : 0;
}

/* A timer and the service it starts, both or neither; the timer then goes into WANTS_DROPIN. */
static int generate_timer(Generator *g, const UnitSpec *timer, const UnitSpec *service,
                          const char *source_path) {
        int r;

        r = write_unit(g, service, source_path);
        if (r < 0)
                return log_warning_errno(r, "Failed to write %s/%s, ignoring: %m", g->dir, service->name);
        r = write_unit(g, timer, source_path);
        if (r < 0) {
                /* A service without its timer would never run: leave neither. */
                (void) unlinkat(g->dir_fd, service->name, 0);
                g->n_units--;
                return log_warning_errno(r, "Failed to write %s/%s, ignoring: %m", g->dir, timer->name);
        }
        return want_timer(g, timer->name) < 0 ? log_oom() : 0;
}

static int generate_schedule(Generator *g, const Customer *c, const Schedule *s, const char *source_path) {
        _cleanup_(unit_spec_done) UnitSpec timer = {}, service = {};
        int r;

        r = unit_render_schedule(c, s, g->now, &timer, &service);
        if (r < 0)
                return log_warning_errno(r, "Failed to render a %s schedule of customer %s from %s, "
                                         "ignoring: %m", s->command, c->name, source_path);
        return generate_timer(g, &timer, &service, source_path);
}

/* Monitoring comes from the configuration alone: a broken store does not stop it. */
static int generate_monitor(Generator *g, const Config *config, const Customer *c) {
        _cleanup_(unit_spec_done) UnitSpec timer = {}, service = {};
        int r;

        r = unit_render_monitor(config, c, &timer, &service);
        if (r < 0)
                return log_warning_errno(r, "Failed to render the monitoring of customer %s, ignoring: %m",
                                         c->name);
        if (r == 0)
                return 0;
        return generate_timer(g, &timer, &service, config->path);
}

static void generate_customer(Generator *g, const Config *config, const Customer *c) {
        _cleanup_free_ char *store = NULL, *error = NULL;
        Schedule *stored = NULL, *all = NULL;
        size_t n_stored = 0, n_all = 0;
        int r;

        (void) generate_monitor(g, config, c);
        r = schedule_store_load(config->schedules_dir, c->name, &stored, &n_stored, &error);
        if (r < 0) {
                /* We cannot tell what they changed, not even whether they moved the maintenance. */
                if (error)
                        log_warning("%s; customer %s gets no schedules until this is fixed, ignoring.",
                                    error, c->name);
                else
                        log_warning_errno(r, "Failed to load the schedules of customer %s, they get no "
                                          "schedule timers, ignoring: %m", c->name);
                return;
        }
        r = schedule_effective(c, stored, n_stored, &all, &n_all);
        schedules_free(stored, n_stored);
        if (r < 0 || asprintf(&store, "%s/%s.conf", config->schedules_dir, c->name) < 0) {
                log_oom();
                schedules_free(all, n_all);
                return;
        }
        /* Paused and cancelled ones have no timer; the builtin maintenance comes from the config. */
        for (size_t i = 0; i < n_all; i++)
                if (all[i].state == SCHEDULE_ACTIVE)
                        (void) generate_schedule(g, c, &all[i], all[i].builtin ? config->path : store);
        schedules_free(all, n_all);
}

/* Written last, from the timers actually written. Should it fail, they are loaded but not started
 * at boot; the notifier starts them when it starts, as any it finds stopped (but for one-shots
 * missed while the host was down: those wait for the next boot). */
static void write_wants(Generator *g) {
        int r;

        if (!g->wants)
                return;
        if (g->n_wanted > 0)
                fputc('\n', g->wants);
        r = fclose(g->wants) != 0 || !g->wants_text ? -ENOMEM : 0;
        g->wants = NULL;
        if (r < 0) {
                log_oom();
                return;
        }
        r = mkdirat(g->dir_fd, WANTS_DROPIN_DIR, 0755) < 0 && errno != EEXIST ? -errno : 0;
        if (r >= 0)
                r = write_file_exclusive_at(g->dir_fd, WANTS_DROPIN, g->wants_text, g->wants_size);
        if (r < 0)
                log_warning_errno(r, "Failed to write %s/" WANTS_DROPIN ", the scheduler's timers do not "
                                  "start at boot, ignoring: %m", g->dir);
}

static void generate(Generator *g) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *error = NULL;
        const char *path;
        int r;

        path = getenv("SCHEDULER_CONFIG") ?: SCHEDULER_CONFIG_PATH;
        r = config_load(path, CONFIG_LOAD_NO_CATALOGUE, &config, &error);
        if (r == -ENOENT) {
                log_debug("%s does not exist, nothing to generate.", path);
                return;
        }
        if (r < 0) {
                log_warning("%s; no schedules are generated until this is fixed, ignoring.",
                            error ?: "Out of memory");
                return;
        }
        for (size_t i = 0; i < config->n_customers; i++)
                generate_customer(g, config, &config->customers[i]);
        log_debug("%s: %zu customers, %u units written to %s.", path, config->n_customers, g->n_units,
                  g->dir);
        write_wants(g);
}

int main(int argc, char *argv[]) {
        Generator g = { .dir_fd = -EBADF };

        /* Whatever happens, the boot goes on: every path below ends in "return 0". */
        if (argc != 2 && argc != 4) {
                log_error("Usage: %s NORMAL_DIR [EARLY_DIR LATE_DIR]", program_invocation_short_name);
                return 0;
        }
        /* Called by systemd: nobody reads our stderr, the kernel log is all there is. */
        if (argc == 4)
                log_open_kmsg("scheduler-generator");

        g.dir = argv[1];
        g.now = now_usec(CLOCK_REALTIME);
        g.dir_fd = open(g.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (g.dir_fd < 0) {
                log_error_errno(errno, "Failed to open output directory %s, ignoring: %m", g.dir);
                return 0;
        }
        generate(&g);
        closep(&g.dir_fd);
        free(g.wants_text);
        free(g.text);
        return 0;
}
