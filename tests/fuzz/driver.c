/* A deterministic stand-in for libFuzzer's main, for the short runs in `make check`:
 * replays every file of the corpus directories given, then runs -runs=N seeded mutations
 * of them (byte flips, inserts, deletes, splices, length bytes set to extremes). The
 * harness is the same LLVMFuzzerTestOneInput that `make fuzz` gives to libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT 4096
#define MAX_SEEDS 512

static uint8_t *seeds[MAX_SEEDS];
static size_t seed_len[MAX_SEEDS];
static size_t n_seeds;

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void load_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "fuzz driver: cannot open corpus %s (running without it)\n", dir);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) && n_seeds < MAX_SEEDS) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        uint8_t *buf = malloc(FUZZ_MAX_INPUT);
        size_t n = buf ? fread(buf, 1, FUZZ_MAX_INPUT, f) : 0;
        fclose(f);
        if (!buf)
            continue;
        seeds[n_seeds] = buf;
        seed_len[n_seeds++] = n;
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    long runs = 10000;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "-runs=", 6) == 0)
            runs = strtol(argv[i] + 6, NULL, 10);
        else if (argv[i][0] != '-')
            load_dir(argv[i]);
    }
    for (size_t i = 0; i < n_seeds; i++)
        LLVMFuzzerTestOneInput(seeds[i], seed_len[i]);
    static uint8_t buf[FUZZ_MAX_INPUT];
    for (long r = 0; r < runs; r++) {
        size_t len = 0;
        if (n_seeds > 0 && next() % 8 != 0) {
            size_t s = next() % n_seeds;
            len = seed_len[s];
            memcpy(buf, seeds[s], len);
        } else {
            len = next() % 64;
            for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)next();
        }
        unsigned muts = 1 + next() % 4;
        for (unsigned m = 0; m < muts; m++) {
            switch (next() % 6) {
            case 0: /* flip a bit */
                if (len)
                    buf[next() % len] ^= (uint8_t)(1u << (next() % 8));
                break;
            case 1: /* set a byte to an interesting value */
                if (len) {
                    static const uint8_t v[] = {0x00, 0x02, 0x03, 0x06, 0x10, 0x15, 0xFF, 0x7F};
                    buf[next() % len] = v[next() % sizeof v];
                }
                break;
            case 2: /* insert a byte */
                if (len < FUZZ_MAX_INPUT) {
                    size_t at = len ? next() % (len + 1) : 0;
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = (uint8_t)next();
                    len++;
                }
                break;
            case 3: /* delete a byte */
                if (len) {
                    size_t at = next() % len;
                    memmove(buf + at, buf + at + 1, len - at - 1);
                    len--;
                }
                break;
            case 4: /* truncate */
                if (len)
                    len = next() % len;
                break;
            case 5: /* append another seed (splice) */
                if (n_seeds) {
                    size_t s = next() % n_seeds;
                    size_t n = seed_len[s];
                    if (len + n > FUZZ_MAX_INPUT)
                        n = FUZZ_MAX_INPUT - len;
                    memcpy(buf + len, seeds[s], n);
                    len += n;
                }
                break;
            }
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("fuzz driver: %zu corpus inputs and %ld mutations, no crash\n", n_seeds, runs);
    for (size_t i = 0; i < n_seeds; i++)
        free(seeds[i]);
    return 0;
}
