/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <stdarg.h>

#include "build-config.h"
#include "calendar.h"
#include "unit.h"

#define MISSED_DELAY "30s"
#define MONITOR_SPREAD_MAX 60U   /* seconds */
/* After the maintenance itself: the ping checks for "Identified issues", and a margin. */
#define MAINTENANCE_CHECKS_SEC 600U

void unit_spec_done(UnitSpec *u) {
        for (size_t i = 0; i < u->n; i++)
                free(u->props[i].allocated);
        free(u->props);
        free(u->name);
        *u = (UnitSpec) {};
}

/* The commands a task runs, and how long each may take. */
static const struct {
        const char *command;
        usec_t max;
} commands[] = {
        { "ping", 600 * USEC_PER_SEC },
        { "disk", 600 * USEC_PER_SEC },
        { "price", 60 * USEC_PER_SEC },
        { "maintenance", 3 * 3600 * USEC_PER_SEC },
        { "restart", 180 * USEC_PER_SEC },
};

usec_t unit_runtime_max_usec(const char *command) {
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i].command, command))
                        return commands[i].max;
        return 60 * USEC_PER_SEC;
}

const char *unit_command_of(const char *unit, const char *customer) {
        const char *rest = startswith(unit, "scheduler-");

        rest = rest ? startswith(rest, customer) : NULL;
        if (!rest || rest[0] != '-' || !endswith(unit, ".service"))
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                const char *after = startswith(rest + 1, commands[i].command);

                if (after && after[0] == '-')
                        return commands[i].command;
        }
        return NULL;
}

bool unit_command_exclusive(const char *command) {
        return streq_ptr(command, "maintenance") || streq_ptr(command, "restart");
}

usec_t unit_customer_runtime_max_usec(const Customer *c, const char *command) {
        if (streq(command, "maintenance") && c->maintenance_timeout_sec > 0)
                return (c->maintenance_timeout_sec + MAINTENANCE_CHECKS_SEC) * USEC_PER_SEC;
        return unit_runtime_max_usec(command);
}

char *unit_exec_escape(const char *s) {
        char *t = malloc(strlen(s) * 2 + 1), *p = t;

        if (!t)
                return NULL;
        for (; *s; s++) {
                if (*s == '$')
                        *p++ = '$';
                *p++ = *s;
        }
        *p = 0;
        return t;
}

/* "KEY=%s": format with its one "%s" (at pct) replaced by arg. */
static char *print_one(const char *format, const char *pct, const char *arg) {
        size_t a = (size_t) (pct - format), b = strlen(arg), c = strlen(pct + 2);
        char *s = malloc(a + b + c + 1);

        if (!s)
                return NULL;
        memcpy(s, format, a);
        memcpy(s + a, arg, b);
        memcpy(s + a + b, pct + 2, c + 1);
        return s;
}

/* Printed into a stack buffer first: vasprintf() would grow one on the heap. */
_printf_(1, 0) static char *vprint(const char *format, va_list ap) {
        char buf[256], *s;
        va_list aq;
        int r;

        va_copy(aq, ap);
        r = vsnprintf(buf, sizeof(buf), format, aq);
        va_end(aq);
        if (r < 0)
                return NULL;
        if ((size_t) r < sizeof(buf))
                return strndup(buf, r);
        return vasprintf(&s, format, ap) < 0 ? NULL : s;
}

int unit_add(UnitSpec *u, UnitSection section, const char *key, const char *format, ...) {
        UnitProperty *n;
        va_list ap;
        const char *pct;
        char *value = NULL;

        /* Most values are constant or one string: a format without a '%' is a literal (-Wformat=2
         * makes sure at every call), kept as it is; one with a single "%s" is put together by hand.
         * A service has some 45 of them and the generator renders thousands at boot, where
         * vasprintf() led the profile. */
        va_start(ap, format);
        pct = strchr(format, '%');
        if (pct) {
                if (pct[1] == 's' && !strchr(pct + 2, '%'))
                        value = print_one(format, pct, va_arg(ap, const char *));
                else
                        value = vprint(format, ap);
                if (!value) {
                        va_end(ap);
                        return -ENOMEM;
                }
        }
        va_end(ap);
        /* Room for 16 at first, then twice as much whenever it is full: n alone tells when. */
        if (u->n == 0 || (u->n >= 16 && (u->n & (u->n - 1)) == 0)) {
                n = reallocarray(u->props, u->n == 0 ? 16 : u->n * 2, sizeof(UnitProperty));
                if (!n) {
                        free(value);
                        return -ENOMEM;
                }
                u->props = n;
        }
        u->props[u->n++] = (UnitProperty) { .section = section, .key = key, .value = value ?: format,
                                            .allocated = value };
        return 0;
}

