/* A corpus of MIS-POS (allinpay) frames from an independent public source, each decoded by
 * posbridge as its source says it is (issue 17/18).
 *
 * The source, gsccs/mispos-client @85a1514f (Allinpay's MIS-POS client, Java), builds and
 * reads its frames in code; none is written down. So every row is "built": the TLV list
 * its CommDataManager.getSendCommBuffer writes for the inputs named (tags in its order:
 * 9F00 app name, 9F01 type, 9F02 amount, 9F06 operator, 9F0F auth, 9F10 host serial,
 * 9F11 date, 9F13 memo, 9F1B expiry, 9F1E store, 9F1F POS, 9F20 old trace, 9FFF order,
 * 9F1A check), or the tags its getBackData reads for an answer. App name APP01 and
 * operator 01 are config/allinpay-mispos.properties'; result codes and their meanings are
 * config/allinpay-rejcode.properties'; type numbers are tools/CacheUtil.java's. The frame
 * (STX, BCD LEN, ETX, LRC = XOR of LEN through ETX, as FileUtil.Xor does) is made here and
 * its LRC computed here.
 *
 * A row's TLVs are written TAG=value separated by ';', a value starting with '#' in hex
 * (the 1-byte type, GBK text). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mispos.h"
#include "msg.h"
#include "pb_error.h"
#include "protocol.h"

static const struct pb_protocol *P = &pb_proto_mispos;
#define CODEC_TEST_PROTO P
#include "codec_test.h"

#define NO_AMOUNT (-1)
#define GBK_MERCHANT "#B2E2CAD4C9CCBBA7" /* GBK for "测试商户", a test merchant */

struct row {
    const char *tlvs;
    const char *source;
    const char *says;
    enum pb_dir dir;
    enum pb_kind kind;
    enum pb_txn_type txn;
    int64_t amount;
    enum pb_result result;
    const char *pan;      /* "" none */
    const char *receipt;  /* "" none */
    uint32_t flags;       /* that must be set */
};

