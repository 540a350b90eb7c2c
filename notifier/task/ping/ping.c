/* SPDX-License-Identifier: GPL-3.0-or-later */

/* ping: how the customer's server looks from the outside and from the inside. From the inside,
 * over SSH: CPU, memory and disk. From the outside, all at once on one event loop: the TCP ports
 * its components need, federation found the way other servers find it, the client and federation
 * APIs, both well-knowns, the DNS record of every component's subdomain, and the TLS
 * certificates. A failed check is a red line of the report, not a failed command: the customer
 * asked how things are. */

#include <pthread.h>
#include <stdarg.h>
#include <jansson.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>

#include "checks.h"
#include "log.h"
#include "lock.h"
#include "ping-answers.h"
#include "probe.h"
#include "ssh-io.h"
#include "task.h"
#include "util.h"

#define PING_TIMEOUT_SEC 30U
#define CERT_WARN_DAYS 14U
/* Every probe has its own timeout well below this; it only guards against a bug of ours. */
#define LOOP_GUARD_USEC (60 * USEC_PER_SEC)
#define FEDERATION_PORT 8448U

/* ---- inside: resources over SSH, in a thread while the outside checks run ---------------------- */

typedef struct Inside {
        TaskContext *t;
        CheckList checks;
        char *info; /* "INFO [acme.test] disk usage: 3%", NULL if unknown */
        int r;
} Inside;

/* "RAM utilization is ~77%", red with the recommendation at or above the threshold. */
static int threshold_check(CheckList *l, const char *anchor, const char *label, unsigned value,
                           unsigned threshold) {
        char key[32];

        snprintf(key, sizeof(key), "%s utilization", label);
        if (value < threshold)
                return checks_add(l, true, anchor, key, "%s is ~%u%%", key, value);
        return checks_add(l, false, anchor, key, "%s is ~%u%%: recommended is below %u%%", key, value,
                          threshold);
}

static void *inside_run(void *userdata) {
        _cleanup_(ssh_result_done) SshResult res = {};
        _cleanup_free_ char *error = NULL;
        Inside *in = userdata;
        const Customer *cu = in->t->customer;
        CheckList *l = &in->checks;
        const char *why = NULL;
        Resources r;

        if (ssh_run(cu, RESOURCES_COMMAND, PING_TIMEOUT_SEC, &res, &error) < 0) {
                in->r = checks_add(l, false, "ssh", "SSH", "%s (SSH): %s", cu->ssh_host, strempty(error));
                return NULL;
        }
        if (res.exit_status != 0 || resources_parse(res.out, &r, &why) < 0) {
                in->r = checks_add(l, false, "ssh", "SSH",
                                   "%s (SSH): the resource figures make no sense (%s)", cu->ssh_host,
                                   why ?: "the command failed");
                return NULL;
        }
        if (asprintf(&in->info, "INFO [%s] disk usage: %u%%", cu->domain, r.disk) < 0)
                in->info = NULL;
        in->r = threshold_check(l, "cpu", "CPU", r.cpu, cu->cpu_threshold);
        if (in->r >= 0)
                in->r = threshold_check(l, "disk", "Disk", r.disk, cu->disk_threshold);
        if (in->r >= 0)
                in->r = threshold_check(l, "ram", "RAM", r.ram, cu->ram_threshold);
        return NULL;
}

/* ---- outside: the network checks ---------------------------------------------------------------- */

typedef struct Ping {
        TaskContext *t;
        const Customer *cu;
        sd_event *event;
        Prober *prober;
        CheckList checks;
        unsigned pending;
        int error;       /* out of memory or a probe that could not start */
        char *matrix;    /* matrix.DOMAIN */
        char **expected; /* the server's addresses: where DNS records must point */
        size_t *port_slots;
        unsigned *ports;
        char **port_labels; /* "25", "587" */
        size_t *dns_slots;
        char **dns_hosts;
} Ping;

