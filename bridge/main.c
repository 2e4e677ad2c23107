#include <stdio.h>
int main(void)
{
    puts("posbridge: under construction");
    return 0;
}
