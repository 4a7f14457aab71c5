/*
 * webui: the staff page (web/), embedded in the binary and served by `hotline serve` at
 * /staff/. A small HTML/CSS/JS page with no build step: the files in web/ are what the
 * browser gets, and CMake copies their bytes into a generated C file
 * (cmake/embed_web.cmake), so the page always matches the binary that serves it and
 * nothing needs installing beside it.
 *
 * The page talks to the service only through the token-protected staff API (server.h),
 * with the staff member's personal token in an Authorization header: never in a URL, so
 * it reaches no access log or browser history. This module only holds the files and the
 * security policy they are served with; server.c does the HTTP.
 */
#ifndef HOTLINE_WEBUI_H
#define HOTLINE_WEBUI_H

#include <stddef.h>

/* One embedded file. */
struct webui_asset {
    const char *name;         /* "index.html", "app.js"... as under web/ */
    const char *content_type; /* with a charset for text */
    const unsigned char *data;
    size_t len;
};

/*
 * The file served at /staff/<name> ("" is index.html), or NULL. Only the embedded names
 * match: no path is ever looked up on disk.
 */
const struct webui_asset *webui_find(const char *name);

/*
 * The Content-Security-Policy of every response: scripts, styles and connections from
 * this origin only, no inline script or style, no plugins, no framing (clickjacking), no
 * form posts anywhere (the sign-in form is handled by script; without it, nothing is
 * sent), no <base> rewriting.
 */
#define WEBUI_CSP                                                                                  \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

#endif
