/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <sys/mount.h>

#include "bus-unit.h"

static int open_property(sd_bus_message *m, const char *name, const char *type) {
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', type);
        return r;
}

static int close_property(sd_bus_message *m) {
        int r = sd_bus_message_close_container(m);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

/* "30s", "1s", "180": the only durations the renderer writes. */
static int parse_seconds(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno > 0 || end == s || (*end && !streq(end, "s")))
                return -EINVAL;
        *ret = v * USEC_PER_SEC;
        return 0;
}

static int append_exec(sd_bus_message *m, const char *key, const char *line) {
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        r = strv_split_on(line, " ", &argv);
        if (r < 0)
                return r;
        if (!argv[0])
                return -EINVAL;
        r = open_property(m, key, "a(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sasb");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[0]);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv);
        if (r >= 0)
                r = sd_bus_message_append(m, "b", 0);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r < 0 ? r : close_property(m);
}

/* Environment= and LogExtraFields= come as many lines and go as one array each. */
static int append_list(sd_bus_message *m, const UnitSpec *u, const char *key) {
        bool bytes = streq(key, "LogExtraFields");
        int r;

        r = open_property(m, key, bytes ? "aay" : "as");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', bytes ? "ay" : "s");
        for (size_t i = 0; r >= 0 && i < u->n; i++) {
                if (!streq(u->props[i].key, key))
                        continue;
                r = bytes ? sd_bus_message_append_array(m, 'y', u->props[i].value, strlen(u->props[i].value))
                          : sd_bus_message_append(m, "s", u->props[i].value);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r < 0 ? r : close_property(m);
}

/* SystemCallFilter=~@privileged @resources, RestrictAddressFamilies=AF_UNIX AF_INET: the words as
 * one list, and whether it is an allow list (no "~") where the property has one ("(bas)"). */
static int append_words(sd_bus_message *m, const char *key, const char *value, bool allow_flag) {
        bool allow = value[0] != '~';
        _cleanup_strv_free_ char **words = NULL;
        int r;

        r = strv_split_on(value + !allow, " ", &words);
        if (r >= 0)
                r = open_property(m, key, allow_flag ? "(bas)" : "as");
        if (r >= 0 && allow_flag)
                r = sd_bus_message_open_container(m, 'r', "bas");
        if (r >= 0 && allow_flag)
                r = sd_bus_message_append(m, "b", allow);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, words);
        if (r >= 0 && allow_flag)
                r = sd_bus_message_close_container(m);
        return r < 0 ? r : close_property(m);
}

/* The sandboxing a task unit gets (unit.c), in the bus's types. */
static int append_sandboxing(sd_bus_message *m, const char *key, const char *value) {
        if (streq(key, "SystemCallFilter") || streq(key, "RestrictAddressFamilies"))
                return append_words(m, key, value, true);
        if (streq(key, "SystemCallArchitectures"))
                return append_words(m, key, value, false);
        /* An empty bounding set, namespaces all refused: the only values the renderer writes. */
        if (streq(key, "CapabilityBoundingSet") && isempty(value))
                return sd_bus_message_append(m, "(sv)", key, "t", UINT64_C(0));
        if (streq(key, "RestrictNamespaces") && streq(value, "yes"))
                return sd_bus_message_append(m, "(sv)", key, "t", UINT64_C(0));
        if (streq(key, "SystemCallErrorNumber") && streq(value, "EPERM"))
                return sd_bus_message_append(m, "(sv)", key, "i", (int32_t) EPERM);
        if (streq(key, "UMask"))
                return sd_bus_message_append(m, "(sv)", key, "u", (uint32_t) strtoul(value, NULL, 8));
        /* "ID:PATH", the ID ours, the path the operator's (without a ':' in the ID). */
        if (streq(key, "LoadCredential")) {
                _cleanup_free_ char *id = NULL;
                const char *colon = strchr(value, ':');

                if (!colon)
                        return -EINVAL;
                id = strndup(value, (size_t) (colon - value));
                if (!id)
                        return -ENOMEM;
                return sd_bus_message_append(m, "(sv)", key, "a(ss)", 1, id, colon + 1);
        }
        /* "-SOURCE:DEST", the '-' an absent source ignored, bound as a file unit's is (rbind). */
        if (streq(key, "BindReadOnlyPaths")) {
                _cleanup_free_ char *source = NULL;
                bool optional = value[0] == '-';
                const char *colon;

                value += optional;
                colon = strchr(value, ':');
                if (!colon)
                        return -EINVAL;
                source = strndup(value, (size_t) (colon - value));
                if (!source)
                        return -ENOMEM;
                return sd_bus_message_append(m, "(sv)", key, "a(ssbt)", 1, source, colon + 1, optional,
                                             (uint64_t) MS_REC);
        }
        return -EOPNOTSUPP;
}

