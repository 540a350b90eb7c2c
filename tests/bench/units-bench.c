/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The systemd side of a schedule, timed on the notifier's own code (tests/bench/units.sh runs it in
 * the sandbox's control container, against its system bus):
 *
 *   units-bench create N TAG STOREDIR   N one-shots, three ways interleaved in blocks of 50: a bare
 *                                       client's minimal timer + service (the floor), the notifier's
 *                                       rendered units sent alone, and what `schedule` costs in
 *                                       the notifier (store load and atomic save, render, call)
 *   units-bench load N TAG              N more of the notifier's one-shot timers, 50 a customer
 *   units-bench list CUSTOMER STOREDIR RUNS   `list schedules` of one customer, RUNS times
 *
 * The notifier's path is handle_schedule() (notifier/schedule-commands.c) and units_step()
 * (notifier/schedule-io.c) step by step, with the same library calls (schedule_store_load/_save,
 * unit_render_schedule, bus_message_start_transient), one call at a time as its op queue makes
 * them; list is list_step() (ListUnitsByPatterns, then NextElapseUSecRealtime of each timer, the
 * store for the arguments). */

#include <systemd/sd-bus.h>

#include "bus-unit.h"
#include "calendar.h"
#include "schedule.h"
#include "unit.h"

#define BLOCK 50

static const char *const ROOM = "!QXbNsUvWmPhbcSXbJe:acme.test";

static usec_t mono(void) {
        return now_usec(CLOCK_MONOTONIC);
}

static __attribute__((noreturn)) void die(const char *what, int r) {
        fprintf(stderr, "units-bench: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(EXIT_FAILURE);
}

static void call(sd_bus *bus, sd_bus_message *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;

        if (sd_bus_call(bus, m, 0, &e, &reply) < 0) {
                fprintf(stderr, "units-bench: systemd refused: %s\n", e.message);
                exit(EXIT_FAILURE);
        }
}

/* The j-th one-shot of a customer: a distinct date in 2027 for each j < 600. */
static Schedule one_shot(size_t j, char *reply_to) {
        return (Schedule) {
                .kind = SCHEDULE_ONCE,
                .command = (char *) "ping",
                .year = 2027, .month = 1 + (int) (j % 12), .day = 1 + (int) (j / 12 % 28),
                .hour = 12 + (int) (j / 336), .minute = 30,
                .room = (char *) ROOM,
                .reply_to = reply_to,
        };
}

/* The i-th one-shot of a run: customer bench-KINDTAG-(i / 50), its (i % 50)-th schedule. */
typedef struct Item {
        char name[64], reply_to[64];
        Customer cu;
        Schedule s;
} Item;

static void item_init(Item *it, const char *kind, const char *tag, size_t i) {
        snprintf(it->name, sizeof(it->name), "bench-%s%s-%zu", kind, tag, i / SCHEDULES_MAX);
        snprintf(it->reply_to, sizeof(it->reply_to), "$bench%s-%zu-Zm9vYmFyYmF6cXV1eA", tag, i);
        it->cu = (Customer) { .name = it->name };
        it->s = one_shot(i % SCHEDULES_MAX, it->reply_to);
}

/* systemd-run --on-calendar's units: a timer with its calendar, a service with its command. */
static sd_bus_message *floor_message(sd_bus *bus, const char *tag, size_t i) {
        sd_bus_message *m = NULL;
        char timer[64], service[64];
        int r;

        snprintf(timer, sizeof(timer), "bench-floor%s-%zu.timer", tag, i);
        snprintf(service, sizeof(service), "bench-floor%s-%zu.service", tag, i);
        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ssa(sv)", timer, "fail", 2, "Description", "s", timer,
                                          "TimersCalendar", "a(ss)", 1, "OnCalendar", "2027-06-01 12:30");
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 1, service, 2, "Description", "s", service,
                                          "ExecStart", "a(sasb)", 1, "/bin/true", 1, "/bin/true", 0);
        if (r < 0)
                die("floor message", r);
        return m;
}