static const char *resolve_failure(const Resolved *r) {
        return r->why ?: r->refused ? r->refused : r->nxdomain ? "no such name" : "no address";
}

static void hold(Ping *p) {
        p->pending++;
}

static void release(Ping *p) {
        if (--p->pending == 0)
                (void) sd_event_exit(p->event, 0);
}

/* A probe that could not even start: the check says so, the run goes on. */
static void not_started(Ping *p, size_t slot, const char *label, int r) {
        checks_set(&p->checks, slot, false, "%s: could not be checked (%s)", label, strerror(-r));
        if (r == -ENOMEM)
                p->error = r;
}

typedef enum FetchKind {
        FETCH_CLIENT_VERSIONS,
        FETCH_FEDERATION_VERSION,
        FETCH_WELLKNOWN_SERVER,
        FETCH_WELLKNOWN_CLIENT,
} FetchKind;

typedef struct Fetch {
        Ping *ping;
        FetchKind kind;
        size_t slot;
        size_t tls_slot; /* SIZE_MAX: this fetch does not report the certificate */
        char *host;
        char *url;
} Fetch;

static void fetch_free(Fetch *f) {
        free(f->host);
        free(f->url);
        free(f);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Fetch *, fetch_free);

static void tls_report(Fetch *f, time_t expiry, const char *why) {
        _cleanup_free_ char *text = NULL;
        CheckList *l = &f->ping->checks;
        int r;

        if (f->tls_slot == SIZE_MAX)
                return;
        if (expiry == 0) {
                checks_set(l, f->tls_slot, false, "%s (TLS certificate): could not be checked: %s", f->host,
                           why ?: "no certificate seen");
                return;
        }
        r = answer_cert_expiry(expiry, time(NULL), CERT_WARN_DAYS, &text);
        checks_set(l, f->tls_slot, r == 0, "%s (TLS certificate): %s", f->host, strempty(text));
}

static void fetch_finish(Fetch *f) {
        Ping *p = f->ping;
        fetch_free(f);
        release(p);
}

static void on_fetch_done(Prober *prober, const HttpResult *res, void *userdata) {
        _cleanup_free_ char *why = NULL;
        Fetch *f = userdata;
        const char *host = f->ping->matrix;
        int r;

        tls_report(f, res->cert_expiry, res->why);
        if (res->why) {
                checks_set(&f->ping->checks, f->slot, false, "%s: %s", f->url, res->why);
                fetch_finish(f);
                return;
        }
        switch (f->kind) {
        case FETCH_CLIENT_VERSIONS:
                r = answer_client_versions(res->status, res->body, res->size, &why);
                break;
        case FETCH_FEDERATION_VERSION:
                r = answer_federation_version(res->status, res->body, res->size, &why);
                break;
        case FETCH_WELLKNOWN_SERVER:
                r = answer_wellknown_server(res->status, res->body, res->size, host, NULL, &why);
                break;
        default:
                r = answer_wellknown_client(res->status, res->body, res->size, host, &why);
        }
        if (r == 0)
                checks_set(&f->ping->checks, f->slot, true, "%s", f->url);
        else
                checks_set(&f->ping->checks, f->slot, false, "%s: %s", f->url, why ?: "out of memory");
        fetch_finish(f);
}

static void on_fetch_resolved(Prober *prober, const Resolved *res, void *userdata) {
        Fetch *f = userdata;
        int r;

        if (!res->why && strv_length(res->addresses) == 0 && res->refused) {
                checks_set(&f->ping->checks, f->slot, false, "%s: %s %s", f->url, f->host, res->refused);
                tls_report(f, 0, "not checked");
                fetch_finish(f);
                return;
        }
        if (res->why || strv_length(res->addresses) == 0) {
                const char *why = resolve_failure(res);
                checks_set(&f->ping->checks, f->slot, false, "%s: cannot resolve %s (%s)", f->url, f->host,
                           why);
                tls_report(f, 0, "cannot resolve the name");
                fetch_finish(f);
                return;
        }
        r = probe_http(prober, f->url, res->addresses, on_fetch_done, f);
        if (r < 0) {
                not_started(f->ping, f->slot, f->url, r);
                tls_report(f, 0, "not connected");
                fetch_finish(f);
        }
}

