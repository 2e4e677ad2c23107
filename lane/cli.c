/* cli: see cli.h. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

int pb_cli_bad_option(const char *prog, int c, int before, char *const *argv)
{
    /* getopt_long steps optind past a long option before it reports a fault in it, so
     * argv[optind - 1] is that option. A short option is known by optopt alone: inside a
     * cluster ("-jZ") optind has not moved, or has moved only past arguments that are not
     * options, and argv[optind - 1] names something else. */
    const char *arg = optind > before ? argv[optind - 1] : NULL;
    if (arg && arg[0] == '-' && arg[1] == '-' && arg[2]) {
        size_t n = strcspn(arg, "=");
        if (c == ':')
            fprintf(stderr, "%s: option '%.*s' needs a value\n", prog, (int)n, arg);
        else if (arg[n] == '=' && optopt)
            fprintf(stderr, "%s: option '%.*s' takes no value\n", prog, (int)n, arg);
        else
            fprintf(stderr, "%s: unknown option '%.*s'\n", prog, (int)n, arg);
    } else if (optopt > 32 && optopt < 127) {
        fprintf(stderr, "%s: %s '-%c'%s\n", prog, c == ':' ? "option" : "unknown option", optopt,
                c == ':' ? " needs a value" : "");
    } else {
        fprintf(stderr, "%s: unknown option\n", prog);
    }
    fprintf(stderr, "see `%s --help`\n", prog);
    return EX_USAGE;
}
