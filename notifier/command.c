/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <ctype.h>
#include <stdarg.h>
#include <strings.h>

#include "command.h"
#include "schedule.h"
#include "util.h"

#define WORDS_MAX 8

static const char *const task_table[_TASK_MAX] = {
        [TASK_PING] = "ping",
        [TASK_DISK] = "disk",
        [TASK_PRICE] = "price",
        [TASK_MAINTENANCE] = "maintenance",
        [TASK_RESTART] = "restart",
};

static const char *const mode_table[] = {
        [MODE_HELP] = "help",
        [MODE_RUN] = "run",
        [MODE_SCHEDULE] = "schedule",
        [MODE_RECURRING] = "recurring",
        [MODE_LIST] = "list",
        [MODE_CANCEL] = "cancel",
        [MODE_PAUSE] = "pause",
        [MODE_RESUME] = "resume",
        [MODE_BRANCH] = "branch",
};

const char *task_kind_to_string(TaskKind k) {
        return k < _TASK_MAX ? task_table[k] : NULL;
}

int task_kind_from_string(const char *s, TaskKind *ret) {
        for (size_t i = 0; i < _TASK_MAX; i++)
                if (streq_ptr(s, task_table[i])) {
                        *ret = (TaskKind) i;
                        return 0;
                }
        return -EINVAL;
}

const char *mode_to_string(Mode m) {
        return m < ELEMENTSOF(mode_table) ? mode_table[m] : NULL;
}

char *command_task_string(const Command *c) {
        char *s;

        if (asprintf(&s, "%s%s%s", task_table[c->task], c->task == TASK_RESTART ? " " : "",
                     c->task == TASK_RESTART ? c->service : "") < 0)
                return NULL;
        return s;
}

bool service_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 100 || !isalnum((unsigned char) s[0]))
                return false;
        for (; *s; s++)
                if (!isascii((unsigned char) *s) || !(isalnum((unsigned char) *s) || strchr("-_.@", *s)))
                        return false;
        return true;
}

static int error(char **ret_error, const char *format, ...) _printf_(2, 3);
static int error(char **ret_error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EINVAL;
}

/* Splits on blanks. Anything but printable ASCII and blanks is no command of ours. */
static int split_words(char *s, char *words[], size_t *n) {
        char *state = NULL;

        *n = 0;
        for (char *p = s; *p; p++)
                if (!isascii((unsigned char) *p) || (iscntrl((unsigned char) *p) && *p != '\t'))
                        return -EINVAL;
        for (char *w = strtok_r(s, " \t", &state); w; w = strtok_r(NULL, " \t", &state)) {
                if (*n >= WORDS_MAX)
                        return -E2BIG;
                words[(*n)++] = w;
        }
        return 0;
}

/* The customer's word as the reply quotes it: "`word`", cut to 40 characters; NULL if a backtick
 * in it would break the quote (and the reply's <code> span), so it is better not quoted at all. */
static int quote_word(const char *word, char **ret) {
        *ret = NULL;
        if (strchr(word, '`'))
                return 0;
        return asprintf(ret, "`%.40s%s`", word, strlen(word) > 40 ? "…" : "") < 0 ? -ENOMEM : 0;
}

static int parse_task(const char *word, TaskKind *ret, char **ret_error) {
        _cleanup_free_ char *quoted = NULL;

        for (size_t i = 0; i < _TASK_MAX; i++)
                if (strcasecmp(word, task_table[i]) == 0) {
                        *ret = (TaskKind) i;
                        return 0;
                }
        if (quote_word(word, &quoted) < 0)
                return -ENOMEM;
        return error(ret_error,
                     "unknown command%s%s; the commands are ping, disk, price, maintenance and "
                     "restart; send `help`",
                     quoted ? " " : "", strempty(quoted));
}

static int parse_args(Command *c, const char *mode, char *args[], size_t n, char **ret_error) {
        const char *task = task_table[c->task];

        if (c->task != TASK_RESTART) {
                if (n > 0)
                        return error(ret_error, "`%s` takes no arguments", task);
                return 0;
        }
        if (n == 0)
                return error(ret_error, "`restart` needs a service name, e.g. `%s restart%s slack`", mode,
                             c->mode == MODE_SCHEDULE ? " 2027-01-08 17:00" :
                             c->mode == MODE_RECURRING ? " Monday 17:00" : "");
        if (n > 1)
                return error(ret_error, "`restart` takes one service name");
        if (!service_name_valid(args[0])) {
                _cleanup_free_ char *quoted = NULL;

                if (quote_word(args[0], &quoted) < 0)
                        return -ENOMEM;
                return error(ret_error, "%s is not a service name: use letters, digits and - _ . @ only",
                             quoted ?: "that");
        }
        strcpy(c->service, args[0]);
        return 0;
}

static int parse_date(const char *s, Command *c) {
        char rest;

        if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !isdigit((unsigned char) s[0]) ||
            sscanf(s, "%4d-%2d-%2d%c", &c->year, &c->month, &c->day, &rest) != 3)
                return -EINVAL;
        for (size_t i = 0; i < 10; i++)
                if (i != 4 && i != 7 && !isdigit((unsigned char) s[i]))
                        return -EINVAL;
        if (c->month < 1 || c->month > 12 || c->day < 1 || c->day > 31)
                return -ERANGE;
        return 0;
}

