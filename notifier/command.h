/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The chat grammar. Pure: text in, a Command or a short message for the customer out.
 *   help
 *   run <command> [args]
 *   schedule <command> YYYY-MM-DD HH:MM [args]
 *   recurring <command> <Weekday> HH:MM [args]
 *   list runs | list schedules | list recurring
 *   cancel <command> [YYYY-MM-DD HH:MM] | pause <command> | resume <command>
 *   cancel <id> | pause <id> | resume <id>          (id: as `list schedules` shows it, "4" or "#4")
 *   branch
 * commands: ping, disk, price, maintenance, restart <service> */

#include <stdbool.h>

#include "calendar.h"

typedef enum Mode {
        MODE_HELP,
        MODE_RUN,
        MODE_SCHEDULE,
        MODE_RECURRING,
        MODE_LIST,
        MODE_CANCEL,
        MODE_PAUSE,
        MODE_RESUME,
        MODE_BRANCH,
} Mode;

typedef enum ListWhat {
        LIST_RUNS,
        LIST_SCHEDULES,
        LIST_RECURRING,
} ListWhat;

typedef enum TaskKind {
        TASK_PING,
        TASK_DISK,
        TASK_PRICE,
        TASK_MAINTENANCE,
        TASK_RESTART,
        _TASK_MAX,
} TaskKind;

typedef struct Command {
        Mode mode;
        ListWhat list;
        TaskKind task;
        char service[101];      /* restart's argument, checked against a strict pattern */
        int year, month, day;   /* schedule */
        int hour, minute;       /* schedule, recurring */
        int weekday;            /* recurring, 0 = Monday */
        bool has_date;          /* cancel: a one-shot's date and time were given */
        unsigned id;            /* cancel, pause, resume: the schedule's id; 0: by command */
} Command;

/* No command is longer (the longest real one is about 60 bytes): a longer message is none, and is
 * kept out of everything after the /sync parser whole. */
#define COMMAND_MAX 4096

/* 0 and *ret on success; -EINVAL and *ret_error (for the customer) otherwise. */
int command_parse(const char *text, Command *ret, char **ret_error);
/* The same for a message's body of size bytes (NULs included, as JSON can carry them): one with a
 * NUL inside, or longer than a command can be, is refused whole, never cut to what a C string
 * would make of it. */
int command_parse_sized(const char *body, size_t size, Command *ret, char **ret_error);

const char *task_kind_to_string(TaskKind k);
int task_kind_from_string(const char *s, TaskKind *ret);
/* "restart slack", "ping": the command as the customer wrote it, without the mode. */
char *command_task_string(const Command *c);
const char *mode_to_string(Mode m);
/* The characters a service name may have: it ends up in a unit name and an SSH command. */
bool service_name_valid(const char *s);
