/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "curl-glue.h"
#include "log.h"

struct CurlGlue {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        curl_glue_done_t on_done;
};

static void curl_glue_check_finished(CurlGlue *g) {
        CURLMsg *msg;
        int k;

        for (;;) {
                CURL *easy;
                CURLcode result;

                msg = curl_multi_info_read(g->multi, &k);
                if (!msg)
                        break;
                easy = msg->easy_handle;
                result = msg->data.result;
                if (msg->msg != CURLMSG_DONE)
                        continue;
                /* Remove first: the callback may free the handle or start new transfers. */
                curl_multi_remove_handle(g->multi, easy);
                g->on_done(g, easy, result);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CurlGlue *g = userdata;
        int action = 0, running;

        if ((revents & (EPOLLIN | EPOLLOUT)) == (EPOLLIN | EPOLLOUT))
                action = CURL_POLL_INOUT;
        else if (revents & EPOLLIN)
                action = CURL_POLL_IN;
        else if (revents & EPOLLOUT)
                action = CURL_POLL_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;

        if (curl_multi_socket_action(g->multi, fd, action, &running) != CURLM_OK)
                log_debug("curl_multi_socket_action() failed on fd %i.", fd);
        curl_glue_check_finished(g);
        return 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int action, void *userdata, void *socketp) {
        sd_event_source *io = socketp;
        CurlGlue *g = userdata;
        uint32_t events;
        int r;

        if (action == CURL_POLL_REMOVE) {
                if (io) {
                        sd_event_source_disable_unref(io);
                        curl_multi_assign(g->multi, fd, NULL);
                }
                return 0;
        }

        events = (action & CURL_POLL_IN ? EPOLLIN : 0) | (action & CURL_POLL_OUT ? EPOLLOUT : 0);
        if (io)
                return sd_event_source_set_io_events(io, events) < 0 ? -1 : 0;

        r = sd_event_add_io(g->event, &io, fd, events, on_io, g);
        if (r < 0)
                return -1;
        (void) sd_event_source_set_description(io, "curl-io");
        if (curl_multi_assign(g->multi, fd, io) != CURLM_OK) {
                sd_event_source_disable_unref(io);
                return -1;
        }
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        CurlGlue *g = userdata;
        int running;

        if (curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
                log_debug("curl_multi_socket_action() failed on timeout.");
        curl_glue_check_finished(g);
        return 0;
}

static int on_timer_change(CURLM *multi, long timeout_ms, void *userdata) {
        CurlGlue *g = userdata;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(g->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        /* 0 means "as soon as you can", which +1 µs is; the timer's accuracy is 1 µs (see below). */
        if (sd_event_source_set_time_relative(g->timer, (uint64_t) timeout_ms * 1000 + 1) < 0 ||
            sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

int curl_glue_new(sd_event *event, curl_glue_done_t on_done, CurlGlue **ret) {
        _cleanup_(curl_glue_freep) CurlGlue *g = NULL;
        int r;

        g = calloc(1, sizeof(CurlGlue));
        if (!g)
                return -ENOMEM;
        g->event = sd_event_ref(event);
        g->on_done = on_done;

        g->multi = curl_multi_init();
        if (!g->multi)
                return -ENOMEM;
        /* Accuracy 1 µs, not sd-event's default (0 = 250 ms, coalesced): curl starts every request
         * and goes on after every answer from this timer, so a default one held each step of the
         * bot's up to 250 ms (a reply, a result, the next /sync). */
        r = sd_event_add_time(event, &g->timer, CLOCK_MONOTONIC, 0, 1, on_timer, g);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(g->timer, "curl-timer");

        if (curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, on_timer_change) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g) != CURLM_OK)
                return -EINVAL;
        *ret = TAKE_PTR(g);
        return 0;
}

CurlGlue *curl_glue_free(CurlGlue *g) {
        if (!g)
                return NULL;
        if (g->multi)
                curl_multi_cleanup(g->multi);
        sd_event_source_disable_unref(g->timer);
        sd_event_unref(g->event);
        free(g);
        return NULL;
}

int curl_glue_add(CurlGlue *g, CURL *easy) {
        return curl_multi_add_handle(g->multi, easy) == CURLM_OK ? 0 : -EIO;
}

void curl_glue_remove(CurlGlue *g, CURL *easy) {
        curl_multi_remove_handle(g->multi, easy);
}
