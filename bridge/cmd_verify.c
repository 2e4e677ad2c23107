/* posbridge verify: checks the journal's hash chain (docs/JOURNAL.md, "Tamper evidence"):
 * every chain row follows the one before it and matches its own hash, every record
 * matches what its chain row recorded, no record is outside the chain. Read-only; runs
 * beside a bridge writing the same journal (one read transaction, a consistent view). */
#include <errno.h>
#include <getopt.h>
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

static void usage(FILE *out)
{
    fprintf(out,
            "usage: posbridge verify [--journal FILE] [--head HASH] [--quiet]\n"
            "\n"
            "Checks that the journal's records were not changed, deleted, reordered or\n"
            "added behind the bridge's back: each transaction state, event and resolution\n"
            "is chained to the one before it by SHA-256 (docs/JOURNAL.md). Prints the\n"
            "chain's head (its last row and hash): note it somewhere else, and give it back\n"
            "with --head later to find rows cut off the end as well.\n"
            "\n"
            "options:\n"
            "  --journal FILE  the journal (default: the bridge's default journal)\n"
            "  --head HASH     a head printed earlier (64 hex digits): it must be in the chain\n"
            "  -q, --quiet     print nothing when the journal is intact\n"
            "  -h, --help      this text\n"
            "\n"
            "Exit status: 0 intact; 65 broken (the first broken row and why on stderr);\n"
            "66 the journal cannot be read (missing, not a journal, an older schema not\n"
            "yet migrated); 64 usage.\n"
            "\n"
            "example:\n"
            "  posbridge verify --journal /var/lib/posbridge/lane1.db\n"
            "  journal /var/lib/posbridge/lane1.db: intact, 8812 chain rows, 4406 records\n"
            "  head 8812 5b1c0e...\n");
}

int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"journal", required_argument, NULL, 'j'},
        {"head", required_argument, NULL, 'H'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *journal = NULL, *head = NULL;
    bool quiet = false;
    int before, c;
    optind = 1;
    opterr = 0;
    while ((before = optind, c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
        switch (c) {
        case 'j': journal = optarg; break;
        case 'H': head = optarg; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return 0;
        default: return pb_cli_bad_option("posbridge verify", c, before, argv);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "posbridge verify: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE;
    }
    if (head && !pb_journal_head_valid(head)) {
        fprintf(stderr, "posbridge verify: --head '%s': expected the 64 hex digits of a head "
                        "that verify printed\n",
                head);
        return EX_USAGE;
    }
    char *def = NULL;
    if (!journal)
        journal = def = pb_default_journal_path();
    if (!journal || access(journal, R_OK) != 0) {
        fprintf(stderr, "posbridge verify: cannot read journal %s: %s\n", journal ? journal : "?",
                strerror(errno));
        free(def);
        return EX_NOINPUT;
    }
    /* The journal's own messages (an older schema, not a journal) say why it cannot be
     * read; they go to stderr as usual. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct pb_journal_verify v;
    int rc = pb_journal_verify_path(journal, head, &v);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    int ex;
    if (rc != PB_OK) {
        fprintf(stderr, "posbridge verify: cannot read journal %s: %s\n", journal,
                pb_strerror(rc));
        ex = EX_NOINPUT;
    } else if (v.intact) {
        if (!quiet)
            printf("journal %s: intact, %llu chain rows, %llu records (%.2f s)\nhead %lld %s\n",
                   journal, (unsigned long long)v.entries, (unsigned long long)v.rows, secs,
                   (long long)v.head_seq, v.head_hash);
        ex = 0;
    } else {
        fprintf(stderr, "posbridge verify: journal %s: BROKEN: ", journal);
        if (v.broken_seq)
            fprintf(stderr, "chain row %lld", (long long)v.broken_seq);
        if (v.broken_row)
            fprintf(stderr, "%s%s row %lld", v.broken_seq ? ", " : "", v.broken_table,
                    (long long)v.broken_row);
        if (!v.broken_seq && !v.broken_row)
            fprintf(stderr, "%s", v.broken_table);
        fprintf(stderr, ": %s\n", v.why);
        if (v.problems > 1)
            fprintf(stderr, "posbridge verify: %llu problems in all; the first is above\n",
                    (unsigned long long)v.problems);
        printf("journal %s: BROKEN, %llu chain rows, %llu records\nhead %lld %s\n", journal,
               (unsigned long long)v.entries, (unsigned long long)v.rows, (long long)v.head_seq,
               v.head_hash);
        ex = EX_DATAERR;
    }
    free(def);
    return ex;
}