/* "scheduler-task [--finish] CUSTOMER COMMAND [ARGS]", each word escaped. */
static int exec_line(const RunSpec *r, bool finish, char **ret) {
        _cleanup_free_ char *c = unit_exec_escape(r->customer), *cmd = unit_exec_escape(r->command),
                            *a = r->args ? unit_exec_escape(r->args) : strdup("");

        if (!c || !cmd || !a)
                return -ENOMEM;
        return asprintf(ret, "%s%s %s %s%s%s", SCHEDULER_TASK_PATH, finish ? " --finish" : "", c, cmd,
                        r->args ? " " : "", a) < 0 ? -ENOMEM : 0;
}

static int add_environment(UnitSpec *u, const RunSpec *r, const char *stem) {
        int k = 0;

        if (r->room)
                k |= unit_add(u, SECTION_SERVICE, "Environment", "SCHEDULER_ROOM=%s", r->room);
        if (r->reply_to)
                k |= unit_add(u, SECTION_SERVICE, "Environment", "SCHEDULER_REPLY_TO=%s", r->reply_to);
        if (r->sender)
                k |= unit_add(u, SECTION_SERVICE, "Environment", "SCHEDULER_SENDER=%s", r->sender);
        if (r->schedule)
                k |= unit_add(u, SECTION_SERVICE, "Environment", "SCHEDULER_SCHEDULE=%s", r->schedule);
        if (r->due)
                k |= unit_add(u, SECTION_SERVICE, "Environment", "SCHEDULER_DUE=%llu",
                              (unsigned long long) r->due);
        /* The wait its RuntimeMaxSec= was made for, whatever the configuration says by then. */
        if (r->lock_wait)
                k |= unit_add(u, SECTION_SERVICE, "Environment", "SCHEDULER_LOCK_WAIT=%u", r->lock_wait);
        k |= unit_add(u, SECTION_SERVICE, "Environment", "SCHEDULER_RUN=%s", stem);
        k |= unit_add(u, SECTION_SERVICE, "Environment", "SCHEDULER_MODE=%s", r->mode);
        k |= unit_add(u, SECTION_SERVICE, "LogExtraFields", "SCHEDULER_CUSTOMER=%s", r->customer);
        k |= unit_add(u, SECTION_SERVICE, "LogExtraFields", "SCHEDULER_COMMAND=%s", r->command);
        k |= unit_add(u, SECTION_SERVICE, "LogExtraFields", "SCHEDULER_RUN=%s", stem);
        return k < 0 ? -ENOMEM : 0;
}

int unit_render_service(const RunSpec *r, const char *name, UnitSpec *ret) {
        _cleanup_free_ char *start = NULL, *stop = NULL, *stem = NULL;
        _cleanup_(unit_spec_done) UnitSpec u = {};
        int k = 0;

        if (!endswith(name, ".service"))
                return -ENOMEM;
        stem = strndup(name, strlen(name) - strlen(".service"));
        if (!stem)
                return -ENOMEM;
        if (exec_line(r, false, &start) < 0 || exec_line(r, true, &stop) < 0)
                return -ENOMEM;
        u.name = strdup(name);
        if (!u.name)
                return -ENOMEM;
        k |= unit_add(&u, SECTION_UNIT, "Description", "The Scheduler: %s %s%s%s for %s%s%s", r->mode,
                      r->command, r->args ? " " : "", strempty(r->args), r->customer,
                      r->sender ? ", asked by " : "", strempty(r->sender));
        k |= unit_add(&u, SECTION_SERVICE, "Type", "exec");
        k |= unit_add(&u, SECTION_SERVICE, "ExecStart", "%s", start);
        k |= unit_add(&u, SECTION_SERVICE, "ExecStopPost", "%s", stop);
        k |= unit_add(&u, SECTION_SERVICE, "RuntimeMaxSec", "%llu",
                      (r->runtime_max ?: unit_runtime_max_usec(r->command)) / USEC_PER_SEC);
        k |= add_environment(&u, r, stem);
        k |= unit_add(&u, SECTION_SERVICE, "SyslogIdentifier", "scheduler-task");
        /* A [Unit] setting in a file; over D-Bus the section does not matter. */
        k |= unit_add(&u, SECTION_UNIT, "CollectMode", "inactive-or-failed");
        if (unit_add_sandboxing(&u, r) < 0 || k < 0)
                return -ENOMEM;
        *ret = TAKE_STRUCT(u);
        return 0;
}

