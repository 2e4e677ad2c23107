/* possim play: scenarios played by possim's register and terminal in one process on a
 * virtual clock, the bridge's own pipeline watching (sim/play.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "possim.h"
#include "cli.h"
#include "capture.h"
#include "play.h"
#include "log.h"
#include "money.h"
#include "pb_error.h"

static void capture_tap(void *ctx, enum pb_dir from, const uint8_t *b, size_t n, int64_t now)
{
    pb_capture_chunk(ctx, from, 1767225600000000ll + now, b, n);
}

/* possim play SCENARIO...: a virtual lane per file, and a table of what was expected,
 * what posbridge's tracker recorded, and what the register believed. */
int sim_cmd_play(int argc, char **argv)
{
    enum { O_SEED = 256, O_TXNS };
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, O_SEED},
        {"protocol", required_argument, NULL, 'P'},
        {"capture", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"transactions", no_argument, NULL, O_TXNS},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false, quiet = false, has_seed = false, txns = false;
    uint64_t seed = 0;
    const char *pname = NULL, *capture = NULL;
    int before, c;
    optind = 1;
    opterr = 0;
    while ((before = optind, c = getopt_long(argc, argv, ":P:c:jqh", longopts, NULL)) != -1) {
        switch (c) {
        case O_SEED: {
            char *end;
            errno = 0;
            seed = strtoull(optarg, &end, 10);
            if (errno || *end || !*optarg || optarg[0] == '-') {
                fprintf(stderr, "possim play: --seed: '%s' is not a whole number\n", optarg);
                return EX_USAGE;
            }
            has_seed = true;
            break;
        }
        case 'P':
            pname = optarg;
            break;
        case 'c':
            capture = optarg;
            break;
        case 'j':
            json = true;
            break;
        case O_TXNS:
            txns = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            printf(
                "usage: possim play [--seed N] [--protocol NAME] [--capture FILE] [--json] [-q]\n"
                "                   [--transactions] SCENARIO...\n\n"
                "Plays each scenario with possim's register and terminal in one process on a\n"
                "virtual clock (timeouts take no real time) while posbridge's tracker watches\n"
                "the line, and prints per transaction what was expected, what the tracker\n"
                "recorded, and what the register believed. Exit 1 when an expectation\n"
                "fails, 65 on a scenario error. --capture FILE writes the lane's bytes as a\n"
                "pcapng capture (one scenario only) that Wireshark, `posbridge decode` and\n"
                "`possim replay` read. --transactions prints, instead of the steps, one\n"
                "line per transaction the bridge's pipeline closed: file, id, class and the\n"
                "charged amount in minor units (- when none), tab-separated, to compare\n"
                "with `posbridge decode` or a journal.\n\n"
                "example:\n  possim play captures/scenarios/zvt-bad-day.scn\n");
            return 0;
        default:
            return pb_cli_bad_option("possim play", c, before, argv);
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "possim play: give one or more scenario files\n");
        return EX_USAGE;
    }
    if (capture && argc - optind != 1) {
        fprintf(stderr, "possim play: --capture takes one scenario\n");
        return EX_USAGE;
    }
    if (json && txns) {
        fprintf(stderr, "possim play: give --json or --transactions, not both\n");
        return EX_USAGE;
    }
    pb_log_set_sink(PB_LOG_STDERR, "possim play", NULL, NULL);
    /* The watching pipeline logs each discrepancy as the bridge does; here the table
     * below says it, with the expectation beside it. */
    pb_log_set_level(PB_LOG_ERROR);
    int ret = 0;
    unsigned total = 0, failed = 0;
    for (int i = optind; i < argc; i++) {
        struct sim_scenario *sc = NULL;
        char err[512];
        int r = sim_scenario_load(argv[i], &sc, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "%s\n", err);
            ret = r == PB_ERR_SYNTAX ? EX_DATAERR : EX_NOINPUT;
            continue;
        }
        const struct sim_settings *st = sim_scenario_settings(sc);
        const char *name = pname ? pname : st->protocol;
        const struct pb_protocol *p = name[0] ? pb_protocol_find(name) : NULL;
        if (!p) {
            fprintf(stderr, "%s: no protocol (write 'protocol %s' or give --protocol)\n", argv[i],
                    sim_protocol_names());
            sim_scenario_free(sc);
            ret = EX_USAGE;
            continue;
        }
        uint64_t sd = has_seed ? seed : st->has_seed ? st->seed : 1;
        struct sim_lane_config cfg = {.proto = p, .scenario = sc, .seed = sd, .watch = true};
        struct pb_capture *cap = NULL;
        if (capture) {
            if (sim_cli_capture("possim play", capture, (uint16_t)p->link_type, &cap) != 0) {
                sim_scenario_free(sc);
                return EX_CANTCREAT;
            }
            cfg.tap = capture_tap;
            cfg.tap_ctx = cap;
        }
        struct sim_lane_result *res = NULL;
        r = sim_lane_play(&cfg, &res);
        if (cap && pb_capture_close(cap) < 0) {
            fprintf(stderr, "possim play: --capture %s: write failed\n", capture);
            ret = EX_IOERR;
        }
        if (r < 0) {
            fprintf(stderr, "%s: %s\n", argv[i], pb_strerror(r));
            sim_scenario_free(sc);
            ret = EX_SOFTWARE;
            continue;
        }
        if (txns) {
            for (size_t k = 0; k < res->tracker_txns; k++) {
                const struct sim_lane_txn *tx = &res->txns[k];
                printf("%s\t%llu\t%s\t", argv[i], (unsigned long long)tx->id,
                       pb_class_name(tx->cls));
                if (tx->has_charged)
                    printf("%lld\n", (long long)tx->charged);
                else
                    printf("-\n");
            }
        }
        if (!json && !quiet && !txns)
            printf("%s (%s, seed %llu)\n  %-4s %-5s %-16s %-12s %-19s %-19s %-19s\n", argv[i],
                   p->name, (unsigned long long)sd, "#", "line", "action", "requested", "expected",
                   "posbridge", "register");
        for (size_t k = 0; k < res->n_steps; k++) {
            const struct sim_lane_step *ls = &res->steps[k];
            const struct sim_step *stp = ls->step;
            char req[PB_MONEY_FMT_MAX] = "-";
            if (stp->has_amount)
                pb_money_format(req, sizeof req, stp->amount, PB_CURRENCY_NONE);
            const char *exp = stp->expect.cls ? pb_class_name(stp->expect.cls) : "-";
            char trk[48];
            if (!ls->on_wire)
                snprintf(trk, sizeof trk, "(not on wire)");
            else if (!ls->has_txn)
                snprintf(trk, sizeof trk, "(none)");
            else if (ls->related_cls != PB_CLASS_NONE)
                snprintf(trk, sizeof trk, "%s+%s", pb_class_name(ls->cls),
                         pb_class_name(ls->related_cls));
            else
                snprintf(trk, sizeof trk, "%s", pb_class_name(ls->cls));
            const char *bel = !ls->has_reg      ? "-"
                              : ls->reg.skipped ? "skipped"
                                                : pb_class_name(ls->reg.belief);
            total += stp->expect.cls != PB_CLASS_NONE;
            failed += !ls->matches;
            if (txns) {
                /* listed above */
            } else if (json) {
                printf("{\"file\":\"%s\",\"transaction\":%u,\"line\":%u,\"action\":\"%s\","
                       "\"expected\":\"%s\",\"posbridge\":\"%s\",\"register\":\"%s\","
                       "\"pass\":%s}\n",
                       argv[i], stp->index, stp->line, sim_action_name(stp->action), exp, trk, bel,
                       ls->matches ? "true" : "false");
            } else if (!quiet || !ls->matches) {
                printf("  %-4u %-5u %-16s %-12s %-19s %-19s %-19s%s\n", stp->index, stp->line,
                       sim_action_name(stp->action), req, exp, trk, bel,
                       ls->matches ? "" : "  MISMATCH");
                if (!ls->matches && ls->why[0])
                    printf("       %s\n", ls->why);
            }
        }
        if (res->strays) {
            failed += res->strays;
            if (json)
                printf("{\"file\":\"%s\",\"unexpected\":%u,\"pass\":false}\n", argv[i],
                       res->strays);
            else if (!txns)
                printf("  MISMATCH %s\n", res->stray);
        }
        if (!json && !quiet && !txns)
            printf("  %u mismatches; %.1f s of line time, %llu bytes from the terminal, %llu "
                   "from the register\n",
                   res->mismatches, (double)res->virtual_us / 1e6,
                   (unsigned long long)res->bytes_pt, (unsigned long long)res->bytes_ecr);
        if (res->mismatches && !ret)
            ret = 1;
        sim_lane_result_free(res);
        sim_scenario_free(sc);
    }
    fflush(stdout);
    if (!json && !txns)
        fprintf(stderr, "possim play: %u expectations, %u failed\n", total, failed);
    return ret;
}

