/*
 * batch: `hotline match`, the evaluation contract of ../shared/eval/README.md. JSON lines
 * in ({"id": ..., "body": "..."}), one JSON line out per line in, in the same order:
 * id, intent, escalate, lang, confidence, reply.
 *
 * Throughput matters here (the evaluation and the benchmark feed it hundreds of
 * thousands of texts), so the lines are read in blocks and classified by one worker
 * thread per core, each with its own matcher (matchers keep per-text scratch and are
 * not thread-safe); the main thread only reads and writes, in order.
 */
#ifndef HOTLINE_BATCH_H
#define HOTLINE_BATCH_H

#include <stdbool.h>
#include <stdio.h>

#include "hotline/replies.h"

/*
 * Classifies every line of in and writes the results to out. threads <= 0 means one per
 * online CPU (at most 8). Blank lines are skipped; a line that is not an object with a
 * string "body" gets {"id": <its id or null>, "error": "..."} in its place.
 * Returns 0, or -1 when a matcher cannot be built or out cannot be written (said on
 * stderr).
 */
int batch_match(const struct replies *replies, FILE *in, FILE *out, int threads);

/*
 * Parsing each line with jansson (an object, its strings, then freeing them) cost as much
 * as classifying it, so batch reads the common line (an object of string values, a
 * printable-ASCII id) with a small reader of its own and hands every other line to
 * jansson. Its output must be byte for byte what jansson's would be: false makes every
 * line go through jansson, for the test that holds the two equal (test_batch).
 */
void batch_set_plain_reader(bool on);

#endif