int schedule_when_string(const Schedule *s, char **ret) {
        if (s->kind == SCHEDULE_WEEKLY)
                return asprintf(ret, "%s %02d:%02d", weekday_to_string(s->weekday), s->hour, s->minute) < 0 ?
                               -ENOMEM : 0;
        return asprintf(ret, "%04d-%02d-%02d %02d:%02d", s->year, s->month, s->day, s->hour, s->minute) < 0 ?
                       -ENOMEM : 0;
}

static int render_timer(const Schedule *s, const Customer *c, const char *stem, bool missed, UnitSpec *u) {
        const char *zone = customer_zone(c);
        static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
        _cleanup_free_ char *when = NULL;
        int k = 0;

        if (schedule_when_string(s, &when) < 0 || asprintf(&u->name, "%s.timer", stem) < 0)
                return -ENOMEM;
        k |= unit_add(u, SECTION_UNIT, "Description", "The Scheduler: %s %s%s%s for %s, %s %s %s",
                      s->kind == SCHEDULE_WEEKLY ? "recurring" : "schedule", s->command, s->args ? " " : "",
                      strempty(s->args), c->name, s->kind == SCHEDULE_WEEKLY ? "every" : "at", when, zone);
        if (missed)
                k |= unit_add(u, SECTION_TIMER, "OnBootSec", MISSED_DELAY);
        else if (s->kind == SCHEDULE_WEEKLY)
                k |= unit_add(u, SECTION_TIMER, "OnCalendar", "%s *-*-* %02d:%02d:00 %s", days[s->weekday],
                              s->hour, s->minute, zone);
        else
                k |= unit_add(u, SECTION_TIMER, "OnCalendar", "%04d-%02d-%02d %02d:%02d:00 %s", s->year,
                              s->month, s->day, s->hour, s->minute, zone);
        /* Timers fire up to a minute late by default; customers read the time they asked for. */
        k |= unit_add(u, SECTION_TIMER, "AccuracySec", "1s");
        if (s->kind == SCHEDULE_WEEKLY)
                k |= unit_add(u, SECTION_TIMER, "Persistent", "yes");
        /* No Unit=: a timer starts the service of its own name, and over D-Bus Unit= cannot be set. */
        k |= unit_add(u, SECTION_TIMER, "RemainAfterElapse", "no");
        return k < 0 ? -ENOMEM : 0;
}

/* r: how rendering timer went. Hands out timer and the service of run, or neither. */
static int render_pair(int r, UnitSpec *timer, const RunSpec *run, const char *service, UnitSpec *ret_timer,
                       UnitSpec *ret_service) {
        UnitSpec svc = {};

        if (r >= 0)
                r = unit_render_service(run, service, &svc);
        if (r < 0) {
                unit_spec_done(timer);
                return r;
        }
        *ret_timer = *timer;
        *ret_service = svc;
        return 0;
}

int unit_render_schedule(const Customer *c, const Schedule *s, usec_t now, UnitSpec *ret_timer,
                         UnitSpec *ret_service) {
        _cleanup_free_ char *stem = NULL, *service = NULL;
        UnitSpec timer = {};
        usec_t due = 0;
        RunSpec run = {
                .customer = c->name,
                .command = s->command,
                .args = s->args,
                .mode = s->kind == SCHEDULE_WEEKLY ? "recurring" : "schedule",
                .room = s->room,
                .reply_to = s->reply_to,
                /* A scheduled maintenance or restart may first wait for another to finish. */
                .runtime_max = unit_customer_runtime_max_usec(c, s->command) +
                               (unit_command_exclusive(s->command) ? c->lock_wait_sec * USEC_PER_SEC : 0),
                .lock_wait = unit_command_exclusive(s->command) ? c->lock_wait_sec : 0,
                .ssh_key = c->ssh_key_file,
        };
        int r;

        if (s->kind == SCHEDULE_ONCE) {
                r = schedule_once_usec(s, customer_zone(c), &due);
                if (r < 0)
                        return r;
        }
        if (schedule_unit_stem(c->name, s, &stem) < 0 || asprintf(&service, "%s.service", stem) < 0)
                return -ENOMEM;
        if (s->kind == SCHEDULE_ONCE) {
                run.schedule = stem;
                run.due = due;
        }
        r = render_timer(s, c, stem, s->kind == SCHEDULE_ONCE && due <= now, &timer);
        return render_pair(r, &timer, &run, service, ret_timer, ret_service);
}

