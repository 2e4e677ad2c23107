#include <stdio.h>
int main(void)
{
    puts("possim: under construction");
    return 0;
}