/* GET https://HOST + path (which may start with :PORT). */
static void start_fetch(Ping *p, FetchKind kind, const char *host, const char *path, size_t slot,
                        size_t tls_slot) {
        _cleanup_(fetch_freep) Fetch *f = calloc(1, sizeof(Fetch));
        int r = -ENOMEM;

        if (f) {
                *f = (Fetch){
                        .ping = p, .kind = kind, .slot = slot, .tls_slot = tls_slot, .host = strdup(host)
                };
                if (f->host && asprintf(&f->url, "https://%s%s", host, path) >= 0)
                        r = probe_resolve(p->prober, host, on_fetch_resolved, f);
        }
        if (r < 0) {
                not_started(p, slot, host, r);
                if (tls_slot != SIZE_MAX)
                        not_started(p, tls_slot, host, r);
                return;
        }
        /* fetch_finish() frees it. */
        TAKE_PTR(f);
        hold(p);
}

/* ---- federation, found as another homeserver finds it (the spec's server discovery) ----------- */

typedef struct Federation {
        Ping *ping;
        size_t slot;
        char *name; /* whom the keys are fetched from: the URL's host, TLS and Host: */
        unsigned port;
        char *url;
} Federation;

static void federation_finish(Federation *f, bool ok, const char *format, ...) _printf_(3, 4);
static void federation_finish(Federation *f, bool ok, const char *format, ...) {
        _cleanup_free_ char *why = NULL;
        Ping *p = f->ping;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&why, format, ap) < 0)
                why = NULL;
        va_end(ap);
        if (ok)
                checks_set(&p->checks, f->slot, true, "%s federation", p->cu->domain);
        else
                checks_set(&p->checks, f->slot, false, "%s federation: %s", p->cu->domain, strempty(why));
        free(f->name);
        free(f->url);
        free(f);
        release(p);
}

static void on_keys(Prober *prober, const HttpResult *res, void *userdata) {
        _cleanup_free_ char *why = NULL;
        Federation *f = userdata;

        if (res->why) {
                federation_finish(f, false, "%s: %s", f->url, res->why);
                return;
        }
        if (answer_server_keys(res->status, res->body, res->size, f->ping->cu->domain,
                               (int64_t) now_usec(CLOCK_REALTIME) / 1000, &why) < 0) {
                federation_finish(f, false, "%s: %s", f->url, strempty(why));
                return;
        }
        federation_finish(f, true, "%s", "");
}

static void fetch_keys(Federation *f, char *const *addresses) {
        int r;

        free(f->url);
        if (asprintf(&f->url,
                     strchr(f->name, ':') ? "https://[%s]:%u/_matrix/key/v2/server"
                                          : "https://%s:%u/_matrix/key/v2/server",
                     f->name, f->port) < 0) {
                federation_finish(f, false, "out of memory");
                return;
        }
        r = probe_http(f->ping->prober, f->url, addresses, on_keys, f);
        if (r < 0)
                federation_finish(f, false, "%s: could not be fetched (%s)", f->url, strerror(-r));
}

static void on_target_resolved(Prober *prober, const Resolved *res, void *userdata) {
        Federation *f = userdata;

        if (res->why || strv_length(res->addresses) == 0) {
                federation_finish(f, false, "the server's address is unknown (%s)", resolve_failure(res));
                return;
        }
        fetch_keys(f, res->addresses);
}

