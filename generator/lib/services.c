/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <ctype.h>

#include "services.h"
#include "util.h"

/* The bridges and bots customers ask for most, by the names they use for them. */
const char *const service_builtin_aliases[] = {
        "synapse",     "matrix-synapse",
        "slack",       "matrix-mautrix-slack",
        "facebook",    "matrix-mautrix-facebook",
        "messenger",   "matrix-mautrix-facebook",
        "instagram",   "matrix-mautrix-instagram",
        "telegram",    "matrix-mautrix-telegram",
        "whatsapp",    "matrix-mautrix-whatsapp",
        "signal",      "matrix-mautrix-signal",
        "discord",     "matrix-mautrix-discord",
        "twitter",     "matrix-mautrix-twitter",
        "googlechat",  "matrix-mautrix-googlechat",
        "gmessages",   "matrix-mautrix-gmessages",
        "linkedin",    "matrix-beeper-linkedin",
        "skype",       "matrix-go-skype-bridge",
        "irc",         "matrix-heisenbridge",
        "email",       "matrix-bot-postmoogle",
        "postmoogle",  "matrix-bot-postmoogle",
        "honoroit",    "matrix-bot-honoroit",
        "buscarron",   "matrix-bot-buscarron",
        "reminder",    "matrix-bot-matrix-reminder-bot",
        "element",     "matrix-client-element",
        "coturn",      "matrix-coturn",
        "postgres",    "matrix-postgres",
        NULL,
};

static bool unit_chars_valid(const char *s) {
        for (; *s; s++)
                if (!isascii((unsigned char) *s) || !(isalnum((unsigned char) *s) || strchr("-_.@:", *s)))
                        return false;
        return true;
}

static const char *lookup(const char *const *pairs, const char *name) {
        for (size_t i = 0; pairs && pairs[i] && pairs[i + 1]; i += 2)
                if (streq(pairs[i], name))
                        return pairs[i + 1];
        return NULL;
}

int service_resolve(const Customer *c, const char *name, const char **ret_unit) {
        const char *unit;

        if (isempty(name) || strlen(name) > 100 || !unit_chars_valid(name))
                return -EINVAL;
        unit = lookup((const char *const *) c->aliases, name);
        if (!unit)
                unit = lookup(service_builtin_aliases, name);
        /* Full names: only the Matrix services, never sshd or the like. */
        if (!unit && startswith(name, "matrix-") && name[strlen("matrix-")])
                unit = name;
        if (!unit)
                return -ENOENT;
        *ret_unit = unit;
        return 0;
}
