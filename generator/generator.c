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

#define WANTS_DIR "timers.target.wants"

typedef struct Generator {
        const char *dir;       /* systemd's "normal" output dir */
        int dir_fd;
        int wants_fd;          /* dir/WANTS_DIR, made when the first timer needs it */
        usec_t now;            /* CLOCK_REALTIME: a one-shot due before it was missed */
        unsigned n_units;
} Generator;

static int write_unit(Generator *g, const UnitSpec *u, const char *source_path) {
        _cleanup_free_ char *path = NULL;
        FILE *f;
        int r;

        if (asprintf(&path, "%s/%s", g->dir, u->name) < 0)
                return -ENOMEM;
        /* Never overwrite: the dir is shared with every other generator. No fsync: it is a tmpfs,
         * rebuilt on every boot and daemon-reload. */
        f = fopen(path, "wxe");
        if (!f)
                return -errno;
        r = unit_write(f, u, source_path);
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r < 0) {
                /* Half a unit is worse than none. */
                (void) unlink(path);
                return r;
        }
        g->n_units++;
        return 0;
}

static int link_timer(Generator *g, const char *timer) {
        _cleanup_free_ char *target = NULL;

        if (g->wants_fd < 0) {
                if (mkdirat(g->dir_fd, WANTS_DIR, 0755) < 0 && errno != EEXIST)
                        return -errno;
                g->wants_fd = openat(g->dir_fd, WANTS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (g->wants_fd < 0)
                        return -errno;
        }
        if (asprintf(&target, "../%s", timer) < 0)
                return -ENOMEM;
        return symlinkat(target, g->wants_fd, timer) < 0 ? -errno : 0;
}

/* A timer, the service it starts, and the link that starts the timer at boot; all or nothing. */
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
        r = link_timer(g, timer->name);
        if (r < 0)
                return log_warning_errno(r, "Failed to link %s/" WANTS_DIR "/%s, ignoring: %m", g->dir,
                                         timer->name);
        return 0;
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

static void generate(Generator *g) {
        _cleanup_free_ char *error = NULL;
        const char *path;
        Config *config = NULL;
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
        config_free(config);
}

int main(int argc, char *argv[]) {
        Generator g = { .dir_fd = -EBADF, .wants_fd = -EBADF };

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
        closep(&g.wants_fd);
        closep(&g.dir_fd);
        return 0;
}
