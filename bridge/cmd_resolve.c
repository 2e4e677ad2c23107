/* posbridge resolve: records how a discrepancy was settled. The journal keeps the
 * transaction row as it was and adds an audit row (who, when, action, note). */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "journal.h"
#include "pb_error.h"
#include "txn_json.h"

static int keep_row(const struct pb_journal_row *row, void *ctx)
{
    *(struct pb_journal_row *)ctx = *row;
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: posbridge resolve ID --action refund|void|recharge|none [OPTIONS]\n"
                 "\n"
                 "Marks the discrepancy with journal id ID (the #number `posbridge report`\n"
                 "prints) as resolved. The original record is never changed; the resolution\n"
                 "is added with who and when, as an audit trail. A transaction that is\n"
                 "not a discrepancy, or is still pending, is refused (exit 65, 75); so is\n"
                 "one already resolved, unless --force adds a further resolution (the\n"
                 "first stays in the audit trail).\n"
                 "\n"
                 "options:\n"
                 "  --action A      refund, void, recharge or none\n"
                 "  --note TEXT     what was done (e.g. \"refunded 1.00 EUR, receipt 0042\")\n"
                 "  --who NAME      who did it (default: the login name)\n"
                 "  --journal FILE  the journal (default: the bridge's default journal)\n"
                 "  --force         resolve again a discrepancy already resolved\n"
                 "  -h, --help      this text\n"
                 "\n"
                 "example:\n"
                 "  posbridge resolve 17 --action refund --note \"refunded 1.00 to the customer\"\n");
}

int cmd_resolve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"action", required_argument, NULL, 'a'}, {"note", required_argument, NULL, 'n'},
        {"who", required_argument, NULL, 'w'},    {"journal", required_argument, NULL, 'j'},
        {"force", no_argument, NULL, 'f'},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *action = NULL, *note = NULL, *who = NULL, *journal = NULL;
    bool force = false;
    int before, c;
    optind = 1;
    opterr = 0;
    while ((before = optind, c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': action = optarg; break;
        case 'n': note = optarg; break;
        case 'w': who = optarg; break;
        case 'j': journal = optarg; break;
        case 'f': force = true; break;
        case 'h': usage(stdout); return 0;
        default: return pb_cli_bad_option("posbridge resolve", c, before, argv);
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "posbridge resolve: give exactly one transaction id\n");
        usage(stderr);
        return EX_USAGE;
    }
    char *end;
    errno = 0;
    long long id = strtoll(argv[optind], &end, 10);
    if (errno || *end || id <= 0) {
        fprintf(stderr, "posbridge resolve: '%s' is not a transaction id (a positive number)\n",
                argv[optind]);
        return EX_USAGE;
    }
    if (!action || !pb_journal_action_valid(action)) {
        fprintf(stderr, "posbridge resolve: --action must be refund, void, recharge or none%s%s\n",
                action ? ", not " : "", action ? action : "");
        return EX_USAGE;
    }
    if (!who) {
        struct passwd *pw = getpwuid(getuid());
        who = pw ? pw->pw_name : "unknown";
    }
    char *def = NULL;
    if (!journal)
        journal = def = pb_default_journal_path();
    if (!journal || access(journal, R_OK | W_OK) != 0) {
        fprintf(stderr, "posbridge resolve: cannot open journal %s: %s\n", journal ? journal : "?",
                strerror(errno));
        free(def);
        return EX_NOINPUT;
    }
    struct pb_journal_opts jo = {.no_run = true};
    struct pb_journal *j = NULL;
    int rc = pb_journal_open(journal, &jo, &j);
    if (rc != PB_OK) {
        fprintf(stderr, "posbridge resolve: %s: %s\n", journal, pb_strerror(rc));
        free(def);
        return EX_DATAERR;
    }
    /* Resolving twice is most often a second person settling the same discrepancy
     * again (a second refund): say what was done, and add nothing unless told to. */
    static struct pb_journal_row row;
    struct pb_journal_filter f = {.txn_id = id};
    memset(&row, 0, sizeof row);
    if (!force && pb_journal_foreach(j, &f, keep_row, &row) > 0 && row.n_resolutions > 0) {
        char when[40] = "-";
        if (row.resolved_utc_us)
            pb_format_utc(row.resolved_utc_us, when, sizeof when);
        fprintf(stderr,
                "posbridge resolve: transaction #%lld is already resolved: %s by %s at %s%s%s%s; "
                "give --force to add another resolution (the first is kept)\n",
                id, row.resolution, row.resolved_by[0] ? row.resolved_by : "?", when,
                row.resolution_note[0] ? " (\"" : "", row.resolution_note,
                row.resolution_note[0] ? "\")" : "");
        pb_journal_close(j);
        free(def);
        return EX_DATAERR;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rc = pb_journal_resolve(j, id, action, note, who,
                            (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    pb_journal_close(j);
    int ex = 0;
    if (rc == PB_ERR_NOTFOUND) {
        fprintf(stderr, "posbridge resolve: no transaction #%lld in %s\n", id, journal);
        ex = EX_DATAERR;
    } else if (rc == PB_ERR_AGAIN) {
        fprintf(stderr,
                "posbridge resolve: transaction #%lld is still pending (in flight, or its bridge "
                "stopped and has not been restarted); resolve it once it is closed\n",
                id);
        ex = EX_TEMPFAIL;
    } else if (rc == PB_ERR_UNSUPPORTED) {
        fprintf(stderr,
                "posbridge resolve: transaction #%lld is not a discrepancy (ok, declined or "
                "voided): nothing to resolve; `posbridge report --all` lists every class\n",
                id);
        ex = EX_DATAERR;
    } else if (rc != PB_OK) {
        fprintf(stderr, "posbridge resolve: %s: %s\n", journal, pb_strerror(rc));
        ex = EX_IOERR;
    } else {
        printf("transaction #%lld resolved: %s by %s\n", id, action, who);
    }
    free(def);
    return ex;
}