static void on_srv(Prober *prober, const SrvAnswer *res, void *userdata) {
        Federation *f = userdata;
        int r;

        if (res->why) {
                federation_finish(f, false, "SRV lookup of _matrix-fed._tcp.%s failed (%s)", f->name,
                                  res->why);
                return;
        }
        /* An SRV record gives the host to connect to; TLS and Host: stay the delegated name. */
        if (res->n_srv > 0 && !streq(res->srv[0].target, "") && !streq(res->srv[0].target, ".")) {
                f->port = res->srv[0].port;
                r = probe_resolve(prober, res->srv[0].target, on_target_resolved, f);
        } else {
                f->port = FEDERATION_PORT;
                r = probe_resolve(prober, f->name, on_target_resolved, f);
        }
        if (r < 0)
                federation_finish(f, false, "could not resolve (%s)", strerror(-r));
}

static void federation_route(Federation *f) {
        _cleanup_free_ char *srv = NULL;
        int r;

        if (f->port > 0)
                r = probe_resolve(f->ping->prober, f->name, on_target_resolved, f);
        else if (ip_address_valid(f->name)) {
                char *addresses[] = { f->name, NULL };
                const char *kind = probe_address_refused(f->ping->prober, f->name);

                if (kind) {
                        federation_finish(f, false, "the server is %s, a%s %s address, which is not checked",
                                          f->name, kind[0] == 'i' ? "n" : "", kind);
                        return;
                }
                f->port = FEDERATION_PORT;
                fetch_keys(f, addresses);
                return;
        } else
                r = asprintf(&srv, "_matrix-fed._tcp.%s", f->name) < 0
                            ? -ENOMEM
                            : probe_srv(f->ping->prober, srv, on_srv, f);
        if (r < 0)
                federation_finish(f, false, "could not resolve (%s)", strerror(-r));
}

static void on_wellknown(Prober *prober, const HttpResult *res, void *userdata) {
        _cleanup_free_ char *why = NULL, *delegated = NULL, *host = NULL;
        Federation *f = userdata;
        unsigned port = 0;

        /* A missing or broken well-known means no delegation; one pointing elsewhere is followed. */
        if (!res->why)
                (void) answer_wellknown_server(res->status, res->body, res->size, f->ping->matrix,
                                               &delegated, &why);
        if (delegated && server_name_split(delegated, &host, &port) >= 0) {
                free(f->name);
                f->name = TAKE_PTR(host);
                f->port = port;
        }
        federation_route(f);
}

static void on_domain_resolved(Prober *prober, const Resolved *res, void *userdata) {
        Federation *f = userdata;
        _cleanup_free_ char *url = NULL;

        if (res->why || strv_length(res->addresses) == 0 ||
            asprintf(&url, "https://%s/.well-known/matrix/server", f->name) < 0 ||
            probe_http(prober, url, res->addresses, on_wellknown, f) < 0)
                federation_route(f);
}

static void start_federation(Ping *p, size_t slot) {
        Federation *f = calloc(1, sizeof(Federation));

        if (f)
                f->name = strdup(p->cu->domain);
        if (!f || !f->name) {
                free(f);
                not_started(p, slot, "federation", -ENOMEM);
                return;
        }
        f->ping = p;
        f->slot = slot;
        hold(p);
        if (probe_resolve(p->prober, f->name, on_domain_resolved, f) < 0)
                federation_route(f);
}

/* ---- DNS records and ports: they need the server's own addresses --------------------------------- */

typedef struct Probe {
        Ping *ping;
        size_t slot;
        const char *label; /* points into Ping */
} Probe;

static void probe_finish(Probe *pr) {
        Ping *p = pr->ping;
        free(pr);
        release(p);
}

static void on_record(Prober *prober, const Resolved *res, void *userdata) {
        _cleanup_free_ char *why = NULL;
        Probe *pr = userdata;
        Ping *p = pr->ping;

        if (res->why)
                checks_set(&p->checks, pr->slot, false,
                           "%s (DNS record): no answer from the DNS server (%s)", pr->label, res->why);
        else if (answer_dns_record(res->answered, res->cnames, p->expected, &why) < 0)
                checks_set(&p->checks, pr->slot, false, "%s (DNS record): %s", pr->label, strempty(why));
        else
                checks_set(&p->checks, pr->slot, true, "%s (DNS record)", pr->label);
        probe_finish(pr);
}