static int append_one(sd_bus_message *m, const char *key, const char *value) {
        static const char *const strings[] = { "Description", "Type", "SyslogIdentifier", "CollectMode",
                                               "ProtectSystem", "ProtectHome", "Unit",
                                               "ProtectProc", "ProcSubset" };
        static const char *const bools[] = { "NoNewPrivileges", "PrivateTmp", "PrivateDevices", "Persistent",
                                             "RemainAfterElapse", "PrivateUsers", "ProtectKernelTunables",
                                             "ProtectKernelModules", "ProtectKernelLogs",
                                             "ProtectControlGroups", "ProtectClock", "ProtectHostname",
                                             "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality",
                                             "MemoryDenyWriteExecute", "RemoveIPC", "DynamicUser" };
        /* The unit file's name, the bus's. A monotonic timer's base keeps its name: systemd 252 refuses
         * "OnBootUSec" there ("Invalid timer base"), though systemctl show prints it so. */
        static const char *const monotonic[] = { "OnBootSec", "OnUnitActiveSec" };
        static const char *const durations[][2] = { { "RuntimeMaxSec", "RuntimeMaxUSec" },
                                                    { "AccuracySec", "AccuracyUSec" },
                                                    { "RandomizedDelaySec", "RandomizedDelayUSec" } };
        uint64_t usec;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (streq(key, strings[i]))
                        return sd_bus_message_append(m, "(sv)", key, "s", value);
        for (size_t i = 0; i < ELEMENTSOF(bools); i++)
                if (streq(key, bools[i]))
                        return sd_bus_message_append(m, "(sv)", key, "b", streq(value, "yes"));
        if (streq(key, "ExecStart") || streq(key, "ExecStopPost"))
                return append_exec(m, key, value);
        if (streq(key, "After"))
                return sd_bus_message_append(m, "(sv)", key, "as", 1, value);
        if (streq(key, "OnCalendar"))
                return sd_bus_message_append(m, "(sv)", "TimersCalendar", "a(ss)", 1, "OnCalendar", value);
        r = append_sandboxing(m, key, value);
        if (r != -EOPNOTSUPP)
                return r;
        if (parse_seconds(value, &usec) < 0)
                return -EINVAL;
        /* Each one its own property: systemd adds every TimersMonotonic item to the timer's list. */
        for (size_t i = 0; i < ELEMENTSOF(monotonic); i++)
                if (streq(key, monotonic[i]))
                        return sd_bus_message_append(m, "(sv)", "TimersMonotonic", "a(st)", 1, key, usec);
        for (size_t i = 0; i < ELEMENTSOF(durations); i++)
                if (streq(key, durations[i][0]))
                        return sd_bus_message_append(m, "(sv)", durations[i][1], "t", usec);
        return -EOPNOTSUPP;   /* the renderer grew a key this table does not know: a bug */
}

int bus_append_unit_spec(sd_bus_message *m, const UnitSpec *u) {
        bool env = false, fields = false;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < u->n; i++) {
                const char *key = u->props[i].key;

                if (streq(key, "Environment") || streq(key, "LogExtraFields")) {
                        bool *done = streq(key, "Environment") ? &env : &fields;
                        if (!*done)
                                r = append_list(m, u, key);
                        *done = true;
                } else
                        r = append_one(m, key, u->props[i].value);
        }
        return r;
}

int bus_message_start_transient(sd_bus *bus, const UnitSpec *u, const UnitSpec *aux, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", u->name, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = bus_append_unit_spec(m, u);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sa(sv))");
        if (r >= 0 && aux) {
                r = sd_bus_message_open_container(m, 'r', "sa(sv)");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", aux->name);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "(sv)");
                if (r >= 0)
                        r = bus_append_unit_spec(m, aux);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int bus_list_units_async(sd_bus *bus, sd_bus_slot **slot, char **states, char **patterns,
                         sd_bus_message_handler_t callback, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        char *none[] = { NULL };
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "ListUnitsByPatterns");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, states ?: none);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, patterns);
        if (r >= 0)
                r = sd_bus_call_async(bus, slot, m, callback, userdata, 0);
        return r;
}

int bus_read_schedule_timers(sd_bus_message *reply, const char *customer, char ***ret) {
        _cleanup_strv_free_ char **timers = calloc(1, sizeof(char *));
        const char *name, *path;
        int r;

        if (!timers)
                return -ENOMEM;
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        while (r > 0) {
                r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, NULL, NULL, NULL, &path,
                                        NULL, NULL, NULL);
                if (r <= 0)
                        break;
                if (schedule_unit_is_customers(name, customer) &&
                    (strv_extend(&timers, name) < 0 || strv_extend(&timers, path) < 0))
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(timers);
        return 0;
}