static int render_monitor_timer(const Customer *cu, unsigned interval, const char *stem, UnitSpec *u) {
        _cleanup_free_ char *every = interval_format(interval);
        int k = 0;

        if (!every || asprintf(&u->name, "%s.timer", stem) < 0)
                return -ENOMEM;
        k |= unit_add(u, SECTION_UNIT, "Description", "The Scheduler: monitoring of %s, every %s", cu->name,
                      every);
        /* Monotonic, not a calendar: any interval works, and the first run is a whole interval after
         * boot, not in the rush of a boot. (A timer the notifier makes later than that runs at once:
         * OnUnitActiveSec= counts only from a first run.) */
        k |= unit_add(u, SECTION_TIMER, "OnBootSec", "%us", interval);
        k |= unit_add(u, SECTION_TIMER, "OnUnitActiveSec", "%us", interval);
        /* Spread the customers' checks, so they do not all hit the network at once. */
        k |= unit_add(u, SECTION_TIMER, "RandomizedDelaySec", "%us", MIN(interval / 5, MONITOR_SPREAD_MAX));
        k |= unit_add(u, SECTION_TIMER, "AccuracySec", "1s");
        return k < 0 ? -ENOMEM : 0;
}

int unit_monitor_stem(const char *customer, char **ret) {
        return asprintf(ret, "scheduler-%s-monitor", customer) < 0 ? -ENOMEM : 0;
}

int unit_render_monitor(const Config *c, const Customer *cu, UnitSpec *ret_timer, UnitSpec *ret_service) {
        _cleanup_free_ char *stem = NULL, *service = NULL;
        UnitSpec timer = {};
        RunSpec run = { .customer = cu->name, .command = "ping", .mode = "monitor", .ssh_key = cu->ssh_key_file };
        int r;

        if (!customer_monitored(c, cu))
                return 0;
        if (unit_monitor_stem(cu->name, &stem) < 0 || asprintf(&service, "%s.service", stem) < 0)
                return -ENOMEM;
        r = render_monitor_timer(cu, c->monitor_interval, stem, &timer);
        r = render_pair(r, &timer, &run, service, ret_timer, ret_service);
        return r < 0 ? r : 1;
}

static const char *const section_headers[] = { "[Unit]", "[Timer]", "[Service]" };

/* Its length at most: every section header counted, whether it is written or not. */
static size_t unit_text_size(const UnitSpec *u, const char *source_path) {
        size_t n =
                strlen(UNIT_FILE_HEADER) + (source_path ? strlen("SourcePath=\n") + strlen(source_path) : 0);

        for (size_t i = 0; i < ELEMENTSOF(section_headers); i++)
                n += strlen(section_headers[i]) + 2;
        for (size_t i = 0; i < u->n; i++)
                n += strlen(u->props[i].key) + strlen(u->props[i].value) + 2;
        return n + 1;
}

static char *put_line(char *p, const char *key, const char *value) {
        p = stpcpy(p, key);
        *p++ = '=';
        p = stpcpy(p, value);
        *p++ = '\n';
        return p;
}

/* Built by hand rather than with printf: the generator writes some 20,000 of these at boot. */
int unit_text(const UnitSpec *u, const char *source_path, char **buf, size_t *allocated, size_t *ret_size) {
        size_t need = unit_text_size(u, source_path);
        char *p;

        if (need > *allocated) {
                p = realloc(*buf, need);
                if (!p)
                        return -ENOMEM;
                *buf = p;
                *allocated = need;
        }
        p = stpcpy(*buf, UNIT_FILE_HEADER);
        if (source_path)
                p = put_line(p, "SourcePath", source_path);
        for (UnitSection s = SECTION_UNIT; s <= SECTION_SERVICE; s++) {
                bool any = false;

                for (size_t i = 0; i < u->n; i++) {
                        if (u->props[i].section != s)
                                continue;
                        if (!any && s != SECTION_UNIT) {
                                *p++ = '\n';
                                p = stpcpy(p, section_headers[s]);
                                *p++ = '\n';
                        }
                        any = true;
                        p = put_line(p, u->props[i].key, u->props[i].value);
                }
        }
        *p = 0;
        *ret_size = (size_t) (p - *buf);
        return 0;
}
