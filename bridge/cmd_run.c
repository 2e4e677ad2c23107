#include <stdio.h>
#include <sysexits.h>

#include "commands.h"

int cmd_run(int argc, char **argv)
{
    fprintf(stderr, "posbridge run: not implemented yet\n");
    return EX_UNAVAILABLE;
}