static int parse_when(Command *c, char *words[], size_t n, char **ret_error) {
        if (c->mode == MODE_SCHEDULE) {
                if (n < 2 || parse_date(words[0], c) < 0 ||
                    time_of_day_parse(words[1], &c->hour, &c->minute) < 0)
                        return error(ret_error, "a schedule needs a date and a time in UTC, e.g. "
                                     "`schedule %s 2027-01-08 17:00`", task_table[c->task]);
                return 0;
        }
        if (n >= 2)
                c->weekday = weekday_from_string(words[0]);
        if (n < 2 || c->weekday < 0 || time_of_day_parse(words[1], &c->hour, &c->minute) < 0)
                return error(ret_error, "a recurring schedule needs a weekday and a time in UTC, e.g. "
                             "`recurring %s Friday 15:00`", task_table[c->task]);
        return 0;
}

static int parse_cancel(Command *c, char *words[], size_t n, char **ret_error) {
        if (n == 0)
                return 0;
        c->has_date = true;
        if (n != 2 || parse_date(words[0], c) < 0 || time_of_day_parse(words[1], &c->hour, &c->minute) < 0)
                return error(ret_error,
                             "`cancel` takes a command, and for a one-shot its date and time, e.g. "
                             "`cancel %s 2027-01-08 17:00`",
                             task_table[c->task]);
        return 0;
}

/* "4" or "#4": a schedule's id (1 if it is one, 0 if the word is no number). */
static int parse_id(const char *word, unsigned *ret) {
        const char *digits = word[0] == '#' ? word + 1 : word;
        unsigned id;

        if (digits[0] == 0 || strspn(digits, "0123456789") != strlen(digits) || strlen(digits) > 4 ||
            safe_atou(digits, &id) < 0 || id == 0 || id > SCHEDULE_ID_MAX)
                return 0;
        *ret = id;
        return 1;
}

static int parse_list(Command *c, char *words[], size_t n, char **ret_error) {
        static const char *const what[] = { [LIST_RUNS] = "runs", [LIST_SCHEDULES] = "schedules",
                                            [LIST_RECURRING] = "recurring" };

        for (size_t i = 0; n == 1 && i < ELEMENTSOF(what); i++)
                if (strcasecmp(words[0], what[i]) == 0) {
                        c->list = (ListWhat) i;
                        return 0;
                }
        return error(ret_error, "`list` takes one of: runs, schedules, recurring");
}

static int parse_words(Command *c, char *words[], size_t n, char **ret_error) {
        size_t used;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(mode_table); i++)
                if (strcasecmp(words[0], mode_table[i]) == 0)
                        c->mode = (Mode) i;
        if (c->mode == MODE_HELP)
                return n == 1 ? 0 : error(ret_error, "`help` takes no arguments");
        if (c->mode == MODE_BRANCH)
                return n == 1 ? 0 :
                                error(ret_error, "`branch` takes no arguments: it says which stability "
                                      "branch your server is on; to switch, contact us");
        if (c->mode == MODE_LIST)
                return parse_list(c, words + 1, n - 1, ret_error);
        if (n < 2)
                return error(ret_error, "`%s` needs a command, e.g. `%s ping`; send `help`", words[0],
                             mode_table[c->mode]);
        if (c->mode == MODE_CANCEL || c->mode == MODE_PAUSE || c->mode == MODE_RESUME) {
                r = parse_id(words[1], &c->id);
                if (r > 0)
                        return n == 2 ? 0 : error(ret_error, "`%s %s` takes nothing more",
                                                  mode_table[c->mode], words[1]);
        }
        r = parse_task(words[1], &c->task, ret_error);
        if (r < 0)
                return r;
        if (c->mode == MODE_PAUSE || c->mode == MODE_RESUME)
                return n == 2 ? 0 : error(ret_error, "`%s` takes only the command of a recurring schedule, "
                                          "e.g. `%s maintenance`", mode_table[c->mode], mode_table[c->mode]);
        if (c->mode == MODE_CANCEL)
                return parse_cancel(c, words + 2, n - 2, ret_error);
        used = 2;
        if (c->mode != MODE_RUN) {
                r = parse_when(c, words + 2, n - 2, ret_error);
                if (r < 0)
                        return r;
                used += 2;
        }
        return parse_args(c, mode_table[c->mode], words + used, n - used, ret_error);
}

int command_parse(const char *text, Command *ret, char **ret_error) {
        _cleanup_free_ char *copy = NULL;
        char *words[WORDS_MAX];
        Command c = {};
        size_t n;
        bool known = false;
        int r;

        *ret_error = NULL;
        copy = strdup(text);
        if (!copy)
                return -ENOMEM;
        if (split_words(copy, words, &n) < 0 || n == 0)
                return error(ret_error, "unknown command, send `help`");
        for (size_t i = 0; i < ELEMENTSOF(mode_table); i++)
                known = known || strcasecmp(words[0], mode_table[i]) == 0;
        if (!known)
                return error(ret_error, "unknown command, send `help`");
        r = parse_words(&c, words, n, ret_error);
        if (r < 0)
                return r;
        *ret = c;
        return 0;
}

int command_parse_sized(const char *body, size_t size, Command *ret, char **ret_error) {
        *ret_error = NULL;
        if (size > COMMAND_MAX)
                return error(ret_error, "that message is too long to be a command; commands are one short "
                                        "line. Send `help`");
        if (strnlen(body, size) != size)
                return error(ret_error, "unknown command, send `help`");
        return command_parse(body, ret, ret_error);
}