static void on_port(Prober *prober, const char *why, void *userdata) {
        Probe *pr = userdata;

        if (why)
                checks_set(&pr->ping->checks, pr->slot, false, "%s (tcp port): %s", pr->label, why);
        else
                checks_set(&pr->ping->checks, pr->slot, true, "%s (tcp port)", pr->label);
        probe_finish(pr);
}

static Probe *probe_new(Ping *p, size_t slot, const char *label) {
        Probe *pr = malloc(sizeof(Probe));
        if (pr)
                *pr = (Probe){ p, slot, label };
        return pr;
}

static void start_address_checks(Ping *p) {
        for (size_t i = 0; p->dns_hosts && p->dns_hosts[i]; i++) {
                Probe *pr = probe_new(p, p->dns_slots[i], p->dns_hosts[i]);
                int r = pr ? probe_resolve(p->prober, p->dns_hosts[i], on_record, pr) : -ENOMEM;
                if (r < 0) {
                        free(pr);
                        not_started(p, p->dns_slots[i], p->dns_hosts[i], r);
                } else
                        hold(p);
        }
        for (size_t i = 0; p->port_labels && p->port_labels[i]; i++) {
                Probe *pr;
                int r;

                if (strv_length(p->expected) == 0) {
                        checks_set(&p->checks, p->port_slots[i], false,
                                   "%s (tcp port): could not be checked: the server's address is unknown",
                                   p->port_labels[i]);
                        continue;
                }
                pr = probe_new(p, p->port_slots[i], p->port_labels[i]);
                r = pr ? probe_tcp(p->prober, p->expected[0], p->ports[i], on_port, pr) : -ENOMEM;
                if (r < 0) {
                        free(pr);
                        not_started(p, p->port_slots[i], p->port_labels[i], r);
                } else
                        hold(p);
        }
}

/* Without address= and with ssh_host a name, the server is where ssh_host points. */
static void on_server_resolved(Prober *prober, const Resolved *res, void *userdata) {
        Ping *p = userdata;

        if (!res->why)
                for (char **a = res->addresses; a && *a; a++)
                        if (strv_extend(&p->expected, *a) < 0)
                                p->error = -ENOMEM;
        start_address_checks(p);
        release(p);
}

/* ---- the plan: every check gets its place in the report first ----------------------------------- */

/* The APIs, and whose certificate each fetch reports. */
static const struct {
        FetchKind kind;
        bool on_matrix; /* on matrix.DOMAIN, else on DOMAIN */
        const char *path;
        const char *anchor;
        bool tls;
} fetches[] = {
        { FETCH_CLIENT_VERSIONS, true, "/_matrix/client/versions", "api", true },
        { FETCH_FEDERATION_VERSION, true, ":8448/_matrix/federation/v1/version", "api", false },
        { FETCH_WELLKNOWN_SERVER, false, "/.well-known/matrix/server", "well-known", true },
        { FETCH_WELLKNOWN_CLIENT, false, "/.well-known/matrix/client", "well-known", false },
};

static const char *fetch_host(const Ping *p, size_t i) {
        return fetches[i].on_matrix ? p->matrix : p->cu->domain;
}

static int slot(Ping *p, const char *anchor, size_t *ret, const char *key_format, ...) _printf_(4, 5);
static int slot(Ping *p, const char *anchor, size_t *ret, const char *key_format, ...) {
        _cleanup_free_ char *key = NULL;
        va_list ap;
        int r;

        va_start(ap, key_format);
        r = vasprintf(&key, key_format, ap);
        va_end(ap);
        return r < 0 ? -ENOMEM : checks_slot(&p->checks, anchor, key, ret);
}

