/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Health checks as the customer reads them: one line each, 🟩 or 🟥, a short reason, a help link;
 * failures first. And the server's resources from what one SSH command prints. Pure. */

#include <stdbool.h>
#include <stdio.h>

#include "util.h"

typedef struct Check {
        bool ok;
        char *key;             /* what is checked, without figures: "25 (tcp port)", "Disk utilization" */
        char *text;
        const char *anchor;    /* the help page's anchor for this check */
} Check;

typedef struct CheckList {
        Check *items;
        size_t n;
} CheckList;

int checks_add(CheckList *l, bool ok, const char *anchor, const char *key, const char *format, ...)
        _printf_(5, 6);
/* A place for a check that reports later, so the report's order does not depend on which answer
 * came first; checks_set() fills it. */
int checks_slot(CheckList *l, const char *anchor, const char *key, size_t *ret);
void checks_set(CheckList *l, size_t i, bool ok, const char *format, ...) _printf_(4, 5);
/* Moves every item of from to the end of to. */
int checks_append(CheckList *to, CheckList *from);
void checks_done(CheckList *l);
size_t checks_failed(const CheckList *l);
/* "🟥 Disk utilization is ~85%: recommended is below 80% (help: URL#disk)" */
int checks_line(const Check *c, const char *help_url, char **ret);
/* "* 🟥 Disk utilization is ~85%: recommended is below 80% (help: URL#disk)"; failures first. */
void checks_write(FILE *f, const CheckList *l, const char *help_url);

typedef struct Resources {
        unsigned cpu;          /* % busy over the sampled second */
        unsigned ram;          /* % of MemTotal not MemAvailable */
        unsigned disk;         /* % of / used, as df says */
} Resources;

/* The output of RESOURCES_COMMAND. *ret_why says what made no sense. */
#define RESOURCES_COMMAND                                                                                   \
        "env LC_ALL=C sh -c 'head -n1 /proc/stat && sleep 1 && head -n1 /proc/stat && "                    \
        "grep -E \"^(MemTotal|MemAvailable):\" /proc/meminfo && df -P /'"
int resources_parse(const char *text, Resources *ret, const char **ret_why);
