/* What the possim commands share: time options and the stop/reload signals. */
#include "possim.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "capture.h"
#include "fault.h"
#include "pb_error.h"

volatile sig_atomic_t sim_stop_requested;
volatile sig_atomic_t sim_reload_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        sim_reload_requested = 1;
    else
        sim_stop_requested = 1;
}

void sim_signals_install(bool hup)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (hup)
        sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int sim_cli_duration(const char *opt, const char *v, uint32_t *ms, bool bare_seconds)
{
    char buf[40];
    if (bare_seconds && v[0] && strspn(v, "0123456789.") == strlen(v)) {
        snprintf(buf, sizeof buf, "%ss", v);
        v = buf;
    }
    if (sim_duration_parse(v, ms) != PB_OK) {
        fprintf(stderr, "possim: %s: bad time '%s' (use 5s, 1.5s or 500ms)\n", opt, v);
        return -1;
    }
    return 0;
}

int sim_cli_capture(const char *prog, const char *path, uint16_t link_type,
                    struct pb_capture **out)
{
    int rc = pb_capture_open(path, link_type, NULL, out);
    if (rc == PB_OK)
        return 0;
    if (rc == PB_ERR_BUSY)
        fprintf(stderr, "%s: --capture %s: in use by pid %ld\n", prog, path,
                (long)pb_capture_holder(path));
    else /* the capture logged the reason of a refusal */
        fprintf(stderr, "%s: --capture %s: %s\n", prog, path,
                rc == PB_ERR_IO ? strerror(errno) : pb_strerror(rc));
    return EX_CANTCREAT;
}