static int plan(Ping *p, size_t *federation, size_t *api, size_t *tls) {
        const Customer *cu = p->cu;
        char label[8];
        size_t n_hosts;
        int r = 0;

        if (strv_extend(&p->dns_hosts, p->matrix) < 0)
                return -ENOMEM;
        for (char **id = cu->components; id && *id; id++) {
                const Component *c = config_find_component(p->t->config, *id);
                _cleanup_free_ char *host = NULL;

                if (!c)
                        continue;
                for (size_t i = 0; i < COMPONENT_PORTS_MAX && c->ports[i] != 0; i++) {
                        snprintf(label, sizeof(label), "%u", c->ports[i]);
                        if (strv_contains(p->port_labels, label))
                                continue;
                        unsigned *n =
                                reallocarray(p->ports, strv_length(p->port_labels) + 1, sizeof(unsigned));
                        if (!n || strv_extend(&p->port_labels, label) < 0)
                                return -ENOMEM;
                        p->ports = n;
                        n[strv_length(p->port_labels) - 1] = c->ports[i];
                }
                if (!c->subdomain)
                        continue;
                if (asprintf(&host, "%s.%s", c->subdomain, cu->domain) < 0)
                        return -ENOMEM;
                if (!strv_contains(p->dns_hosts, host) && strv_extend(&p->dns_hosts, host) < 0)
                        return -ENOMEM;
        }

        /* The page's order: ports, federation, the APIs, DNS; then what it does not show. */
        p->port_slots = calloc(strv_length(p->port_labels) + 1, sizeof(size_t));
        n_hosts = strv_length(p->dns_hosts);
        p->dns_slots = calloc(n_hosts, sizeof(size_t));
        if (!p->port_slots || !p->dns_slots)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && p->port_labels && p->port_labels[i]; i++)
                r = slot(p, "port", &p->port_slots[i], "%s (tcp port)", p->port_labels[i]);
        if (r >= 0)
                r = slot(p, "federation", federation, "%s federation", cu->domain);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(fetches); i++)
                r = slot(p, fetches[i].anchor, &api[i], "https://%s%s", fetch_host(p, i), fetches[i].path);
        for (size_t i = 0; r >= 0 && i < n_hosts; i++)
                r = slot(p, "dns", &p->dns_slots[i], "%s (DNS record)", p->dns_hosts[i]);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(fetches); i++) {
                tls[i] = SIZE_MAX;
                if (fetches[i].tls)
                        r = slot(p, "tls", &tls[i], "%s (TLS certificate)", fetch_host(p, i));
        }
        return r;
}

static int outside_run(Ping *p) {
        size_t federation, api[ELEMENTSOF(fetches)], tls[ELEMENTSOF(fetches)];
        const Customer *cu = p->cu;
        int r;

        r = plan(p, &federation, api, tls);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(fetches); i++)
                start_fetch(p, fetches[i].kind, fetch_host(p, i), fetches[i].path, api[i], tls[i]);
        start_federation(p, federation);

        if (cu->addresses)
                for (char **a = cu->addresses; *a; a++)
                        r = r < 0 ? r : strv_extend(&p->expected, *a);
        else if (ip_address_valid(cu->ssh_host))
                r = strv_extend(&p->expected, cu->ssh_host);
        else if (probe_resolve(p->prober, cu->ssh_host, on_server_resolved, p) >= 0) {
                hold(p);
                return 0;
        }
        if (r < 0)
                return r;
        start_address_checks(p);
        return 0;
}

static int on_guard(sd_event_source *s, uint64_t usec, void *userdata) {
        return sd_event_exit(userdata, -ETIMEDOUT);
}

static void ping_done(Ping *p) {
        prober_free(p->prober);
        sd_event_unref(p->event);
        checks_done(&p->checks);
        free(p->matrix);
        strv_free(p->expected);
        free(p->port_slots);
        free(p->ports);
        strv_free(p->port_labels);
        free(p->dns_slots);
        strv_free(p->dns_hosts);
}