/* The notifier's units for one-shot j of customer cu, rendered and put in a message. */
static sd_bus_message *notifier_message(sd_bus *bus, const Customer *cu, const Schedule *s) {
        _cleanup_(unit_spec_done) UnitSpec timer = {}, service = {};
        sd_bus_message *m = NULL;
        int r;

        r = unit_render_schedule(cu, s, now_usec(CLOCK_REALTIME), &timer, &service);
        if (r >= 0)
                r = bus_message_start_transient(bus, &timer, &service, &m);
        if (r < 0)
                die("render", r);
        return m;
}

typedef struct Parts {
        usec_t check, load, save, render, call;
} Parts;

/* handle_schedule(), then units_step() and its call: what one `schedule` costs on this side. */
static void notifier_schedule(sd_bus *bus, const char *dir, const Customer *cu, const Schedule *s,
                              Parts *p) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *error = NULL, *stem = NULL;
        Schedule *stored = NULL, *all = NULL, *n;
        size_t n_stored = 0, n_all = 0, pending = 0;
        usec_t t0 = mono(), t1, t2, t3, t4, due;
        char when[32];
        int r;

        /* check_once(): the date exists, is ahead, within two years. */
        if (schedule_once_usec(s, customer_zone(cu), &due) < 0 || due <= now_usec(CLOCK_REALTIME) ||
            zone_format(customer_zone(cu), time(NULL), when, sizeof(when)) < 0)
                die("check", EINVAL);
        t1 = mono();
        r = schedule_store_load(dir, cu->name, &stored, &n_stored, &error);
        if (r < 0) {
                fprintf(stderr, "units-bench: %s\n", strempty(error));
                exit(EXIT_FAILURE);
        }
        if (schedule_effective(cu, stored, n_stored, &all, &n_all) < 0 ||
            schedule_unit_stem(cu->name, s, &stem) < 0)
                die("load", ENOMEM);
        for (size_t i = 0; i < n_stored; i++) {
                _cleanup_free_ char *other = NULL;

                if (schedule_unit_stem(cu->name, &stored[i], &other) < 0)
                        die("load", ENOMEM);
                if (streq(other, stem))
                        die("a one-shot twice", EEXIST);
                pending += stored[i].state != SCHEDULE_CANCELLED;
        }
        if (pending >= SCHEDULES_MAX)
                die("too many for one customer", E2BIG);
        n = reallocarray(stored, n_stored + 1, sizeof(Schedule));
        if (!n || schedule_copy(s, &n[n_stored]) < 0)
                die("add", ENOMEM);
        stored = n;
        n_stored++;
        t2 = mono();
        r = schedule_store_save(dir, cu->name, stored, n_stored);
        if (r < 0)
                die("save", r);
        t3 = mono();
        m = notifier_message(bus, cu, s);
        t4 = mono();
        call(bus, m);
        p->check += t1 - t0;
        p->load += t2 - t1;
        p->save += t3 - t2;
        p->render += t4 - t3;
        p->call += mono() - t4;
        schedules_free(stored, n_stored);
        schedules_free(all, n_all);
}

static double ms_each(usec_t total, size_t n) {
        return n ? (double) total / 1000.0 / (double) n : 0;
}

