/* Tests for sim/scenario.c: a full valid scenario, blocks, comments, global faults, and a
 * table of bad inputs each giving its exact file:line:col message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "pb_error.h"
#include "scenario.h"

static struct sim_scenario *parse_ok(const char *text)
{
    struct sim_scenario *s = NULL;
    char err[256];
    int r = sim_scenario_parse("t.scn", text, strlen(text), &s, err, sizeof err);
    if (r != PB_OK)
        fail_msg("unexpected error: %s", err);
    return s;
}

static void test_valid_scenario(void **state)
{
    const char *text = "# a day at the till\n"
                       "protocol zvt\n"
                       "currency EUR\n"
                       "seed 42\n"
                       "timeout 3s   # the register gives up after this\n"
                       "fault every 3 latency 20ms 5ms\n"
                       "\n"
                       "sale 12.50                      expect ok\n"
                       "sale 20.00  charge +1.00        expect overcharge charged=21.00\n"
                       "sale 9.99   decline 05          expect declined\n"
                       "sale 5.00   no-answer timeout 1s expect in_doubt\n"
                       "refund 5.00 ecr-nak 1 times 2\n"
                       "void of 2                       expect voided\n"
                       "status\r\n"
                       "end-of-day\n";
    struct sim_scenario *s = parse_ok(text);
    const struct sim_settings *st = sim_scenario_settings(s);
    assert_string_equal(st->protocol, "zvt");
    assert_int_equal(st->currency, 978);
    assert_true(st->has_seed);
    assert_int_equal(st->seed, 42);
    assert_int_equal(st->timeout_ms, 3000);
    assert_int_equal(st->ack_timeout_ms, 2000); /* default kept */
    size_t nf;
    const struct sim_fault *gf = sim_scenario_faults(s, &nf);
    assert_int_equal(nf, 1);
    assert_int_equal(gf[0].kind, SIM_FAULT_LATENCY);
    assert_int_equal(gf[0].trigger, SIM_TRIG_EVERY);
    assert_int_equal(gf[0].trigger_n, 3);
    assert_int_equal(gf[0].jitter_ms, 5);

    assert_int_equal(sim_scenario_count(s), 8);
    const struct sim_step *p = sim_scenario_step(s, 0);
    assert_int_equal(p->index, 1);
    assert_int_equal(p->line, 8);
    assert_int_equal(p->action, SIM_ACT_SALE);
    assert_int_equal(p->amount, 1250);
    assert_int_equal(p->expect.cls, PB_CLASS_OK);
    assert_int_equal(p->n_faults, 0);
    p = sim_scenario_step(s, 1);
    assert_int_equal(p->n_faults, 1);
    assert_int_equal(p->faults[0].kind, SIM_FAULT_CHARGE);
    assert_int_equal(p->expect.cls, PB_CLASS_OVERCHARGE);
    assert_true(p->expect.has_charged);
    assert_int_equal(p->expect.charged, 2100);
    p = sim_scenario_step(s, 2);
    assert_int_equal(p->faults[0].code, 0x05);
    p = sim_scenario_step(s, 3);
    assert_int_equal(p->timeout_ms, 1000);
    assert_int_equal(p->expect.cls, PB_CLASS_IN_DOUBT);
    p = sim_scenario_step(s, 4);
    assert_int_equal(p->action, SIM_ACT_REFUND);
    assert_int_equal(p->faults[0].side, SIM_SIDE_ECR);
    assert_int_equal(p->faults[0].times, 2);
    assert_int_equal(p->expect.cls, PB_CLASS_NONE);
    p = sim_scenario_step(s, 5);
    assert_int_equal(p->action, SIM_ACT_VOID);
    assert_int_equal(p->void_of, 2);
    assert_int_equal(p->expect.cls, PB_CLASS_VOIDED);
    assert_int_equal(sim_scenario_step(s, 6)->action, SIM_ACT_STATUS);
    assert_int_equal(sim_scenario_step(s, 7)->action, SIM_ACT_END_OF_DAY);
    assert_null(sim_scenario_step(s, 8));
    sim_scenario_free(s);
}

