/* Tests for pb_crc16_kermit() (protocols/protocol.c): the table-driven CRC the benchmark
 * profile asked for must equal the bitwise CRC-16/KERMIT it replaced, for every byte
 * value, for chained calls, and for the ZVT frame vectors of docs/PROTOCOLS.md. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "protocol.h"

/* The reference: reflected polynomial 0x8408, one bit at a time. */
static uint16_t crc_bitwise(uint16_t crc, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        crc ^= buf[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0x8408) : (uint16_t)(crc >> 1);
    }
    return crc;
}

static void test_check_value(void **state)
{
    (void)state;
    assert_int_equal(pb_crc16_kermit(0, (const uint8_t *)"123456789", 9), 0x2189);
    assert_int_equal(pb_crc16_kermit(0x1234, NULL, 0), 0x1234); /* no bytes: unchanged */
}

static void test_every_byte_and_seed(void **state)
{
    (void)state;
    for (unsigned seed = 0; seed < 0x10000; seed += 0x0101) {
        for (unsigned v = 0; v < 256; v++) {
            uint8_t b = (uint8_t)v;
            assert_int_equal(pb_crc16_kermit((uint16_t)seed, &b, 1),
                             crc_bitwise((uint16_t)seed, &b, 1));
        }
    }
}

static void test_chained_equals_whole(void **state)
{
    (void)state;
    uint8_t buf[512];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    uint16_t whole = pb_crc16_kermit(0, buf, sizeof buf);
    assert_int_equal(whole, crc_bitwise(0, buf, sizeof buf));
    for (size_t cut = 0; cut <= sizeof buf; cut += 37)
        assert_int_equal(pb_crc16_kermit(pb_crc16_kermit(0, buf, cut), buf + cut, sizeof buf - cut),
                         whole);
}

/* docs/PROTOCOLS.md: `10 02 04 0F 02 27 00 10 03 83 FE`: CRC over APDU and ETX, low byte first. */
static void test_zvt_vectors(void **state)
{
    (void)state;
    const uint8_t status[] = {0x04, 0x0F, 0x02, 0x27, 0x00, 0x03};
    assert_int_equal(pb_crc16_kermit(0, status, sizeof status), 0xFE83);
    const uint8_t completion[] = {0x06, 0x0F, 0x00, 0x03};
    assert_int_equal(pb_crc16_kermit(0, completion, sizeof completion), 0x33C6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_every_byte_and_seed),
        cmocka_unit_test(test_chained_equals_whole),
        cmocka_unit_test(test_zvt_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
