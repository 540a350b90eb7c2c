/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* curl's multi-socket interface on an sd_event loop: curl tells us which fds and which timeout
 * to watch, sd_event tells curl when they fire. No threads, nothing blocks. */

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "util.h"

typedef struct CurlGlue CurlGlue;

/* Called once per transfer when it ends; the easy handle is no longer part of the multi. */
typedef void (*curl_glue_done_t)(CurlGlue *g, CURL *easy, CURLcode result);

int curl_glue_new(sd_event *event, curl_glue_done_t on_done, CurlGlue **ret);
CurlGlue *curl_glue_free(CurlGlue *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(CurlGlue *, curl_glue_free);
/* curl's own, for _cleanup_. */
DEFINE_TRIVIAL_CLEANUP_FUNC(CURLU *, curl_url_cleanup);
DEFINE_TRIVIAL_CLEANUP_FUNC(char *, curl_free);

int curl_glue_add(CurlGlue *g, CURL *easy);
/* Removes a transfer before it ended; on_done is not called for it. */
void curl_glue_remove(CurlGlue *g, CURL *easy);
