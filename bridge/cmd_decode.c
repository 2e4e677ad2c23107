#include <stdio.h>
#include <sysexits.h>

#include "commands.h"

int cmd_decode(int argc, char **argv)
{
    fprintf(stderr, "posbridge decode: not implemented yet\n");
    return EX_UNAVAILABLE;
}
