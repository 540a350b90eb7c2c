/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <ctype.h>
#include <ini.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>

#include "calendar.h"
#include "schedule.h"
#include "util.h"

#define STORE_MAX (1024U * 1024U)

void schedule_done(Schedule *s) {
        free(s->command);
        free(s->args);
        free(s->room);
        free(s->reply_to);
        *s = (Schedule) {};
}

void schedules_free(Schedule *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                schedule_done(&s[i]);
        free(s);
}

int schedule_copy(const Schedule *s, Schedule *ret) {
        Schedule c = *s;

        c.command = c.args = c.room = c.reply_to = NULL;
        if (free_and_strdup(&c.command, s->command) < 0 || free_and_strdup(&c.args, s->args) < 0 ||
            free_and_strdup(&c.room, s->room) < 0 || free_and_strdup(&c.reply_to, s->reply_to) < 0) {
                schedule_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

static const char *weekday_short(int weekday) {
        static const char *const names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
        return weekday >= 0 && weekday < 7 ? names[weekday] : "bad";
}

int schedule_unit_stem(const char *customer, const Schedule *s, char **ret) {
        if (s->kind == SCHEDULE_WEEKLY)
                return asprintf(ret, "scheduler-%s-%s-weekly-%s-%02d%02d", customer, s->command,
                                weekday_short(s->weekday), s->hour, s->minute) < 0 ? -ENOMEM : 0;
        if (s->args)
                return asprintf(ret, "scheduler-%s-%s-at-%04d%02d%02d%02d%02d-x%08llx", customer, s->command,
                                s->year, s->month, s->day, s->hour, s->minute,
                                (unsigned long long) (hash_fnv1a(s->args) & 0xffffffffULL)) < 0
                               ? -ENOMEM
                               : 0;
        return asprintf(ret, "scheduler-%s-%s-at-%04d%02d%02d%02d%02d", customer, s->command, s->year,
                        s->month, s->day, s->hour, s->minute) < 0
                       ? -ENOMEM
                       : 0;
}

bool schedule_unit_is_customers(const char *unit, const char *customer) {
        _cleanup_free_ char *prefix = NULL;
        const char *tail;

        if (asprintf(&prefix, "scheduler-%s-", customer) < 0)
                return false;
        tail = startswith(unit, prefix);
        if (!tail)
                return false;
        /* "scheduler-acme-…" must not claim "scheduler-acme-corp-…": the next word is a command
         * (letters only), and right after it the kind. */
        tail += strspn(tail, "abcdefghijklmnopqrstuvwxyz");
        return startswith(tail, "-at-") || startswith(tail, "-weekly-");
}

int schedule_default_maintenance(const Customer *c, Schedule *ret) {
        Schedule s = { .id = SCHEDULE_ID_MAINTENANCE, .kind = SCHEDULE_WEEKLY, .builtin = true };
        WeeklyTime w;
        uint64_t h;

        if (c->maintenance && weekly_time_parse(c->maintenance, &w) >= 0) {
                s.weekday = w.weekday;
                s.hour = w.hour;
                s.minute = w.minute;
        } else {
                /* Spread over the week in quarter hours; the same on every host and every boot. */
                h = hash_fnv1a(c->name) % (7 * 24 * 4);
                s.weekday = (int) (h / (24 * 4));
                s.hour = (int) (h / 4 % 24);
                s.minute = (int) (h % 4 * 15);
        }
        s.command = strdup("maintenance");
        if (!s.command)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int schedule_once_usec(const Schedule *s, const char *zone, usec_t *ret) {
        time_t t;
        int r;

        r = zone_to_epoch(zone, s->year, s->month, s->day, s->hour, s->minute, &t);
        if (r < 0)
                return r;
        *ret = (usec_t) t * USEC_PER_SEC;
        return 0;
}

int schedule_weekly_next(const Schedule *s, const char *zone, time_t after, time_t *ret) {
        struct tm day;
        time_t start = after - 24 * 3600, t;

        /* Any zone is less than a day from UTC: from the UTC date before, nine days hold the
         * next occurrence. A day whose time does not exist there (a DST gap) is skipped. */
        for (int i = 0; i < 9; i++) {
                time_t d = start + (time_t) i * 24 * 3600;

                if (!gmtime_r(&d, &day))
                        return -EINVAL;
                /* tm_wday: 0 = Sunday; ours: 0 = Monday. */
                if ((day.tm_wday + 6) % 7 != s->weekday)
                        continue;
                if (zone_to_epoch(zone, day.tm_year + 1900, day.tm_mon + 1, day.tm_mday, s->hour, s->minute,
                                  &t) >= 0 &&
                    t > after) {
                        *ret = t;
                        return 0;
                }
        }
        return -ERANGE;
}

typedef struct StoreParse {
        Schedule *items;
        size_t n;
        unsigned next_id;      /* next_id = before the first section */
        char *section;         /* the section being read */
        char *error;
} StoreParse;

static Schedule *store_current(StoreParse *st, const char *section) {
        Schedule *n;

        if (st->section && streq(st->section, section))
                return &st->items[st->n - 1];
        if (st->n >= SCHEDULES_MAX * 4)
                return NULL;
        n = reallocarray(st->items, st->n + 1, sizeof(Schedule));
        if (!n)
                return NULL;
        st->items = n;
        n[st->n++] = (Schedule) {};
        if (free_and_strdup(&st->section, section) < 0)
                return NULL;
        return &n[st->n - 1];
}

bool schedule_is_weekly_maintenance(const Schedule *s) {
        return s->kind == SCHEDULE_WEEKLY && streq_ptr(s->command, "maintenance");
}

static bool id_taken(const Schedule *l, size_t n, unsigned id) {
        for (size_t i = 0; i < n; i++)
                if (l[i].id == id)
                        return true;
        return false;
}

unsigned schedule_next_id(const Schedule *l, size_t n, unsigned *next, const Schedule *s) {
        unsigned max = SCHEDULE_ID_MAINTENANCE;

        if (schedule_is_weekly_maintenance(s))
                return SCHEDULE_ID_MAINTENANCE;
        for (size_t i = 0; i < n; i++)
                if (l[i].id > max)
                        max = l[i].id;
        /* Never one a schedule had before, while the store's counter says which were given. */
        if (next && *next > max + 1 && *next <= SCHEDULE_ID_MAX)
                max = *next - 1;
        if (max < SCHEDULE_ID_MAX) {
                if (next)
                        *next = max + 2;
                return max + 1;
        }
        /* 50 schedules at most: a free one is always below. */
        for (unsigned id = SCHEDULE_ID_MAINTENANCE + 1; id <= SCHEDULE_ID_MAX; id++)
                if (!id_taken(l, n, id))
                        return id;
        return 0;
}

/* The store's ids as it says them; the weekly maintenance's is 1, and one missing (a store of
 * before ids), taken twice or 1 (a hand edit) gets the next free one, in the store's order. */
static void store_number(Schedule *l, size_t n, unsigned *next) {
        for (size_t i = 0; i < n; i++) {
                if (schedule_is_weekly_maintenance(&l[i]))
                        l[i].id = SCHEDULE_ID_MAINTENANCE;
                else if (l[i].id <= SCHEDULE_ID_MAINTENANCE || id_taken(l, i, l[i].id))
                        l[i].id = 0;
        }
        for (size_t i = 0; i < n; i++)
                if (l[i].id == 0)
                        l[i].id = schedule_next_id(l, n, next, &l[i]);
        for (size_t i = 0; i < n; i++)
                if (l[i].id >= *next)
                        *next = l[i].id + 1;
}

static bool word_valid(const char *s) {
        if (isempty(s) || strlen(s) > 100)
                return false;
        for (; *s; s++)
                if (!isascii((unsigned char) *s) || !(isalnum((unsigned char) *s) || strchr("-_.@", *s)))
                        return false;
        return true;
}

static int store_handler(void *userdata, const char *section, const char *key, const char *value) {
        StoreParse *st = userdata;
        Schedule *s;
        int h, m;

        if (isempty(section) && streq(key, "next_id")) {
                if (safe_atou(value, &st->next_id) < 0 || st->next_id > SCHEDULE_ID_MAX + 1)
                        return ini_fail(&st->error, "", key, "'%s' is not a number up to %u", value,
                                        SCHEDULE_ID_MAX + 1);
                return 1;
        }
        s = store_current(st, section);
        if (!s)
                return ini_fail(&st->error, strempty(st->section), key,
                                "too many schedules or out of memory");
        if (streq(key, "command") || streq(key, "args")) {
                if (!word_valid(value))
                        return ini_fail(&st->error, strempty(st->section), key, "'%s' is not a command word",
                                        value);
                return free_and_strdup(streq(key, "command") ? &s->command : &s->args, value) < 0 ? 0 : 1;
        }
        if (streq(key, "room") || streq(key, "reply_to")) {
                if (streq(key, "room") ? !matrix_room_id_valid(value) : !matrix_event_id_valid(value))
                        return ini_fail(&st->error, strempty(st->section), key, "'%s' is not a Matrix %s id",
                                        value, streq(key, "room") ? "room" : "event");
                return free_and_strdup(streq(key, "room") ? &s->room : &s->reply_to, value) < 0 ? 0 : 1;
        }
        if (streq(key, "id")) {
                unsigned id;

                if (safe_atou(value, &id) < 0 || id == 0 || id > SCHEDULE_ID_MAX)
                        return ini_fail(&st->error, strempty(st->section), key,
                                        "'%s' is not a number from 1 to %u", value, SCHEDULE_ID_MAX);
                s->id = id;
                return 1;
        }
        if (streq(key, "date")) {
                char rest;
                usec_t u;

                s->kind = SCHEDULE_ONCE;
                if (sscanf(value, "%4d-%2d-%2d%c", &s->year, &s->month, &s->day, &rest) != 3)
                        return ini_fail(&st->error, strempty(st->section), key, "'%s' is not YYYY-MM-DD",
                                        value);
                /* Here, not in store_validate(), so that the error names the line. */
                if (schedule_once_usec(s, "UTC", &u) < 0)
                        return ini_fail(&st->error, strempty(st->section), key, "'%s' does not exist",
                                        value);
                return 1;
        }
        if (streq(key, "weekday")) {
                s->kind = SCHEDULE_WEEKLY;
                s->weekday = weekday_from_string(value);
                return s->weekday < 0 ? ini_fail(&st->error, strempty(st->section), key,
                                                 "'%s' is not a weekday", value)
                                      : 1;
        }
        if (streq(key, "time")) {
                if (time_of_day_parse(value, &h, &m) < 0)
                        return ini_fail(&st->error, strempty(st->section), key, "'%s' is not HH:MM", value);
                s->hour = h;
                s->minute = m;
                return 1;
        }
        if (streq(key, "state")) {
                s->state = streq(value, "active")      ? SCHEDULE_ACTIVE
                           : streq(value, "paused")    ? SCHEDULE_PAUSED
                           : streq(value, "cancelled") ? SCHEDULE_CANCELLED
                                                       : (ScheduleState) -1;
                return (int) s->state < 0 ? ini_fail(&st->error, strempty(st->section), key,
                                                     "'%s' is not active, paused or cancelled", value)
                                          : 1;
        }
        return ini_fail(&st->error, strempty(st->section), key, "unknown key");
}

static int store_validate(const StoreParse *st, char **ret_why) {
        for (size_t i = 0; i < st->n; i++) {
                const Schedule *s = &st->items[i];
                usec_t u;

                if (!s->command)
                        return asprintf(ret_why, "schedule %zu: command= missing", i + 1);
                if (s->kind == SCHEDULE_ONCE && schedule_once_usec(s, "UTC", &u) < 0)
                        return asprintf(ret_why, "schedule %zu: the date does not exist", i + 1);
                for (size_t j = 0; s->kind == SCHEDULE_WEEKLY && j < i; j++) {
                        const Schedule *other = &st->items[j];

                        if (other->kind == SCHEDULE_WEEKLY && streq_ptr(other->command, s->command))
                                return asprintf(ret_why,
                                                "schedule %zu: a second weekly %s (one per command)", i + 1,
                                                s->command);
                }
                if (s->state == SCHEDULE_CANCELLED &&
                    (s->kind != SCHEDULE_WEEKLY || !streq(s->command, "maintenance")))
                        return asprintf(ret_why,
                                        "schedule %zu: only the weekly maintenance can be cancelled "
                                        "in place",
                                        i + 1);
        }
        return 0;
}

int schedule_store_load(const char *dir, const char *customer, Schedule **ret, size_t *ret_n,
                        char **ret_error) {
        return schedule_store_load_ids(dir, customer, ret, ret_n, NULL, ret_error);
}

int schedule_store_load_ids(const char *dir, const char *customer, Schedule **ret, size_t *ret_n,
                            unsigned *ret_next_id, char **ret_error) {
        _cleanup_free_ char *path = NULL, *text = NULL, *why = NULL;
        struct stat dir_st;
        StoreParse st = {};
        int r, line;

        *ret_error = NULL;
        if (asprintf(&path, "%s/%s.conf", dir, customer) < 0)
                return -ENOMEM;
        /* The store's directory belongs to the notifier's user, who writes the files; the generator
         * reads them as root at boot: a symlink, a FIFO, a device or someone else's file is no
         * store of ours. */
        r = stat(dir, &dir_st) < 0 ? -errno
                                  : read_regular_file(path, STORE_MAX, dir_st.st_uid, &text, NULL);
        if (r == -ENOENT) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (r < 0) {
                (void) asprintf(ret_error, "%s: cannot read: %s", path,
                                r == -ELOOP   ? "a symbolic link" :
                                r == -EBADFD  ? "not a regular file" :
                                r == -EPERM   ? "owned by someone else than the store's directory" :
                                                strerror(-r));
                return r;
        }
        line = ini_parse_string(text, store_handler, &st);
        r = line != 0 ? -EBADMSG : store_validate(&st, &why) != 0 ? -EBADMSG : 0;
        if (r < 0 && (line != 0 ? asprintf(ret_error, "%s:%i: %s", path, line, st.error ?: "syntax error") :
                      asprintf(ret_error, "%s: %s", path, strempty(why))) < 0)
                *ret_error = NULL;
        free(st.error);
        free(st.section);
        if (r < 0) {
                schedules_free(st.items, st.n);
                return r;
        }
        if (st.next_id <= SCHEDULE_ID_MAINTENANCE)
                st.next_id = SCHEDULE_ID_MAINTENANCE + 1;
        store_number(st.items, st.n, &st.next_id);
        if (ret_next_id)
                *ret_next_id = st.next_id;
        *ret = st.items;
        *ret_n = st.n;
        return 0;
}

static void store_write_one(FILE *f, const char *customer, const Schedule *s) {
        _cleanup_free_ char *stem = NULL;
        static const char *const states[] = { "active", "paused", "cancelled" };

        if (schedule_unit_stem(customer, s, &stem) < 0)
                return;
        fprintf(f, "\n[%s]\n", stem);
        if (s->id > 0)
                fprintf(f, "id = %u\n", s->id);
        fprintf(f, "command = %s\n", s->command);
        if (s->args)
                fprintf(f, "args = %s\n", s->args);
        if (s->kind == SCHEDULE_ONCE)
                fprintf(f, "date = %04d-%02d-%02d\n", s->year, s->month, s->day);
        else
                fprintf(f, "weekday = %s\n", weekday_to_string(s->weekday));
        fprintf(f, "time = %02d:%02d\n", s->hour, s->minute);
        if (s->state != SCHEDULE_ACTIVE)
                fprintf(f, "state = %s\n", states[s->state]);
        if (s->room)
                fprintf(f, "room = %s\n", s->room);
        if (s->reply_to)
                fprintf(f, "reply_to = %s\n", s->reply_to);
}

int schedule_store_save(const char *dir, const char *customer, const Schedule *s, size_t n) {
        return schedule_store_save_ids(dir, customer, s, n, 0);
}

int schedule_store_save_ids(const char *dir, const char *customer, const Schedule *s, size_t n,
                            unsigned next_id) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size = 0;
        FILE *f;

        if (asprintf(&path, "%s/%s.conf", dir, customer) < 0)
                return -ENOMEM;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "# The schedules of customer %s, written by scheduler-notifier and read at boot by\n"
                   "# scheduler-generator. Change them from chat; an edit here applies at the next boot.\n",
                customer);
        /* The id the next schedule gets: one that is gone is not given again. */
        if (next_id > 0)
                fprintf(f, "next_id = %u\n", next_id);
        for (size_t i = 0; i < n; i++)
                if (!s[i].builtin)
                        store_write_one(f, customer, &s[i]);
        if (fclose(f) != 0)
                return -ENOMEM;
        return write_file_atomic(path, text, size, 0600);
}

int schedule_effective(const Customer *c, const Schedule *stored, size_t n, Schedule **ret, size_t *ret_n) {
        Schedule *all;
        bool has_maintenance = false;
        size_t k = 0;
        int r;

        all = calloc(n + 1, sizeof(Schedule));
        if (!all)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                has_maintenance = has_maintenance ||
                        (stored[i].kind == SCHEDULE_WEEKLY && streq(stored[i].command, "maintenance"));
                r = schedule_copy(&stored[i], &all[k]);
                if (r < 0) {
                        schedules_free(all, k);
                        return r;
                }
                k++;
        }
        if (!has_maintenance) {
                r = schedule_default_maintenance(c, &all[k]);
                if (r < 0) {
                        schedules_free(all, k);
                        return r;
                }
                k++;
        }
        *ret = all;
        *ret_n = k;
        return 0;
}