static const struct row ROWS[] = {
    /* ---- requests (getSendCommBuffer) ---- */
    {"9F00=APP01;9F01=#02;9F02=000000000100;9F1F=01",
     "StatusPanel sale: TransType 2 (SALE), Amount 1.00 (formatAmt), PosNumber 01",
     "sale 1.00 CNY", PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_PURCHASE, 100, PB_RESULT_NONE,
     "", "", 0},
    {"9F00=APP01;9F01=#02;9F02=000000008888;9F06=01;9F1E=0001;9F1F=01;9FFF=ORD20180203001",
     "sale with operator, store, POS and order number (BANKCARD_TAG_ORDERNUMBER)",
     "sale 88.88 CNY", PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_PURCHASE, 8888, PB_RESULT_NONE,
     "", "", 0},
    {"9F00=APP01;9F01=#03;9F02=000000000100;9F06=01;9F1F=01;9F20=000123",
     "void: TransType 3 (VOID), OldTraceNumber 000123", "void of trace 000123",
     PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_VOID, 100, PB_RESULT_NONE, "", "000123", 0},
    {"9F00=APP01;9F01=#04;9F02=000000005000;9F06=01;9F10=123456789012;9F11=0203;9F1F=01;"
     "9F20=000123",
     "refund: TransType 4 (REFUND), HostserialNumber, TransDate, OldTraceNumber",
     "refund 50.00 CNY", PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_REFUND, 5000, PB_RESULT_NONE, "",
     "000123", 0},
    {"9F00=APP01;9F01=#06;9F02=000000020000;9F06=01;9F1F=01",
     "pre-authorisation: TransType 6 (PREAUTH)", "pre-auth 200.00 CNY", PB_DIR_ECR,
     PB_KIND_REQUEST, PB_TXN_PREAUTH, 20000, PB_RESULT_NONE, "", "", 0},
    {"9F00=APP01;9F01=#07;9F02=000000020000;9F06=01;9F0F=654321;9F1F=01",
     "pre-auth void: TransType 7 (PREAUTHVOID), AuthNumber", "pre-auth void: other",
     PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_OTHER, 20000, PB_RESULT_NONE, "", "", 0},
    {"9F00=APP01;9F01=#08;9F02=000000018000;9F06=01;9F0F=654321;9F1F=01",
     "auth completion: TransType 8 (AUTHCOMPLETE)", "auth complete: other", PB_DIR_ECR,
     PB_KIND_REQUEST, PB_TXN_OTHER, 18000, PB_RESULT_NONE, "", "", 0},
    {"9F00=APP01;9F01=#0E;9F06=01;9F1F=01",
     "settlement: TransType 14 (SETTLE), no amount", "settlement (end of day)", PB_DIR_ECR,
     PB_KIND_REQUEST, PB_TXN_END_OF_DAY, NO_AMOUNT, PB_RESULT_NONE, "", "", 0},
    {"9F00=APP01;9F01=#0F",
     "query last: TransType 15 (QUERYLAST), not in the amount list", "query last",
     PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_STATUS, NO_AMOUNT, PB_RESULT_NONE, "", "", 0},
    {"9F00=APP01;9F01=#01", "login: TransType 1 (LOGIN)", "sign-in: other", PB_DIR_ECR,
     PB_KIND_REQUEST, PB_TXN_OTHER, NO_AMOUNT, PB_RESULT_NONE, "", "", 0},
    {"9F00=APP01;9F01=#12", "balance query: TransType 18 (QUERY)", "balance query: other",
     PB_DIR_ECR, PB_KIND_REQUEST, PB_TXN_OTHER, NO_AMOUNT, PB_RESULT_NONE, "", "", 0},
    /* ---- answers (getBackData's tags; codes from allinpay-rejcode.properties) ---- */
    {"9F14=00;9F01=#02;9F02=000000000100;9F03=" GBK_MERCHANT ";9F04=123456789012345;"
     "9F05=12345678;9F06=01;9F0B=6222021234567890123;9F0C=1;9F0D=000001;9F0E=000124;"
     "9F0F=AB12CD;9F10=123456789012;9F11=0203;9F12=165142;9F1B=2512",
     "sale answer, bankcard.00 (success)", "sale approved 1.00 CNY, card 6222...0123",
     PB_DIR_PT, PB_KIND_RESULT, PB_TXN_PURCHASE, 100, PB_RESULT_APPROVED,
     "622202*********0123", "000124", PB_F_RESULT_CODE},
    {"9F14=51;9F01=#02;9F02=000000000100;9F05=12345678;9F0B=6222021234567890123;9F0E=000125",
     "sale answer, bankcard.51 (insufficient funds)", "declined: insufficient funds",
     PB_DIR_PT, PB_KIND_RESULT, PB_TXN_PURCHASE, 100, PB_RESULT_DECLINED,
     "622202*********0123", "000125", PB_F_RESULT_CODE},
    {"9F14=10;9F01=#02;9F02=000000000060;9F05=12345678;9F0B=6222021234567890123;9F0E=000126",
     "sale answer, bankcard.10 (approved for part of the amount)",
     "partially approved 0.60 CNY", PB_DIR_PT, PB_KIND_RESULT, PB_TXN_PURCHASE, 60,
     PB_RESULT_APPROVED, "622202*********0123", "000126", PB_F_PARTIAL},
    {"9F14=68;9F01=#02;9F05=12345678;9F0E=000127",
     "sale answer, bankcard.68 (transaction timed out)", "declined: timeout", PB_DIR_PT,
     PB_KIND_RESULT, PB_TXN_PURCHASE, NO_AMOUNT, PB_RESULT_DECLINED, "", "000127",
     PB_F_RESULT_CODE},
    {"9F14=00;9F01=#03;9F02=000000000100;9F05=12345678;9F0B=6222021234567890123;9F0E=000128;"
     "9F20=000124;9F15=#BFA8BAC53A36323232303231323334353637383930313233",
     "void answer with 9F15 print content (GBK \"卡号:\" and the card number)",
     "void of 000124 approved, receipt text with the card", PB_DIR_PT, PB_KIND_RESULT,
     PB_TXN_VOID, 100, PB_RESULT_APPROVED, "622202*********0123", "000124", 0},
    {"9F14=00;9F01=#12;9F05=12345678;9F0B=6222021234567890123;9F23=000000123456;"
     "9F19=#BDBBD2D7B3C9B9A6",
     "balance answer: 9F23 BalanceAmount, 9F19 RejCodeExplain (GBK \"交易成功\")",
     "balance query approved", PB_DIR_PT, PB_KIND_RESULT, PB_TXN_OTHER, NO_AMOUNT,
     PB_RESULT_APPROVED, "622202*********0123", "", 0},
};