static void test_blocks_and_defaults(void **state)
{
    const char *text = "currency JPY\n"
                       "sale 1200\n"
                       "    charge -10%\n"
                       "\tpartial 600 # half of it\n"
                       "    expect partial_approval\n"
                       "    charged=600 due=600\n"
                       "purchase 5 pause 250ms\n";
    struct sim_scenario *s = parse_ok(text);
    assert_string_equal(sim_scenario_settings(s)->protocol, "");
    assert_int_equal(sim_scenario_settings(s)->currency, 392);
    assert_int_equal(sim_scenario_count(s), 2);
    const struct sim_step *p = sim_scenario_step(s, 0);
    assert_int_equal(p->amount, 1200); /* JPY has no decimals */
    assert_int_equal(p->n_faults, 2);
    assert_int_equal(p->expect.cls, PB_CLASS_PARTIAL_APPROVAL);
    assert_int_equal(p->expect.charged, 600);
    assert_true(p->expect.has_due);
    assert_int_equal(p->expect.due, 600);
    p = sim_scenario_step(s, 1);
    assert_int_equal(p->action, SIM_ACT_SALE);
    assert_int_equal(p->pause_ms, 250);
    assert_int_equal(p->line, 7);
    sim_scenario_free(s);

    s = parse_ok("");
    assert_int_equal(sim_scenario_count(s), 0);
    assert_int_equal(sim_scenario_settings(s)->timeout_ms, 10000);
    assert_string_equal(sim_scenario_settings(s)->pos_id, "01");
    assert_false(sim_scenario_settings(s)->receipt);
    sim_scenario_free(s);
    s = parse_ok("receipt on\n");
    assert_true(sim_scenario_settings(s)->receipt);
    sim_scenario_free(s);
}

