/*
 * main: the `hotline` command and its subcommands. Wiring only: each subcommand parses
 * its arguments, loads what it needs and hands over to the modules.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotline/admin.h"
#include "hotline/batch.h"
#include "hotline/config.h"
#include "hotline/console.h"
#include "hotline/intent.h"
#include "hotline/matcher.h"
#include "hotline/replies.h"
#include "hotline/saved_replies.h"
#include "hotline/service.h"
#include "hotline/sms.h"

extern char **environ;

static const char usage_main[] =
    "usage: hotline COMMAND [OPTIONS]\n"
    "\n"
    "The text-line auto-responder of the treatment center.\n"
    "\n"
    "commands:\n"
    "  serve          run the service: Twilio webhooks in, replies out (local mode\n"
    "                 without credentials: replies are printed, not sent)\n"
    "  match          classify JSON lines from stdin (the evaluation contract)\n"
    "  chat           type as a texter, see the reply and why it was chosen\n"
    "  check-replies  validate a replies/ folder and show each answer's SMS size\n"
    "  staff          the staff directory: add, list, on-call, token, remove\n"
    "  escalations    list, show, ack and close escalations\n"
    "  optouts        the opted-out numbers and the opt-out audit trail (list, export)\n"
    "\n"
    "Run 'hotline COMMAND --help' for a command's options.\n";

static const char usage_match[] =
    "usage: hotline match [--replies DIR]\n"
    "\n"
    "Reads one JSON object per line on stdin, {\"id\": ..., \"body\": \"...\"}, and writes one\n"
    "per line on stdout, in the same order: id, intent, escalate, lang, confidence, reply.\n"
    "A line that is not such an object gets {\"id\": null, \"error\": \"...\"} in its place.\n"
    "\n"
    "  --replies DIR  the replies folder (default: $HOTLINE_REPLIES or ./replies)\n";

static const char usage_chat[] =
    "usage: hotline chat [--replies DIR]\n"
    "\n"
    "Type a text as a texter would; see the reply, the intent, the confidence, the\n"
    "escalation level, the SMS size and why the matcher chose it. The conversation is\n"
    "kept as the service keeps it (menu numbers, language, STOP/START/HELP, the repeat\n"
    "pointer, the loop guard), in memory only: nothing is stored or sent.\n"
    "\n"
    "  /as +1NUMBER   text as another texter (each keeps its own conversation)\n"
    "  /reset         forget the current texter: a texter never seen\n"
    "  /state         what hotline remembers of the current texter\n"
    "\n"
    "  --replies DIR  the replies folder (default: $HOTLINE_REPLIES or ./replies)\n";

static const char usage_check[] =
    "usage: hotline check-replies [DIR]\n"
    "\n"
    "Validates a replies folder (default: $HOTLINE_REPLIES or ./replies): JSON syntax,\n"
    "the file format, every intent present, both languages, at most 3 SMS segments per\n"
    "answer, and the staff page's saved replies (saved_replies.json) if there are any.\n"
    "Prints each text's encoding and segment count. Exits 1 on any error.\n";

static const char *default_replies_dir(void)
{
    const char *env = getenv("HOTLINE_REPLIES");
    return env && *env ? env : "replies";
}

static void print_problem(void *ctx, const char *file, int line, int column, const char *message)
{
    int *count = ctx;
    if (count)
        (*count)++;
    if (line > 0)
        fprintf(stderr, "%s:%d:%d: error: %s\n", file, line, column, message);
    else
        fprintf(stderr, "%s: error: %s\n", file, message);
}

/* Parses "--replies DIR" (and --help) for match and chat. Returns 0, 1 after --help, or 2. */
static int parse_replies_option(int argc, char **argv, const char *usage, const char **dir)
{
    static const struct option options[] = {
        {"replies", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *dir = default_replies_dir();
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "r:h", options, NULL)) != -1) {
        switch (c) {
        case 'r':
            *dir = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 1;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "hotline: unexpected argument '%s'\n", argv[optind]);
        fputs(usage, stderr);
        return 2;
    }
    return 0;
}

static int load_all(const char *dir, struct replies **replies, struct matcher **matcher)
{
    *replies = replies_load(dir, print_problem, NULL);
    if (!*replies) {
        fprintf(stderr, "hotline: could not load the replies in %s (see above)\n", dir);
        return -1;
    }
    *matcher = matcher_new_with_dictionaries(*replies, NULL, NULL);
    if (!*matcher) {
        fprintf(stderr, "hotline: could not build the matcher (Snowball stemmers missing?)\n");
        replies_free(*replies);
        return -1;
    }
    return 0;
}

