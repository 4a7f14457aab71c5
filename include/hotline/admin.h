/*
 * admin: the `hotline staff ...`, `hotline escalations ...` and `hotline optouts ...`
 * commands. They work on
 * the same data directory as a running service (settings by config.c's rules, so the
 * same environment finds the same HOTLINE_DATA_DIR), on a connection of their own
 * (store_open_direct: WAL and a busy timeout, never the service's lock), and append
 * their escalation events to the escalation log under its file lock.
 *
 * main.c only dispatches here; each function takes the subcommand's argv (argv[0] is
 * "staff" or "escalations") and returns the exit status: 0, 1 on failure, 2 on usage.
 */
#ifndef HOTLINE_ADMIN_H
#define HOTLINE_ADMIN_H

int admin_staff(int argc, char **argv);
int admin_escalations(int argc, char **argv);
int admin_optouts(int argc, char **argv); /* `hotline optouts list|export` */

#endif
