/* possim replay: one side of a recorded capture played back on a port (sim/replay.h). */
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "possim.h"
#include "cli.h"
#include "clock.h"
#include "link.h"
#include "log.h"
#include "pb_error.h"
#include "replay.h"

static ssize_t fd_link_write(void *ctx, const uint8_t *buf, size_t len)
{
    struct pb_link *l = ctx;
    if (!pb_link_is_up(l))
        return PB_ERR_CLOSED;
    return pb_link_write(l, buf, len);
}

/* possim replay CAPTURE --side terminal|register --port PORT */
int sim_cmd_replay(int argc, char **argv)
{
    enum { O_SPEED = 256, O_OPEN, O_WAIT };
    static const struct option longopts[] = {
        {"side", required_argument, NULL, 's'},
        {"port", required_argument, NULL, 'p'},
        {"line", required_argument, NULL, 'l'},
        {"speed", required_argument, NULL, O_SPEED},
        {"open-loop", no_argument, NULL, O_OPEN},
        {"wait", required_argument, NULL, O_WAIT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sim_replay_opts o = {.side = PB_DIR_UNKNOWN};
    const char *port = NULL, *ltext = "9600,8N1";
    bool verbose = false;
    int before, c;
    optind = 1;
    opterr = 0;
    while ((before = optind, c = getopt_long(argc, argv, ":s:p:l:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (strcmp(optarg, "terminal") == 0)
                o.side = PB_DIR_PT;
            else if (strcmp(optarg, "register") == 0)
                o.side = PB_DIR_ECR;
            else {
                fprintf(stderr, "possim replay: --side is terminal or register, not '%s'\n",
                        optarg);
                return EX_USAGE;
            }
            break;
        case 'p':
            port = optarg;
            break;
        case 'l':
            ltext = optarg;
            break;
        case O_SPEED: {
            uint32_t ms; /* reuse the duration parser: "2" -> "2s" -> 2000 = 2x */
            char buf[40];
            snprintf(buf, sizeof buf, "%ss", optarg);
            if (sim_duration_parse(buf, &ms) != PB_OK || ms == 0 || ms > 1000000) {
                fprintf(stderr,
                        "possim replay: --speed: '%s' is not a factor such as 2 or "
                        "0.5\n",
                        optarg);
                return EX_USAGE;
            }
            o.speed_milli = ms;
            break;
        }
        case O_OPEN:
            o.open_loop = true;
            break;
        case O_WAIT:
            if (sim_cli_duration("--wait", optarg, &o.wait_ms, true) < 0)
                return EX_USAGE;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            printf(
                "usage: possim replay CAPTURE --side terminal|register --port PORT\n"
                "                     [--speed N] [--open-loop] [--wait DUR] [--line SETTINGS]\n\n"
                "Plays the bytes one side sent in a recorded capture (pcapng) back on a port,\n"
                "so a field problem can be replayed against a live register or terminal.\n"
                "Each recorded chunk waits until the live peer has sent as many bytes as the\n"
                "recorded peer had, then keeps its recorded gap (divided by --speed); after\n"
                "--wait (10s) it goes anyway. --open-loop keeps recorded offsets instead.\n\n"
                "example:\n"
                "  possim replay lane3.pcapng --side terminal --port pty:/tmp/pt\n");
            return 0;
        default:
            return pb_cli_bad_option("possim replay", c, before, argv);
        }
    }
    if (optind + 1 != argc || !port || o.side == PB_DIR_UNKNOWN) {
        fprintf(stderr, "usage: possim replay CAPTURE --side terminal|register --port PORT\n");
        return EX_USAGE;
    }
    pb_log_set_sink(PB_LOG_STDERR, "possim replay", NULL, NULL);
    pb_log_set_level(verbose ? PB_LOG_DEBUG : PB_LOG_INFO);
    struct pb_line line;
    const char *lerr = NULL;
    if (pb_line_parse(ltext, &line, &lerr) != PB_OK) {
        fprintf(stderr, "possim replay: --line '%s': %s\n", ltext, lerr ? lerr : "bad");
        return EX_USAGE;
    }
    struct pb_link *link = NULL;
    int lr = pb_link_open(port, &line, &link);
    if (lr != PB_OK) {
        fprintf(stderr, "possim replay: cannot open port '%s': %s\n", port, pb_strerror(lr));
        pb_link_close(link);
        return lr == PB_ERR_SYNTAX ? EX_USAGE : EX_UNAVAILABLE;
    }
    struct sim_replay *rp = NULL;
    char err[512];
    int r = sim_replay_load(argv[optind], &o, fd_link_write, link, &rp, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "possim replay: %s\n", err);
        pb_link_close(link);
        return r == PB_ERR_NOTFOUND ? EX_NOINPUT : EX_DATAERR;
    }
    fprintf(stderr, "possim replay: %u chunks of the %s side on %s\n",
            sim_replay_stats(rp)->chunks_total, o.side == PB_DIR_PT ? "terminal" : "register",
            pb_link_path(link));
    sim_signals_install(false);
    uint8_t buf[4096];
    while (!sim_stop_requested && !sim_replay_done(rp)) {
        int64_t now = sim_clock_now_us();
        if (sim_replay_tick(rp, now) == PB_ERR_CLOSED)
            pb_warn("port %s went away", port);
        if (sim_replay_done(rp))
            break;
        int64_t dl = sim_replay_next_deadline(rp);
        now = sim_clock_now_us();
        int timeout = dl < 0 ? 1000 : dl <= now ? 0 : (int)((dl - now + 999) / 1000);
        int fd = pb_link_fd(link);
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (fd < 0) {
            if (pb_link_reopen(link) != PB_OK)
                poll(NULL, 0, 100);
            continue;
        }
        if (poll(&pf, 1, timeout) <= 0)
            continue;
        ssize_t n;
        while ((n = pb_link_read(link, buf, sizeof buf)) > 0)
            sim_replay_input(rp, buf, (size_t)n, sim_clock_now_us());
    }
    /* Let the last bytes drain and the peer answer before the pty goes. */
    poll(NULL, 0, 200);
    const struct sim_replay_stats *st = sim_replay_stats(rp);
    fprintf(stderr,
            "possim replay: sent %u of %u chunks (%llu bytes), received %llu bytes, "
            "%u stalls\n",
            st->chunks_sent, st->chunks_total, (unsigned long long)st->bytes_sent,
            (unsigned long long)st->bytes_received, st->stalls);
    int ret = sim_stop_requested ? EX_TEMPFAIL : 0;
    sim_replay_free(rp);
    pb_link_close(link);
    return ret;
}