static void test_bad_inputs(void **state)
{
    static const struct {
        const char *text;
        const char *msg;
    } bad[] = {
        {"sael 12.50\n", "t.scn:1:1: unknown action 'sael'"},
        {"sale\n", "t.scn:1:6: 'sale' needs an amount"},
        {"sale 12.505\n", "t.scn:1:6: bad amount '12.505'"},
        {"sale 0\n", "t.scn:1:6: amount '0' must be more than 0"},
        {"sale -3\n", "t.scn:1:6: amount '-3' must be more than 0"},
        {"\n\nsale 1.00 chrage +1\n", "t.scn:3:11: unknown word 'chrage'"},
        {"sale 1.00 charge\n", "t.scn:1:11: 'charge' needs an amount"},
        {"sale 1.00 charge 1.001\n", "t.scn:1:18: bad amount for the currency"},
        {"sale 1.00 expect okay\n", "t.scn:1:18: unknown class 'okay'"},
        {"sale 1.00 expect\n", "t.scn:1:18: 'expect' needs a class"},
        {"sale 1.00 expect ok expect ok\n", "t.scn:1:21: this transaction already has"},
        {"sale 1.00 expect ok charged=x\n", "t.scn:1:29: bad amount 'x' for charged="},
        {"sale 1.00 expect ok paid=1\n", "t.scn:1:21: unknown expectation 'paid='"},
        {"sale 1.00 charged=1.00\n", "t.scn:1:11: 'charged=1.00' belongs after"},
        {"sale 1.00 delay 5\n", "t.scn:1:17: 'delay' needs a time"},
        {"sale 1.00 timeout\n", "t.scn:1:19: 'timeout' needs a time"},
        {"sale 1.00 nak every 2\n", "t.scn:1:15: 'at' and 'every' belong on 'fault' lines"},
        {"sale 1.00\nprotocol zvt\n", "t.scn:2:1: setting 'protocol' must come before"},
        {"protocol t00\n", "t.scn:1:10: unknown protocol 't00'"},
        {"protocol zvt concert\n", "t.scn:1:14: unexpected 'concert'"},
        {"currency XXX\n", "t.scn:1:10: unknown currency 'XXX'"},
        {"seed forty\n", "t.scn:1:6: expected a whole number"},
        {"pos 1\n", "t.scn:1:5: POS number is two digits"},
        {"receipt yes\n", "t.scn:1:9: 'receipt' is on (print lines), lines, block"},
        {"sale 1.00\nreceipt on\n", "t.scn:2:1: setting 'receipt' must come before"},
        {"terminal-id 123\n", "t.scn:1:13: terminal id is 8 digits"},
        {"fault\n", "t.scn:1:7: 'fault' needs a fault"},
        {"fault every 3\n", "t.scn:1:15: a fault must follow the trigger"},
        {"fault every 0 nak\n", "t.scn:1:13: expected a whole number from 1"},
        {"fault bogus\n", "t.scn:1:7: unknown fault 'bogus'"},
        {"fault nak nak\n", "t.scn:1:11: unexpected 'nak' after the fault"},
        {"fault chance 101% nak\n", "t.scn:1:14: expected a percentage"},
        {"sale 1.00 pause\n", "t.scn:1:17: 'pause' needs a time"},
        {"void of 1\n", "t.scn:1:9: 'void of 1': name an earlier transaction"},
        {"sale 1.00\nvoid of 2\n", "t.scn:2:9: 'void of 2': name an earlier transaction"},
        {"sale 1.00 ecr-decline\n", "t.scn:1:11: only line faults"},
        {"sale 1.00\x01\n", "t.scn:1:10: unexpected control byte 0x01"},
        {"sale 1.00 pos 7\n", "t.scn:1:15: POS number is two digits"},
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sim_scenario *s = (struct sim_scenario *)1;
        char err[512];
        int r = sim_scenario_parse("t.scn", bad[i].text, strlen(bad[i].text), &s, err, sizeof err);
        if (r != PB_ERR_SYNTAX)
            fail_msg("case %zu (%s) parsed", i, bad[i].text);
        assert_null(s);
        if (strncmp(err, bad[i].msg, strlen(bad[i].msg)) != 0) {
            print_error("case %zu: got '%s', want '%s...'\n", i, err, bad[i].msg);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_nul_and_long_lines(void **state)
{
    struct sim_scenario *s;
    char err[256];
    const char text[] = "sale 1.00\nsa\0le\n";
    assert_int_equal(sim_scenario_parse("n", text, sizeof text - 1, &s, err, sizeof err),
                     PB_ERR_SYNTAX);
    assert_string_equal(err, "n:2:3: unexpected control byte 0x00");
    static char longline[2100];
    memset(longline, 'a', sizeof longline - 1);
    assert_int_equal(sim_scenario_parse("n", longline, strlen(longline), &s, err, sizeof err),
                     PB_ERR_SYNTAX);
    assert_non_null(strstr(err, "line too long"));
}

static void test_load_file(void **state)
{
    char path[] = "/tmp/test_sim_scenario_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "protocol concert\nsale 1.00 expect ok\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct sim_scenario *s;
    char err[256];
    assert_int_equal(sim_scenario_load(path, &s, err, sizeof err), PB_OK);
    assert_int_equal(sim_scenario_count(s), 1);
    sim_scenario_free(s);
    unlink(path);
    assert_int_equal(sim_scenario_load(path, &s, err, sizeof err), PB_ERR_NOTFOUND);
    assert_null(s);
    assert_non_null(strstr(err, "No such file"));
    sim_scenario_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_scenario), cmocka_unit_test(test_blocks_and_defaults),
        cmocka_unit_test(test_bad_inputs),     cmocka_unit_test(test_nul_and_long_lines),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