int ping_collect(TaskContext *t, CheckList *l) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *guard = NULL;
        Inside in = { .t = t };
        Ping p = { .t = t, .cu = t->customer };
        pthread_t thread;
        bool threaded;
        int r;

        threaded = pthread_create(&thread, NULL, inside_run, &in) == 0;
        if (!threaded)
                (void) inside_run(&in);

        r = asprintf(&p.matrix, "matrix.%s", p.cu->domain) < 0 ? -ENOMEM : 0;
        if (r >= 0)
                r = sd_event_new(&p.event);
        if (r >= 0)
                r = prober_new(p.event, t->config->resolver, t->config->tls_ca_file, t->config->ping_allowed,
                               t->config->n_ping_allowed, &p.prober);
        if (r >= 0)
                r = sd_event_add_time_relative(p.event, &guard, CLOCK_MONOTONIC, LOOP_GUARD_USEC, 0,
                                               on_guard, p.event);
        if (r >= 0) {
                hold(&p);
                r = outside_run(&p);
                release(&p);
        }
        if (r >= 0 && p.pending > 0)
                r = sd_event_loop(p.event);
        if (r >= 0)
                r = p.error;

        if (threaded)
                (void) pthread_join(thread, NULL);
        if (r >= 0)
                r = in.r;
        if (in.info)
                fprintf(t->report, "%s\n", in.info);
        free(in.info);
        if (r >= 0)
                r = checks_append(l, &in.checks);
        if (r >= 0)
                r = checks_append(l, &p.checks);
        checks_done(&in.checks);
        guard = sd_event_source_unref(guard);
        ping_done(&p);
        return r;
}

/* A monitoring run reports to the notifier, not to a person: its failures as JSON (alerts.h). */
static int monitor_report(TaskContext *t) {
        json_auto_t *root = NULL;
        _cleanup_free_ char *text = NULL;
        CheckList l = {};
        const char *holder = NULL;
        bool held = false;
        json_t *failures;
        int r;

        /* While a maintenance or restart changes the server, failures are expected: hold off. */
        r = lock_holder(t->customer->name, NULL, &holder);
        if (r < 0)
                log_warning_errno(r, "Cannot tell whether a maintenance or restart is running, checking "
                                  "anyway: %m");
        held = holder;
        root = json_pack("{s:b, s:[]}", "held", held, "failures");
        failures = json_object_get(root, "failures");
        if (!root)
                return task_fail(t, -ENOMEM, "out of memory");
        r = held ? 0 : ping_collect(t, &l);
        for (size_t i = 0; r >= 0 && i < l.n; i++) {
                _cleanup_free_ char *line = NULL;

                if (l.items[i].ok || !l.items[i].text)
                        continue;
                r = checks_line(&l.items[i], t->config->help_url, &line);
                if (r >= 0 && json_array_append_new(failures, json_pack("{s:s, s:s}", "key", l.items[i].key,
                                                                         "line", line)) < 0)
                        r = -ENOMEM;
        }
        checks_done(&l);
        if (r < 0)
                return task_fail(t, r, "the checks could not run: %s", strerror(-r));
        text = json_dumps(root, JSON_COMPACT);
        if (!text)
                return task_fail(t, -ENOMEM, "out of memory");
        /* The report of a monitoring run is JSON: no INFO line before it. */
        rewind(t->report);
        fputs(text, t->report);
        return 0;
}

int task_ping(TaskContext *t) {
        CheckList l = {};
        int r;

        if (strv_length(t->args) > 0)
                return task_fail(t, -EINVAL, "`ping` takes no arguments");
        if (streq_ptr(getenv("SCHEDULER_MODE"), "monitor"))
                return monitor_report(t);
        r = ping_collect(t, &l);
        if (r < 0) {
                checks_done(&l);
                return task_fail(t, r, "the checks could not run: %s", strerror(-r));
        }
        checks_write(t->report, &l, t->config->help_url);
        checks_done(&l);
        return 0;
}