static int cmd_match(int argc, char **argv)
{
    const char *dir;
    int rc = parse_replies_option(argc, argv, usage_match, &dir);
    if (rc)
        return rc == 1 ? 0 : 2;
    struct replies *replies = replies_load(dir, print_problem, NULL);
    if (!replies) {
        fprintf(stderr, "hotline: could not load the replies in %s (see above)\n", dir);
        return 1;
    }
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    rc = batch_match(replies, stdin, stdout, 0);
    replies_free(replies);
    return rc == 0 ? 0 : 1;
}

static void print_sms_size(FILE *f, const char *text)
{
    char size[64];
    sms_describe(text, size, sizeof size);
    fputs(size, f);
}

static int cmd_chat(int argc, char **argv)
{
    const char *dir;
    int rc = parse_replies_option(argc, argv, usage_chat, &dir);
    if (rc)
        return rc == 1 ? 0 : 2;
    struct replies *replies;
    struct matcher *matcher;
    if (load_all(dir, &replies, &matcher) < 0)
        return 1;
    struct conversation_rules rules;
    conversation_rules_default(&rules);
    rc = console_run(replies, matcher, &rules, stdin, stdout, isatty(STDIN_FILENO));
    matcher_free(matcher);
    replies_free(replies);
    return rc == 0 ? 0 : 1;
}

static int cmd_check_replies(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_check, stdout);
        return 0;
    }
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fputs(usage_check, stderr);
        return 2;
    }
    const char *dir = argc == 2 ? argv[1] : default_replies_dir();
    int problems = 0;
    struct replies *replies = replies_load(dir, print_problem, &problems);
    if (!replies) {
        fprintf(stderr, "%s: %d problem%s found\n", dir, problems, problems == 1 ? "" : "s");
        return 1;
    }
    printf("%-22s %-4s %s\n", "intent", "lang", "size");
    for (int k = 0; k < INTENT_COUNT; k++) {
        for (int l = 0; l < LANG_COUNT; l++) {
            printf("%-22s %-4s ", intent_name((enum intent)k), lang_name((enum lang)l));
            print_sms_size(stdout, replies->intents[k].answer[l]);
            putchar('\n');
        }
    }
    for (int l = 0; l < LANG_COUNT; l++) {
        printf("%-22s %-4s ", "menu: repeat pointer", lang_name((enum lang)l));
        print_sms_size(stdout, replies->menu.repeat[l]);
        putchar('\n');
    }
    printf("menu: ");
    for (int d = 1; d <= 9; d++)
        if (replies->menu.item[d] != INTENT_COUNT)
            printf("%d=%s ", d, intent_name(replies->menu.item[d]));
    putchar('\n');
    printf("%s: all %d intents present, every answer fits in 3 segments\n", dir, INTENT_COUNT);
    printf("%s/examples: %zu labelled texts in %zu files, each line valid\n", dir,
           replies->n_labelled, replies->n_example_files);
    const struct saved_replies *saved = replies->saved;
    if (saved) {
        printf("\n%-22s %-4s %s\n", "saved reply", "lang", "size");
        for (size_t k = 0; k < saved->n; k++) {
            for (int l = 0; l < LANG_COUNT; l++) {
                printf("%-22s %-4s ", saved->v[k].id, lang_name((enum lang)l));
                print_sms_size(stdout, saved->v[k].text[l]);
                putchar('\n');
            }
        }
        printf("%s/" SAVED_REPLIES_FILE ": %zu saved replies, each fits in 3 segments\n", dir,
               saved->n);
    }
    replies_free(replies);
    return 0;
}

/* `hotline serve [--config FILE]`: settings (environment first, then the file), then the
 * service, which owns everything from there to exit. */
static int cmd_serve(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            file = optarg;
            break;
        case 'h':
            config_print_help(stdout);
            return 0;
        default:
            fputs("usage: hotline serve [--config FILE]   (hotline serve --help for settings)\n",
                  stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "hotline: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    struct config cfg;
    char err[512];
    if (config_load(&cfg, file, environ, err, sizeof err) != 0) {
        fprintf(stderr, "hotline: %s\n", err);
        return 1;
    }
    int rc = service_run(&cfg);
    config_clear(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } commands[] = {
        {"serve", cmd_serve},       {"match", cmd_match},
        {"chat", cmd_chat},         {"check-replies", cmd_check_replies},
        {"staff", admin_staff},     {"escalations", admin_escalations},
        {"optouts", admin_optouts},
    };
    if (argc < 2) {
        fputs(usage_main, stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("hotline %s\n", HOTLINE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "hotline: unknown command '%s'\n\n%s", argv[1], usage_main);
    return 2;
}
