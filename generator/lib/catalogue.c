/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <ctype.h>
#include <ini.h>
#include <stdarg.h>

#include "catalogue.h"
#include "util.h"

#define COMPONENTS_MAX 1000
#define PRICE_MAX_CENTS 100000000U

typedef struct ParseState {
        Component *items;
        size_t n;
        char *error;
} ParseState;

int price_parse(const char *s, unsigned *ret_cents) {
        unsigned long dollars = 0, cents = 0;
        const char *p = s;
        size_t digits = 0;

        for (; isdigit((unsigned char) *p) && digits < 9; p++, digits++)
                dollars = dollars * 10 + (unsigned long) (*p - '0');
        if (digits == 0)
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) p[0]))
                        return -EINVAL;
                cents = (unsigned long) (p[0] - '0') * 10;
                if (isdigit((unsigned char) p[1]))
                        cents += (unsigned long) (p[1] - '0');
                p += isdigit((unsigned char) p[1]) ? 2 : 1;
        }
        if (*p || dollars * 100 + cents > PRICE_MAX_CENTS)
                return -EINVAL;
        *ret_cents = (unsigned) (dollars * 100 + cents);
        return 0;
}

/* Where the common components live and what they need open, unless the catalogue says otherwise:
 * "matrix" is the homeserver (matrix.DOMAIN), "email" needs SMTP and submission. */
static const struct {
        const char *id;
        const char *subdomain;
        unsigned short ports[COMPONENT_PORTS_MAX];
} component_defaults[] = {
        { "matrix", "matrix", {} },
        { "element-web", "element", {} },
        { "gotosocial", "social", {} },
        { "ntfy", "ntfy", {} },
        { "miniflux", "miniflux", {} },
        { "radicale", "radicale", {} },
        { "buscarron", "buscarron", {} },
        { "sso", "auth", {} },
        { "email", NULL, { 25, 587 } },
};

static int component_set_defaults(Component *c) {
        for (size_t i = 0; i < ELEMENTSOF(component_defaults); i++) {
                if (!streq(component_defaults[i].id, c->id))
                        continue;
                memcpy(c->ports, component_defaults[i].ports, sizeof(c->ports));
                if (component_defaults[i].subdomain)
                        return free_and_strdup(&c->subdomain, component_defaults[i].subdomain);
        }
        return 0;
}

static int ports_parse(const char *value, unsigned short ret[static COMPONENT_PORTS_MAX]) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        unsigned p;

        if (strv_split_comma(value, &l) < 0)
                return -ENOMEM;
        if (strv_length(l) >= COMPONENT_PORTS_MAX)
                return -E2BIG;
        for (char **i = l; *i; i++) {
                if (safe_atou(*i, &p) < 0 || p == 0 || p > 65535)
                        return -EINVAL;
                ret[n++] = (unsigned short) p;
        }
        for (; n < COMPONENT_PORTS_MAX; n++)
                ret[n] = 0;
        return 0;
}

static Component *component_get(ParseState *st, const char *id) {
        Component *n;

        for (size_t i = 0; i < st->n; i++)
                if (streq(st->items[i].id, id))
                        return &st->items[i];
        if (st->n >= COMPONENTS_MAX)
                return NULL;
        n = reallocarray(st->items, st->n + 1, sizeof(Component));
        if (!n)
                return NULL;
        st->items = n;
        n = &n[st->n];
        *n = (Component) { .id = strdup(id) };
        if (!n->id || component_set_defaults(n) < 0) {
                free(n->id);
                return NULL;
        }
        st->n++;
        return n;
}

static int handler(void *userdata, const char *section, const char *key, const char *value) {
        ParseState *st = userdata;
        const char *id = startswith(section, "component ");
        Component *c;

        if (!id || !customer_name_valid(id))
                return ini_fail(&st->error, section, key,
                                "sections are [component ID], ID lower-case letters, digits, '-'");
        c = component_get(st, id);
        if (!c)
                return ini_fail(&st->error, section, key, "too many components");
        if (streq(key, "price")) {
                if (price_parse(value, &c->price_cents) < 0)
                        return ini_fail(&st->error, section, key,
                                        "'%s' is not a price in dollars, like 5 or 2.50", value);
                return 1;
        }
        if (streq(key, "name") || streq(key, "description")) {
                if (strlen(value) > 500 || strpbrk(value, "`\n"))
                        return ini_fail(&st->error, section, key, "at most 500 characters, no backticks");
                return free_and_strdup(streq(key, "name") ? &c->name : &c->description, value) < 0 ? 0 : 1;
        }
        if (streq(key, "subdomain")) {
                /* One DNS label: the record checked is SUBDOMAIN.DOMAIN; empty for none. */
                if (!isempty(value) && (!customer_name_valid(value) || strlen(value) > 63))
                        return ini_fail(&st->error, section, key,
                                        "'%s' is not one DNS label (lower-case letters, digits, '-')",
                                        value);
                if (isempty(value)) {
                        c->subdomain = mfree(c->subdomain);
                        return 1;
                }
                return free_and_strdup(&c->subdomain, value) < 0 ? 0 : 1;
        }
        if (streq(key, "ports")) {
                int r = ports_parse(value, c->ports);
                if (r == -ENOMEM)
                        return 0;
                if (r < 0)
                        return ini_fail(&st->error, section, key,
                                        "'%s' is not a list of at most %u TCP port numbers", value,
                                        COMPONENT_PORTS_MAX - 1);
                return 1;
        }
        return ini_fail(&st->error, section, key, "unknown key");
}

int catalogue_load(const char *path, Component **ret, size_t *ret_n, char **ret_error) {
        _cleanup_fclose_ FILE *f = NULL;
        ParseState st = {};
        int line, r = 0;

        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                if (asprintf(ret_error, "%s: cannot open: %s", path, strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        line = ini_parse_file(f, handler, &st);
        if (line != 0)
                r = asprintf(ret_error, "%s:%i: %s", path, line, st.error ?: "syntax error") < 0 ? -ENOMEM
                                                                                                 : -EINVAL;
        for (size_t i = 0; r == 0 && i < st.n; i++)
                if (!st.items[i].name)
                        r = asprintf(ret_error, "%s: [component %s] name: missing", path, st.items[i].id) < 0
                                    ? -ENOMEM
                                    : -EINVAL;
        free(st.error);
        if (r < 0) {
                catalogue_free(st.items, st.n);
                return r;
        }
        *ret = st.items;
        *ret_n = st.n;
        return 0;
}

void catalogue_free(Component *c, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(c[i].id);
                free(c[i].name);
                free(c[i].description);
                free(c[i].subdomain);
        }
        free(c);
}
