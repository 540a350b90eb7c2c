/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* /etc/scheduler/scheduler.conf: parsed into typed structs, validated after parsing.
 * Pure: no logging above debug; errors are returned with a message a person can act on. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "netrange.h"
#include "util.h"

typedef enum Branch {
        BRANCH_STABLE,
        BRANCH_FRESH,
        _BRANCH_MAX,
} Branch;

#define MAINTENANCE_TIMEOUT_DEFAULT_SEC 3600U

/* [branch NAME]: what `maintenance` runs for the customers on that branch. Neither command nor
 * ssh_command: the built-in default over SSH. */
typedef struct BranchConfig {
        char **command;            /* argv on the control host, argv[0] an absolute path */
        char *ssh_command;         /* operator text for the customer's server's shell */
        unsigned timeout_sec;      /* the maintenance itself; MAINTENANCE_TIMEOUT_DEFAULT_SEC */
} BranchConfig;

typedef struct Customer {
        char *name;
        char **owners;             /* Matrix user ids allowed to give commands */
        char *domain;
        char *ssh_host;
        unsigned ssh_port;
        char *ssh_user;
        char *ssh_key_file;
        char *ssh_known_host_key;  /* "ssh-ed25519 AAAA…" */
        Branch branch;
        char **components;
        char *maintenance;         /* "Friday 15:00"; NULL: derived from the name */
        char **aliases;            /* alternating: friendly name, unit name */
        char **disk_paths;         /* alternating: label, absolute path on the customer's server */
        char *timezone;            /* tz database name; NULL: UTC */
        unsigned cpu_threshold;    /* ping: red at or above this %, default 90 */
        unsigned ram_threshold;    /* default 90 */
        unsigned disk_threshold;   /* default 80 */
        char **addresses;          /* the server's public IPs, what DNS must say; NULL: ssh_host's */
        bool monitor;              /* gets a monitoring timer (when [scheduler] has one); default yes */
        unsigned maintenance_timeout_sec; /* from the branch's section, for the units' RuntimeMaxSec */
        unsigned lock_wait_sec;    /* [scheduler] lock_wait, for the units' RuntimeMaxSec */
} Customer;

#define COMPONENT_PORTS_MAX 8

#define MONITOR_INTERVAL_DEFAULT 300
#define MONITOR_INTERVAL_MIN 60
#define MONITOR_INTERVAL_MAX 86400

typedef struct Component {
        char *id;                  /* as customers' components= name it: "hosting-big" */
        char *name;                /* "Hosting (Big)" */
        unsigned price_cents;      /* per month; 0: free, left out of breakdowns */
        char *description;
        char *subdomain;           /* "social": its DNS record must point at the server; NULL: none */
        unsigned short ports[COMPONENT_PORTS_MAX]; /* TCP ports it needs open, 0-terminated */
} Component;

typedef struct Config {
        char *path;

        char *homeserver;          /* without a trailing slash */
        char *user_id;
        char *password_file;
        char *access_token_file;
        char *device_name;
        char *crypto_key_file;     /* end-to-end encryption's store key; NULL: no encryption */
        bool encrypt_rooms;        /* rooms the bot creates are encrypted (with crypto_key_file) */

        char *state_dir;
        char *schedules_dir;
        char *price_catalogue;
        char *help_url;            /* base of the checks' help links; NULL: none */
        char *resolver;            /* "IP" or "IP:PORT", "[IPv6]:PORT"; NULL: resolv.conf's first */
        char *tls_ca_file;         /* CAs the checks trust; NULL: the system's */
        NetRange *ping_allowed;    /* networks ping may connect to though private, loopback, … */
        size_t n_ping_allowed;
        unsigned monitor_interval; /* seconds between monitoring runs; 0: no monitoring */
        unsigned maintenance_reminder; /* seconds before a weekly maintenance to remind; 0: none */
        unsigned commands_per_minute; /* per owner; more are left out with one notice a minute */
        /* How long a scheduled maintenance or restart waits for another of its customer's to finish
         * before it is skipped; LOCK_WAIT_DEFAULT. */
        unsigned lock_wait;

        Component *catalogue;
        size_t n_catalogue;

        Customer *customers;
        size_t n_customers;

        BranchConfig branches[_BRANCH_MAX];
} Config;

typedef enum ConfigLoadFlags {
        CONFIG_LOAD_DEFAULT = 0,
        /* The generator needs no prices: a broken catalogue must not cost the schedules. */
        CONFIG_LOAD_NO_CATALOGUE = 1 << 0,
} ConfigLoadFlags;

/* On failure *ret_error says what is wrong, where: "FILE:LINE: [section] key: why". */
#define COMMANDS_PER_MINUTE_DEFAULT 20
/* A maintenance may take 3 hours (its default RuntimeMaxSec): a restart scheduled meanwhile waits
 * for it rather than be skipped. */
#define LOCK_WAIT_DEFAULT (3 * 3600)
#define LOCK_WAIT_MAX (24 * 3600)

int config_load(const char *path, ConfigLoadFlags flags, Config **ret, char **ret_error);
Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

const Customer *config_find_customer(const Config *c, const char *name);
const Customer *config_find_owner(const Config *c, const char *matrix_user);
const Component *config_find_component(const Config *c, const char *id);

const char *branch_to_string(Branch b);
/* "90m", "2h", "1h30m", "45min", "3600s", "3600": 0 or -EINVAL. */
int timespan_parse_sec(const char *s, unsigned *ret);
/* The customer's time zone: what dates and times in chat mean. */
static inline const char *customer_zone(const Customer *c) {
        return c->timezone ? c->timezone : "UTC";
}

/* Whether the customer has a monitoring timer. */
static inline bool customer_monitored(const Config *c, const Customer *cu) {
        return c->monitor_interval > 0 && cu->monitor;
}

bool matrix_user_id_valid(const char *s);
/* "!opaque:server" (or "!opaque", room version 12) and "$opaque[:server]": what homeservers make,
 * at most 255 bytes of letters, digits and "-._~+=/:[]". Checked where they enter (/sync) and
 * where they are read back (the schedules store, state.json): the same set. */
bool matrix_room_id_valid(const char *s);
bool matrix_event_id_valid(const char *s);
bool customer_name_valid(const char *s);
bool hostname_valid(const char *s);
/* "192.0.2.1", "2001:db8::1", with port "192.0.2.1:53", "[2001:db8::1]:53": 0 or -EINVAL. The
 * port is default_port when not given. */
int socket_address_parse(const char *s, unsigned default_port, struct sockaddr_storage *ret,
                         socklen_t *ret_len);
bool ip_address_valid(const char *s);
