/*
 * service: `hotline serve` assembled. Owns the order in which the parts start and stop,
 * the wiring between them (committed jobs to the outbox, send outcomes back to the store,
 * the opt-out veto before every send) and the signals. main.c only loads the settings.
 *
 * Start:  replies -> matcher -> event base (after evthread_use_pthreads) -> store ->
 *         outbox (none in local mode) -> listener -> unfinished jobs resumed -> loop.
 * Stop (SIGTERM/SIGINT): stop accepting; webhooks waiting for a commit are answered
 *         when it lands; sends in flight get a few seconds to finish, else stay pending
 *         in the store; then the server, the outbox and the store are closed, exit 0.
 *         A second signal cuts the wait short.
 */
#ifndef HOTLINE_SERVICE_H
#define HOTLINE_SERVICE_H

#include "hotline/config.h"

/* Seconds shutdown waits for in-flight sends before leaving them pending in the store. */
#define SERVICE_DRAIN_WAIT_MS 5000
/* Overall bound on the wait for webhooks and replies still being written. */
#define SERVICE_SHUTDOWN_DEADLINE_MS 15000

/*
 * Runs the service until SIGTERM or SIGINT. cfg is borrowed (its public_url may be
 * rewritten once the port is known, when it was derived from a listen port of 0).
 * Returns the process exit status: 0 after a clean shutdown, 1 when it could not start
 * (the reason is logged).
 */
int service_run(struct config *cfg);

#endif