static int cmd_create(sd_bus *bus, size_t n, const char *tag, const char *dir) {
        usec_t t_floor = 0, t_same = 0, t_notifier = 0;
        Parts p = {};

        for (size_t b = 0; b < n; b += BLOCK) {
                size_t end = b + BLOCK < n ? b + BLOCK : n;
                sd_bus_message *same[BLOCK];

                /* The notifier's units, rendered before the clock starts: systemd's part alone. */
                for (size_t i = b; i < end; i++) {
                        Item it;

                        item_init(&it, "s", tag, i);
                        same[i - b] = notifier_message(bus, &it.cu, &it.s);
                }
                /* Which of the three goes first turns with each block. */
                for (size_t turn = 0; turn < 3; turn++) {
                        size_t which = (turn + b / BLOCK) % 3;
                        usec_t t0 = mono();

                        for (size_t i = b; i < end; i++) {
                                Item it;

                                if (which == 0) {
                                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
                                                floor_message(bus, tag, i);
                                        call(bus, m);
                                        continue;
                                }
                                if (which == 1) {
                                        call(bus, same[i - b]);
                                        continue;
                                }
                                item_init(&it, "n", tag, i);
                                notifier_schedule(bus, dir, &it.cu, &it.s, &p);
                        }
                        *(which == 0 ? &t_floor : which == 1 ? &t_same : &t_notifier) += mono() - t0;
                }
                for (size_t i = b; i < end; i++)
                        sd_bus_message_unref(same[i - b]);
        }
        printf("uid %u, %zu one-shots each way, interleaved in blocks of %d\n", (unsigned) getuid(), n,
               BLOCK);
        printf("floor (bare StartTransientUnit, minimal timer + service): %8.3f ms each, %7.1f ms in all\n",
               ms_each(t_floor, n), t_floor / 1000.0);
        printf("the notifier's units, the calls alone:                   %8.3f ms each, %7.1f ms in all\n",
               ms_each(t_same, n), t_same / 1000.0);
        printf("the notifier's path (store, render, call):               %8.3f ms each, %7.1f ms in all\n",
               ms_each(t_notifier, n), t_notifier / 1000.0);
        printf("  its parts, ms each: check %.3f, store load %.3f, store save (write, fsync, rename, "
               "fsync dir) %.3f, render %.3f, call %.3f\n",
               ms_each(p.check, n), ms_each(p.load, n), ms_each(p.save, n), ms_each(p.render, n),
               ms_each(p.call, n));
        printf("ratio: notifier path / floor %.2fx (target <= 1.2x); notifier path / its units' calls "
               "%.2fx; its units' calls / floor %.2fx\n",
               (double) t_notifier / (double) t_floor, (double) t_notifier / (double) t_same,
               (double) t_same / (double) t_floor);
        printf("without the store save: notifier path / floor %.2fx\n",
               (double) (t_notifier - p.save) / (double) t_floor);
        return 0;
}

static int cmd_load(sd_bus *bus, size_t n, const char *tag) {
        usec_t t0 = mono();

        for (size_t i = 0; i < n; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                Item it;

                item_init(&it, "l", tag, i);
                m = notifier_message(bus, &it.cu, &it.s);
                call(bus, m);
                if ((i + 1) % 5000 == 0)
                        fprintf(stderr, "units-bench: %zu loaded, %.3f ms each so far\n", i + 1,
                                ms_each(mono() - t0, i + 1));
        }
        printf("loaded %zu of the notifier's timers (with their services) in %.1f s, %.3f ms each\n", n,
               (mono() - t0) / 1e6, ms_each(mono() - t0, n));
        return 0;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

typedef struct Listed {
        const char *customer;
        char **timers;   /* alternating: name, object path */
        int error;
        bool done;
} Listed;

/* on_timers_listed() */
static int on_listed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Listed *l = userdata;

        l->done = true;
        l->error = sd_bus_message_is_method_error(reply, NULL) ? -EIO :
                   bus_read_schedule_timers(reply, l->customer, &l->timers);
        return 0;
}