/* "9F00=APP01;9F01=#02" into TLV data. */
static size_t build(const char *spec, uint8_t *d, size_t cap)
{
    size_t n = 0;
    const char *s = spec;
    while (*s) {
        unsigned tag;
        assert_int_equal(sscanf(s, "%4x", &tag), 1);
        s += 4;
        assert_int_equal(*s, '=');
        s++;
        size_t e = strcspn(s, ";");
        uint8_t v[256];
        size_t vl = 0;
        if (*s == '#') {
            char h[512];
            assert_true(e - 1 < sizeof h);
            memcpy(h, s + 1, e - 1);
            h[e - 1] = '\0';
            vl = hex(h, v, sizeof v);
        } else {
            memcpy(v, s, e);
            vl = e;
        }
        assert_true(n + 4 + vl <= cap);
        d[n] = (uint8_t)(tag >> 8);
        d[n + 1] = (uint8_t)tag;
        d[n + 2] = (uint8_t)(vl >> 8);
        d[n + 3] = (uint8_t)vl;
        memcpy(d + n + 4, v, vl);
        n += 4 + vl;
        s += e;
        if (*s == ';')
            s++;
    }
    return n;
}

/* STX, BCD LEN, data, ETX, LRC of LEN through ETX (FileUtil.Xor), made here. */
static size_t wrap(const uint8_t *d, size_t n, uint8_t *w)
{
    w[0] = 0x02;
    w[1] = (uint8_t)((n / 1000 % 10) << 4 | (n / 100 % 10));
    w[2] = (uint8_t)((n / 10 % 10) << 4 | (n % 10));
    memcpy(w + 3, d, n);
    w[3 + n] = 0x03;
    w[4 + n] = pb_lrc(w + 1, n + 3);
    return n + 5;
}

static void assert_no_card_number(const struct pos_msg *m)
{
    const char *fields[] = {m->result_text, m->pos_id, m->terminal_id, m->trace, m->receipt,
                            m->reference, m->auth_code, m->pan, m->text};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        size_t run = 0;
        for (const char *c = fields[i]; *c; c++) {
            run = (*c >= '0' && *c <= '9') ? run + 1 : 0;
            assert_true(run <= 10);
        }
    }
}

static void check_row(const struct row *r)
{
    uint8_t d[1024], w[1100];
    size_t n = wrap(d, build(r->tlvs, d, sizeof d), w);
    struct pos_msg m;
    int rc = decode_wire(w, n, PB_DIR_UNKNOWN, &m);
    if (rc != PB_OK || m.kind != r->kind)
        print_message("row failed: %s (%s)\n", r->source, r->says);
    assert_int_equal(rc, PB_OK);
    assert_int_equal(m.dir, r->dir);
    assert_int_equal(m.kind, r->kind);
    assert_int_equal(m.txn, r->txn);
    assert_int_equal(m.result, r->result);
    if (r->amount == NO_AMOUNT) {
        assert_false(m.flags & PB_F_AMOUNT);
    } else {
        assert_int_equal(m.amount, r->amount);
    }
    assert_int_equal(m.currency, 156); /* the profile's: CNY */
    assert_string_equal(m.pan, r->pan);
    assert_string_equal(m.receipt, r->receipt);
    assert_int_equal(m.flags & r->flags, r->flags);
    assert_no_card_number(&m);
    /* the capture: no card number, no expiry, LRC good, idempotent */
    P->redact(w, n);
    assert_int_equal(pb_lrc(w + 1, n - 2), w[n - 1]);
    assert_null(memmem(w, n, "1234567890123", 13));
    assert_null(memmem(w, n, "\x9f\x1b\x00\x04" "2512", 8));
    assert_int_equal(P->redact(w, n), 0);
    struct pos_msg red;
    assert_int_equal(decode_wire(w, n, PB_DIR_UNKNOWN, &red), PB_OK);
    assert_int_equal(red.kind, m.kind);
    assert_string_equal(red.pan, m.pan);
    check_every_truncation(w, n);
}

static void test_corpus(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++)
        check_row(&ROWS[i]);
    print_message("%zu MIS-POS frames built as gsccs/mispos-client builds them, decoded as it "
                  "says\n",
                  sizeof ROWS / sizeof ROWS[0]);
}

/* docs/PROTOCOLS.md's vector is the first row's shape: the same bytes from the same builder. */
static void test_corpus_matches_vector(void **state)
{
    (void)state;
    uint8_t d[64], w[80], v[80];
    size_t n = wrap(d, build("9F00=APP01;9F01=#02;9F02=000000000100", d, sizeof d), w);
    size_t k = hex("02 00 30 9F 00 00 05 41 50 50 30 31 9F 01 00 01 02 9F 02 00 0C 30 30 30 "
                   "30 30 30 30 30 30 31 30 30 03 E4",
                   v, sizeof v);
    assert_int_equal(n, k);
    assert_memory_equal(w, v, k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_corpus_matches_vector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
