/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <ctype.h>

#include "maintenance.h"

/* One line: ssh-io.c refuses commands with line breaks. */
const char maintenance_builtin_script[] =
        "export DEBIAN_FRONTEND=noninteractive LC_ALL=C; "
        "apt_opts='-q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold'; "
        "echo '==> Updating the package lists'; apt-get -q update || exit 10; "
        "echo '==> Upgrading the packages'; apt-get $apt_opts upgrade || exit 11; "
        "echo '==> Removing packages no longer needed'; apt-get $apt_opts autoremove || exit 12; "
        "echo '==> Cleaning the package cache'; apt-get -q clean || exit 13; "
        "if [ -e /var/run/reboot-required ]; then "
        "echo 'NOTICE: The server needs a reboot to finish the updates.'; fi; "
        "echo '==> Vacuuming the journal'; journalctl --vacuum-time=7d || exit 14; "
        "if command -v docker >/dev/null 2>&1; then "
        "echo '==> Pruning docker'; docker system prune -f || exit 15; fi; "
        "echo '==> Checking the matrix services'; bad=; "
        "for u in $(systemctl list-unit-files --no-legend --state=enabled 'matrix-*.service' | "
        "awk '{print $1}'); do systemctl is-active --quiet \"$u\" || bad=\"$bad $u\"; done; "
        "if [ -n \"$bad\" ]; then echo \"NOTICE: Not active:$bad\"; exit 16; fi; "
        "echo 'All matrix services are active.'";

/* Control characters and ANSI colour sequences out, backticks made quotes, blanks trimmed, cut
 * at max bytes on a character boundary. */
static char *clean_text(const char *s, size_t max) {
        char *t = malloc(strlen(s) + 1), *p = t;

        if (!t)
                return NULL;
        for (; *s; s++) {
                if (*s == '\x1b' && s[1] == '[') {
                        for (s += 2; *s && !isalpha((unsigned char) *s); s++)
                                ;
                        if (!*s)
                                break;
                        continue;
                }
                *p++ = *s == '`' ? '\'' : ((unsigned char) *s < ' ' || *s == 0x7f) ? ' ' : *s;
        }
        *p = 0;
        p = t + strspn(t, " ");
        memmove(t, p, strlen(p) + 1);
        if (strlen(t) > max) {
                size_t n = max;
                while (n > 0 && ((unsigned char) t[n] & 0xc0) == 0x80)
                        n--;
                t[n] = 0;
        }
        (void) strstrip(t);
        return t;
}

/* Sets *ret to the cleaned text; 1 if there is any, 0 if nothing is left. */
static int clean_into(const char *s, size_t n, char **ret) {
        _cleanup_free_ char *copy = strndup(s, n), *t = NULL;

        if (!copy)
                return -ENOMEM;
        t = clean_text(copy, MAINTENANCE_STEP_MAX);
        if (!t)
                return -ENOMEM;
        if (isempty(t))
                return 0;
        *ret = TAKE_PTR(t);
        return 1;
}

int maintenance_step_parse(const char *line, char **ret_step) {
        const char *s, *end;

        s = startswith(line, "==> ");
        if (s)
                return clean_into(s, strlen(s), ret_step);
        s = startswith(line, "TASK [");
        if (!s)
                return 0;
        end = strrchr(s, ']');
        if (!end || !startswith(end, "] *"))
                return 0;
        return clean_into(s, (size_t) (end - s), ret_step);
}

int maintenance_notice_parse(const char *line, char **ret_text) {
        const char *s = startswith(line, "NOTICE: ");

        return s ? clean_into(s, strlen(s), ret_text) : 0;
}

void line_splitter_feed(LineSplitter *s, const char *data, size_t size) {
        for (size_t i = 0; i < size; i++) {
                if (data[i] == '\n') {
                        if (!s->skipping)
                                line_splitter_flush(s);
                        s->skipping = false;
                        s->n = 0;
                        continue;
                }
                if (s->skipping)
                        continue;
                if (s->n == MAINTENANCE_LINE_MAX) {
                        line_splitter_flush(s);
                        s->skipping = true;
                        continue;
                }
                s->buf[s->n++] = data[i];
        }
}

void line_splitter_flush(LineSplitter *s) {
        if (s->n == 0)
                return;
        /* Windows line ends. */
        if (s->buf[s->n - 1] == '\r')
                s->n--;
        s->buf[s->n] = 0;
        s->n = 0;
        s->on_line(s->buf, s->userdata);
}

int last_lines_push(LastLines *l, const char *line) {
        char **slot = &l->lines[l->n % MAINTENANCE_LAST_LINES];
        char *t = clean_text(line, 300);

        if (!t)
                return -ENOMEM;
        free(*slot);
        *slot = t;
        l->n++;
        return 0;
}

void last_lines_write(FILE *f, const LastLines *l) {
        size_t first = l->n > MAINTENANCE_LAST_LINES ? l->n - MAINTENANCE_LAST_LINES : 0;

        for (size_t i = first; i < l->n; i++) {
                const char *s = l->lines[i % MAINTENANCE_LAST_LINES];
                if (!isempty(s))
                        fprintf(f, "* `%s`\n", s);
        }
}

void last_lines_done(LastLines *l) {
        for (size_t i = 0; i < MAINTENANCE_LAST_LINES; i++)
                free(l->lines[i]);
        *l = (LastLines) {};
}

void step_throttle_set(StepThrottle *t, char *step) {
        if (streq_ptr(t->latest, step)) {
                free(step);
                return;
        }
        free(t->latest);
        t->latest = step;
        t->pending = true;
}

const char *step_throttle_due(StepThrottle *t, usec_t now) {
        if (!t->pending || (t->told_any && now < t->last + MAINTENANCE_PROGRESS_INTERVAL_USEC))
                return NULL;
        t->pending = false;
        t->told_any = true;
        t->last = now;
        return t->latest;
}

void step_throttle_done(StepThrottle *t) {
        free(t->latest);
        *t = (StepThrottle) {};
}

int maintenance_environment(const Customer *cu, char ***ret) {
        _cleanup_strv_free_ char **env = NULL;
        char port[8];
        const char *const vars[][2] = {
                { "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
                { "LANG", "C.UTF-8" },
                { "SCHEDULER_CUSTOMER", cu->name },
                { "SCHEDULER_DOMAIN", cu->domain },
                { "SCHEDULER_BRANCH", branch_to_string(cu->branch) },
                { "SCHEDULER_SSH_HOST", cu->ssh_host },
                { "SCHEDULER_SSH_PORT", port },
                { "SCHEDULER_SSH_USER", cu->ssh_user },
                { "SCHEDULER_SSH_KEY_FILE", cu->ssh_key_file },
        };

        snprintf(port, sizeof(port), "%u", cu->ssh_port);
        for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
                char *s;

                if (asprintf(&s, "%s=%s", vars[i][0], strempty(vars[i][1])) < 0)
                        return -ENOMEM;
                if (strv_push(&env, s) < 0) {
                        free(s);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(env);
        return 0;
}
