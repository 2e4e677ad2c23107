/* cli: command-line error messages shared by every posbridge and possim subcommand, so
 * that a mistyped option gets the same clear message wherever it is made.
 *
 *   pb_cli_bad_option()   the message for getopt_long's ':' or '?', naming the option
 *
 * Usage: opterr = 0, an optstring that starts with ':', and optind saved before each call:
 *
 *     int before, c;
 *     while ((before = optind, c = getopt_long(argc, argv, ":j", opts, NULL)) != -1)
 *         switch (c) {
 *         ...
 *         default: return pb_cli_bad_option("posbridge ports", c, before, argv);
 *         } */
#ifndef PB_CLI_H
#define PB_CLI_H

/* prog: the command as the user typed it ("posbridge decode"). c: what getopt_long
 * returned (':' for a missing value, anything else for an unknown option). before:
 * optind before that getopt_long call. argv: the vector given to getopt_long.
 * Prints to stderr "PROG: option '--x' needs a value" ("takes no value", "unknown
 * option '-Z'") and "see `PROG --help`". Returns EX_USAGE. */
int pb_cli_bad_option(const char *prog, int c, int before, char *const *argv);

#endif