/* list_step(), on_elapse() and list_finish(): the reply's text; its line count in *ret_lines. */
static char *list_schedules(sd_bus *bus, const char *dir, const Customer *cu, size_t *ret_lines) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_strv_free_ char **lines = NULL;
        _cleanup_free_ char *pattern = NULL, *error = NULL;
        Schedule *stored = NULL, *all = NULL;
        size_t n_stored = 0, n_all = 0, size = 0, n;
        Listed l = { .customer = cu->name };
        char *text = NULL;
        FILE *f;
        int r;

        if (asprintf(&pattern, "scheduler-%s-*.timer", cu->name) < 0)
                die("list", ENOMEM);
        r = bus_list_units_async(bus, &slot, NULL, STRV_MAKE(pattern), on_listed, &l);
        while (r >= 0 && !l.done)
                if ((r = sd_bus_process(bus, NULL)) == 0)
                        r = sd_bus_wait(bus, UINT64_MAX);
        if (r < 0 || l.error < 0)
                die("ListUnitsByPatterns", r < 0 ? r : l.error);
        lines = calloc(1, sizeof(char *));
        for (size_t i = 0; lines && l.timers[2 * i]; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                uint64_t next = 0;
                char *line;

                r = sd_bus_call_method(bus, "org.freedesktop.systemd1", l.timers[2 * i + 1],
                                       "org.freedesktop.DBus.Properties", "Get", NULL, &reply, "ss",
                                       "org.freedesktop.systemd1.Timer", "NextElapseUSecRealtime");
                if (r < 0 || sd_bus_message_read(reply, "v", "t", &next) < 0 || next == 0 ||
                    next == UINT64_MAX)
                        continue;
                if (asprintf(&line, "%020llu %s", (unsigned long long) next, l.timers[2 * i]) < 0 ||
                    strv_push(&lines, line) < 0)
                        die("list", ENOMEM);
        }
        strv_free(l.timers);
        if (!lines)
                die("list", ENOMEM);
        if (schedule_store_load(dir, cu->name, &stored, &n_stored, &error) < 0 ||
            schedule_effective(cu, stored, n_stored, &all, &n_all) < 0)
                die("the store", EIO);
        n = strv_length(lines);
        qsort(lines, n, sizeof(char *), compare_strings);
        f = open_memstream(&text, &size);
        for (size_t i = 0; f && i < n; i++) {
                const char *unit = lines[i] + 21, *tail = unit + strlen("scheduler-") + strlen(cu->name) + 1,
                           *args = NULL;
                _cleanup_free_ char *command = strndup(tail, strspn(tail, "abcdefghijklmnopqrstuvwxyz"));
                char when[32];

                for (size_t k = 0; k < n_all; k++) {
                        _cleanup_free_ char *stem = NULL;

                        if (all[k].args && schedule_unit_stem(cu->name, &all[k], &stem) >= 0 &&
                            startswith(unit, stem) && streq(unit + strlen(stem), ".timer"))
                                args = all[k].args;
                }
                time_t at = (time_t) (strtoull(lines[i], NULL, 10) / USEC_PER_SEC);

                if (!command || zone_format(customer_zone(cu), at, when, sizeof(when)) < 0)
                        die("list", ENOMEM);
                fprintf(f, "* %s: run %s%s%s%s\n", when, command, args ? " " : "", strempty(args),
                        startswith(tail + strlen(command), "-weekly-") ? " (recurring)" : "");
        }
        if (!f || fclose(f) != 0)
                die("list", ENOMEM);
        schedules_free(stored, n_stored);
        schedules_free(all, n_all);
        *ret_lines = n;
        return text;
}

static int compare_usec(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;
        return x < y ? -1 : x > y;
}

static int cmd_list(sd_bus *bus, const char *customer, const char *dir, size_t runs) {
        _cleanup_free_ usec_t *t = calloc(runs, sizeof(usec_t));
        _cleanup_free_ char *first = NULL;
        Customer cu = { .name = (char *) customer };
        size_t lines = 0;

        if (!t)
                die("list", ENOMEM);
        for (size_t i = 0; i < runs; i++) {
                usec_t t0 = mono();
                char *text = list_schedules(bus, dir, &cu, &lines);

                t[i] = mono() - t0;
                if (i == 0)
                        first = text;
                else
                        free(text);
        }
        qsort(t, runs, sizeof(usec_t), compare_usec);
        printf("list schedules of %s: %zu lines; median %.1f ms, max %.1f ms over %zu runs "
               "(target < 50 ms)\n", customer, lines, t[runs / 2] / 1000.0, t[runs - 1] / 1000.0, runs);
        /* What the customer reads, its first three lines. */
        const char *p = strempty(first);
        for (int k = 0; k < 3 && *p; k++) {
                const char *e = strchrnul(p, '\n');

                printf("  %.*s\n", (int) (e - p), p);
                p = *e ? e + 1 : e;
        }
        return 0;
}

static size_t parse_count(const char *s) {
        unsigned v;

        if (safe_atou(s, &v) < 0 || v == 0)
                die(s, EINVAL);
        return v;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                die("the system bus", r);
        if (argc == 5 && streq(argv[1], "create"))
                return cmd_create(bus, parse_count(argv[2]), argv[3], argv[4]);
        if (argc == 4 && streq(argv[1], "load"))
                return cmd_load(bus, parse_count(argv[2]), argv[3]);
        if (argc == 5 && streq(argv[1], "list"))
                return cmd_list(bus, argv[2], argv[3], parse_count(argv[4]));
        fprintf(stderr, "usage: units-bench create N TAG STOREDIR | load N TAG | "
                        "list CUSTOMER STOREDIR RUNS\n");
        return 2;
}
