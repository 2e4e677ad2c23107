/* A corpus of ZVT APDUs taken from independent sources, each decoded as its source says.
 *
 * Every row holds the bytes of one APDU, where it comes from (project, file, test) and what
 * that source says it means; the test frames it (DLE STX, 0x10 doubled, DLE ETX, CRC) and
 * asserts what posbridge decodes. The bytes are facts copied from:
 *   - docs/PROTOCOLS.md section 2 (the project's own checked vectors),
 *   - wirelane/ecrterm ecrterm/tests (Python: test_parsing.py, test_parsing_abort.py,
 *     test_parsing_completion.py, test_parsing_open_reservation_responses.py,
 *     test_apdu.py) and ecrterm/packets/base_packets.py,
 *   - EVerest/zvt zvt/data/ (frames the project recorded on a Feig terminal's line: a
 *     pre-authorisation, its reversal, a partial reversal, an end of day),
 *   - Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest (C#: StatusInformationParserTest,
 *     PrintLineTest, PrintTextBlockTest, ZvtClientTest, ZvtCommunicationTest,
 *     IntermediateStatusInformationParserTest, ApduHelperTest),
 *   - the ZVT specification PA00P015 rev. 13.08 command layouts, by chapter (where the
 *     spec gives a layout but no values, the values are ours and the row says so).
 * Rows the sources give with a LEN that does not match their data (Portalum
 * Parse_AbortViaTimeout: LEN 44 for 37 bytes; ecrterm test_text_encoding_utf8: LEN 21 for
 * 17; two of ecrterm's open-reservation answers: LEN and TLV length past the data) are left
 * out: their parsers ignore LEN, posbridge does not.
 *
 * Each row is also redacted: the result must decode to the same kind, and a second
 * redaction must change nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "pb_error.h"
#include "protocol.h"
#include "zvt.h"

static const struct pb_protocol *Z = &pb_proto_zvt;

#define ANY (-2)  /* not checked */
#define NONE (-1) /* must be absent */

struct row {
    const char *apdu;    /* hex, spaces ignored */
    const char *source;  /* project, file, test */
    const char *meaning; /* what the source says it is */
    int given;           /* the direction decode is told */
    int rc;              /* decode's return */
    int kind;
    int dir, txn, result; /* ANY or the value */
    int code;            /* result_code: ANY, NONE or the value */
    long long amount;    /* minor units: ANY, NONE or the value */
    int currency;        /* ANY, or the ISO number (0: none) */
    const char *receipt, *trace, *tid, *pan, *auth, *text; /* NULL: not checked */
    uint32_t set, clear; /* flags that must be set, and clear */
};

static const struct row rows[] = {
    {
        .apdu = "06 01 07 04 00 00 00 00 10 00",
        .source = "docs/PROTOCOLS.md section 2, vectors [checked]",
        .meaning = "pay 10.00",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_PURCHASE, .result = ANY, .code = ANY, .amount = 1000, .currency = ANY,
    },
    {
        .apdu = "04 0F 02 27 00",
        .source = "docs/PROTOCOLS.md section 2, vectors [checked]",
        .meaning = "minimal approved status information",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = PB_DIR_PT,
        .txn = ANY, .result = PB_RESULT_APPROVED, .code = 0x00, .amount = NONE,
        .currency = ANY,
    },
    {
        .apdu = "04 FF 01 0A",
        .source = "docs/PROTOCOLS.md section 2, vectors [checked]",
        .meaning = "intermediate status insert card",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_INTERMEDIATE, .dir = PB_DIR_PT,
        .txn = ANY, .result = ANY, .code = 0x0A, .amount = ANY, .currency = ANY,
        .text = "insert card",
    },
    {
        .apdu = "06 0F 00",
        .source = "docs/PROTOCOLS.md section 2, vectors [checked]",
        .meaning = "completion, no data",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_COMPLETION, .dir = PB_DIR_PT,
        .txn = ANY, .result = PB_RESULT_NONE, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 1E 01 6C",
        .source = "docs/PROTOCOLS.md section 2, vectors [checked]",
        .meaning = "abort 6C",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_ABORT, .dir = PB_DIR_PT,
        .txn = ANY, .result = PB_RESULT_ABORTED, .code = 0x6C, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 01 0E 02 01 04 00 00 00 00 10 00 19 44 49 09 78",
        .source = "docs/PROTOCOLS.md section 2, vectors [checked]; ecrterm tests/test_parsing.py "
                  "PACKET_LIST[4]",
        .meaning = "pay 10.00, max status infos 1, payment type 44, EUR",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = ANY,
        .txn = PB_TXN_PURCHASE, .result = ANY, .code = ANY, .amount = 1000, .currency = 978,
    },
    {
        .apdu = "06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing.py test_version_completion",
        .meaning = "completion after status enquiry, SW version 2.14.15, status 00",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_COMPLETION, .dir = PB_DIR_PT,
        .txn = ANY, .result = PB_RESULT_NONE, .code = 0x00, .amount = ANY, .currency = ANY,
        .text = "2.14.15",
    },
    {
        .apdu = "06 D1 17 00 20 20 20 20 20 20 20 20 20 4B 61 73 73 65 6E 73 63 68 6E 69 74 74",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing.py PACKET_LIST[0]",
        .meaning = "print line 'Kassenschnitt'",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = PB_DIR_PT,
        .txn = ANY, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "         Kassenschnitt",
    },
    {
        .apdu = "04 0F 37 27 00 04 00 00 00 00 40 00 49 09 78 0C 09 38 48 0D 04 25 22 F1 F1 59 66 "
                "66 66 66 D2 00 21 22 01 00 17 00 01 87 01 75 0B 61 39 95 19 40 29 60 09 99 14 0E "
                "05 12 8A 02",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing.py PACKET_LIST[1]",
        .meaning = "status information: approved, 40.00 EUR, receipt 0175, trace 613995, TID "
                   "60099914",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = ANY, .txn = ANY,
        .result = PB_RESULT_APPROVED, .code = 0x00, .amount = 4000, .currency = 978,
        .receipt = "0175",
        .trace = "613995",
        .tid = "60099914",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 00 63 00 00 00 FE 09 78 03 00 06 59 10 02 16 02 12 01 40 1A 02 10 00 26 28 0A "
                "02 04 0F 0A 02 06 0F 0A 02 06 1E 0A 02 04 FF 0A 02 06 D8 0A 02 06 DB 0A 02 06 D9 "
                "0A 02 06 DA 0A 02 06 DD 0A 02 06 D3 27 03 14 01 FF 28 10 15 02 44 45 15 02 45 4E "
                "15 02 46 52 15 02 49 54 40 02 C0 00 1F 04 02 F1 00 1F 05 01 00",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing.py PACKET_LIST[2]",
        .meaning = "registration, password 000000, config FE, EUR, service byte 00, TLV (permitted"
                   " commands, languages, ...)",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_REGISTRATION, .result = ANY, .code = ANY, .amount = ANY, .currency = 978,
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 0F 11 19 00 29 52 00 12 33 49 09 78 06 05 27 03 14 01 FF",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing.py PACKET_LIST[3]",
        .meaning = "completion of registration: status 00, TID 52001233, EUR, TLV",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_COMPLETION, .dir = ANY,
        .txn = ANY, .result = ANY, .code = ANY, .amount = ANY, .currency = 978,
        .tid = "52001233",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "04 FF 1E 0A 01 06 1A 24 18 07 16 42 69 74 74 65 20 4B 61 72 74 65 20 65 69 6E 73 "
                "74 65 63 6B 65 6E",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing.py PACKET_LIST[5]",
        .meaning = "intermediate status 0A, timeout 01, TLV 24/07 'Bitte Karte einstecken'",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_INTERMEDIATE, .dir = ANY,
        .txn = ANY, .result = ANY, .code = 0x0A, .amount = ANY, .currency = ANY,
        .text = "insert card",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "04 0F A1 27 00 04 00 00 00 00 00 01 49 09 78 0C 12 23 06 0D 06 29 22 F0 F8 47 48 "
                "43 EE EE EE 77 43 87 00 02 3B 38 38 39 31 35 30 00 00 0B 00 07 32 19 60 29 42 00 "
                "30 36 0E 18 01 8A 0A 8C 03 8B F0 F5 56 49 53 41 00 2A 34 35 35 36 30 30 30 30 30 "
                "35 39 39 20 20 20 3C F0 F7 F3 41 53 2D 54 49 44 20 3D 20 31 33 46 30 30 30 31 33 "
                "0D 41 53 2D 50 72 6F 63 2D 43 6F 64 65 20 3D 20 32 30 20 39 30 33 20 30 30 0D 43 "
                "61 70 74 2E 2D 52 65 66 2E 3D 20 30 30 30 30 0D 41 49 44 35 39 3A 20 38 30 39 32 "
                "35 38",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing.py PACKET_LIST[6]",
        .meaning = "status information with BMP 8C then 8B VISA, 2A, 3C: approved 0.01 EUR, PAN "
                   "474843******7743, trace 000732, TID 42003036, receipt 0002, AID 889150",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = ANY, .txn = ANY,
        .result = PB_RESULT_APPROVED, .code = ANY, .amount = 1, .currency = 978,
        .receipt = "0002",
        .trace = "000732",
        .tid = "42003036",
        .pan = "474843******7743",
        .auth = "889150",
        .text = "AS-TID = 13F00013.AS-Proc-Code = 20 903 00.Capt.-Ref.= 0000.AID",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "04 0F CE 27 00 04 00 00 00 00 10 00 49 09 78 0C 12 30 05 0D 06 29 22 F0 F8 47 48 "
                "43 EE EE EE 77 43 87 00 02 3B 38 38 39 31 35 30 00 00 0B 00 07 33 19 60 29 42 00 "
                "30 36 0E 18 01 8A 0A 8C 03 8B F0 F5 56 49 53 41 00 2A 34 35 35 36 30 30 30 30 30 "
                "35 39 39 20 20 20 3C F0 F7 F3 41 53 2D 54 49 44 20 3D 20 31 33 46 30 30 30 31 33 "
                "0D 41 53 2D 50 72 6F 63 2D 43 6F 64 65 20 3D 20 32 30 20 39 30 33 20 30 30 0D 43 "
                "61 70 74 2E 2D 52 65 66 2E 3D 20 30 30 30 30 0D 41 49 44 35 39 3A 20 38 30 39 32 "
                "35 38 06 2B 41 02 00 0A 49 02 00 03 15 02 44 45 60 0F 42 04 56 49 53 41 43 07 A0 "
                "00 00 00 03 10 10 2F 0C 1F 10 01 00 1F 11 01 01 1F 12 01 02",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing.py PACKET_LIST[7]",
        .meaning = "as above with 10.00 EUR and a TLV after BMP 3C (41, 49, 15, 60 with 42 VISA / "
                   "43 AID, 2F)",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = ANY, .txn = ANY,
        .result = PB_RESULT_APPROVED, .code = ANY, .amount = 1000, .currency = 978,
        .receipt = "0002",
        .trace = "000733",
        .pan = "474843******7743",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 D3 FF E3 03 06 82 03 DF 1F 07 01 02 25 82 03 D7 07 00 07 28 20 20 20 20 20 20 "
                "20 20 20 20 20 2A 2A 20 4B 75 6E 64 65 6E 62 65 6C 65 67 20 2A 2A 20 20 20 20 20 "
                "20 20 20 20 20 20 20 07 00 07 28 20 20 20 20 20 20 20 20 20 20 20 20 20 42 65 7A "
                "61 68 6C 75 6E 67 20 56 49 53 41 20 20 20 20 20 20 20 20 20 20 20 20 20 07 00 07 "
                "28 32 39 2E 30 36 2E 32 30 31 39 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 "
                "20 20 20 20 20 20 31 32 3A 35 34 3A 34 35 07 28 54 65 72 6D 69 6E 61 6C 2D 49 44 "
                "3A 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 34 32 30 30 33 30 "
                "33 36 07 28 54 41 2D 4E 72 2E 3A 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 "
                "20 20 20 20 20 20 20 20 20 20 20 30 30 30 37 34 31 07 28 42 65 6C 65 67 2D 4E 72 "
                "2E 3A 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 "
                "20 30 30 30 36 07 28 56 6F 72 67 61 6E 67 73 2D 4E 72 2E 3A 20 20 20 20 20 20 20 "
                "20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 30 30 32 34 07 28 56 55 2D 4E 75 "
                "6D 6D 65 72 3A 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 34 35 35 36 "
                "30 30 30 30 30 35 39 39 07 28 41 70 70 2D 49 44 3A 20 20 20 20 20 20 20 20 20 20 "
                "20 20 20 20 20 20 20 20 20 41 30 30 30 30 30 30 30 30 33 31 30 31 30 07 28 4B 61 "
                "72 74 65 6E 2D 4E 72 2E 3A 20 20 20 20 20 20 20 20 20 20 20 20 20 78 78 78 78 78 "
                "78 78 78 78 78 78 78 37 37 34 33 07 28 4B 61 72 74 65 6E 66 6F 6C 67 65 2D 4E 72 "
                "2E 3A 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 30 30 07 "
                "28 45 72 66 61 73 73 75 6E 67 73 61 72 74 3A 20 20 20 20 20 20 20 20 20 20 20 20 "
                "20 20 20 20 4B 6F 6E 74 61 6B 74 6C 6F 73 07 28 41 75 74 6F 72 2D 4E 72 2E 3A 20 "
                "20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 38 38 39 31 "
                "35 30 07 28 41 49 44 2D 50 61 72 61 6D 65 74 65 72 3A 20 20 20 20 20 20 20 20 20 "
                "20 20 20 20 20 20 20 31 32 41 42 30 33 30 34 30 35 07 00 07 28 42 65 74 72 61 67 "
                "3A 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 45 55 52 20 30 2C 30 31 20 20 20 "
                "20 20 20 20 20 20 20 07 00 07 00 07 28 20 20 20 20 20 20 20 20 20 20 20 20 5A 61 "
                "68 6C 75 6E 67 20 65 72 66 6F 6C 67 74 20 20 20 20 20 20 20 20 20 20 20 20 20 07 "
                "00 07 28 20 20 20 20 20 20 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D "
                "2D 2D 2D 2D 2D 2D 2D 2D 2D 20 20 20 20 20 20 20 07 28 49 6E 66 6F 3A 20 20 20 20 "
                "20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 "
                "20 20 20 20 07 28 41 53 2D 54 49 44 20 3D 20 31 33 46 30 30 30 31 33 20 20 20 20 "
                "20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 07 28 41 53 2D 50 72 6F "
                "63 2D 43 6F 64 65 20 3D 20 32 30 20 39 30 33 20 30 30 20 20 20 20 20 20 20 20 20 "
                "20 20 20 20 20 20 20 07 28 43 61 70 74 2E 2D 52 65 66 2E 3D 20 30 30 30 30 20 20 "
                "20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 07 28 41 49 44 "
                "35 39 3A 20 38 30 39 32 35 38 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 "
                "20 20 20 20 20 20 20 20 20 20 07 28 20 20 20 20 20 20 2D 2D 2D 2D 2D 2D 2D 2D 2D "
                "2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 20 20 20 20 20 20 20 09 01 "
                "FF",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing.py PACKET_LIST[8]",
        .meaning = "print text block: customer receipt (1F07 = 02), 'Kundenbeleg', 'Bezahlung "
                   "VISA', ...",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = PB_DIR_PT,
        .txn = ANY, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "           ** Kundenbeleg **",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "04 FF 14 0A 01 06 10 24 0E 07 0C 54 65 73 74 20 84 20 94 20 81 20 E1",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing.py test_text_encoding_tlv",
        .meaning = "intermediate status 0A with TLV 24/07 text 'Test ä ö ü ß' (CP437)",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_INTERMEDIATE, .dir = ANY,
        .txn = ANY, .result = ANY, .code = 0x0A, .amount = ANY, .currency = ANY,
        .text = "insert card",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 D1 0D 00 54 65 73 74 20 84 20 94 20 81 20 E1",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing.py test_text_encoding_default",
        .meaning = "print line 'Test ä ö ü ß' (CP437)",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "Test . . . .",
    },
    {
        .apdu = "06 D1 0D 00 54 65 73 74 20 E4 20 F6 20 FC 20 DF",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing.py test_text_encoding_latin1",
        .meaning = "print line 'Test ä ö ü ß' (Latin-1)",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "Test . . . .",
    },
    {
        .apdu = "06 D1 0D 00 54 65 73 74 20 7B 20 7C 20 7D 20 7E",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing.py test_text_encoding_zvt_7bit",
        .meaning = "print line 'Test ä ö ü ß' (ZVT 7-bit: { | } ~)",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "Test { | } ~",
    },
    {
        .apdu = "06 1E 2E 6C 06 2B 1F 16 05 FF 00 00 14 41 1F 17 20 41 62 62 72 75 63 68 20 64 75 "
                "72 63 68 20 65 78 74 65 72 6E 65 73 20 4B 6F 6D 6D 61 6E 64 6F 21",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing_abort.py "
                  "test_abort_by_external_command",
        .meaning = "abort 6C, TLV 1F16 ff00001441, 1F17 'Abbruch durch externes Kommando!'",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_ABORT, .dir = PB_DIR_PT,
        .txn = ANY, .result = PB_RESULT_ABORTED, .code = 0x6C, .amount = ANY, .currency = ANY,
        .text = "Abbruch durch externes Kommando!",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 0F 89 F0 F4 F0 47 45 52 2D 41 50 50 2D 76 32 2E 30 2E 39 3B 63 52 30 32 2E 30 "
                "31 2E 30 31 2D 30 30 2E 30 39 2D 32 2D 32 3B 43 43 32 36 00 06 5B 1F 44 04 52 50 "
                "02 45 E4 43 1F 40 0A 63 56 45 4E 44 20 62 6F 78 2B 1F 41 28 47 45 52 2D 41 50 50 "
                "2D 76 32 2E 30 2E 39 3B 63 52 30 32 2E 30 31 2E 30 31 2D 30 30 2E 30 39 2D 32 2D "
                "32 3B 43 43 32 36 1F 42 04 11 E9 30 EC 1F 43 01 00 34 0D 1F 0E 04 20 23 06 22 1F "
                "0F 03 08 55 56",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing_completion.py test_completion",
        .meaning = "completion: SW version 'GER-APP-v2.0.9;cR02.01.01-00.09-2-2;CC26', status 00 "
                   "(PT ready), TLV E4 device info (1F40 'cVEND box+', 1F42 serial 11e930ec)",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_COMPLETION, .dir = ANY,
        .txn = ANY, .result = PB_RESULT_NONE, .code = 0x00, .amount = ANY, .currency = ANY,
        .text = "GER-APP-v2.0.9;cR02.01.01-00.09-2-2;CC26",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 1E 04 B8 87 FF FF",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing_open_reservation_responses.py "
                  "test_open_reservations_response_no_receipt_numbers",
        .meaning = "abort B8, receipt FFFF: no open reservations",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_ABORT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = 0xB8, .amount = ANY, .currency = ANY,
        .receipt = "",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 1E 04 B8 87 01 23",
        .source = "wirelane/ecrterm ecrterm/tests/test_parsing_open_reservation_responses.py "
                  "test_open_reservations_response_receipt",
        .meaning = "abort B8, open reservation receipt 0123",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_ABORT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = 0xB8, .amount = ANY, .currency = ANY,
        .receipt = "0123",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 02 00",
        .source = "wirelane/ecrterm ecrterm/tests/test_apdu.py test_parse_simple",
        .meaning = "log-off",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_LOGOFF, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 93 03 99 99 99",
        .source = "wirelane/ecrterm ecrterm/tests/test_apdu.py test_parse_fixed",
        .meaning = "initialisation, password 999999",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_OTHER, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 00 04 98 76 54 41",
        .source = "wirelane/ecrterm ecrterm/tests/test_apdu.py test_parse_fixed_no_optional",
        .meaning = "registration, password 987654, config 41, no currency",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = ANY,
        .txn = PB_TXN_REGISTRATION, .result = ANY, .code = ANY, .amount = ANY, .currency = 0,
    },
    {
        .apdu = "06 00 06 98 76 54 41 09 78",
        .source = "wirelane/ecrterm ecrterm/tests/test_apdu.py test_parse_fixed_with_optional",
        .meaning = "registration with currency 978",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = ANY,
        .txn = PB_TXN_REGISTRATION, .result = ANY, .code = ANY, .amount = ANY, .currency = 978,
    },
    {
        .apdu = "06 02 03 22 F0 E0",
        .source = "wirelane/ecrterm ecrterm/tests/test_apdu.py test_parse_error",
        .meaning = "parse error: LL length F0 E0",
        .given = PB_DIR_UNKNOWN, .rc = PB_ERR_RANGE, .kind = PB_KIND_OTHER, .dir = ANY,
        .txn = ANY, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .set = PB_F_MALFORMED,
    },
    {
        .apdu = "06 0F 07 F0 F0 F3 62 6C 61 00",
        .source = "wirelane/ecrterm ecrterm/tests/test_apdu.py test_parse_cursed_completion c1",
        .meaning = "completion: SW version 'bla', status 00",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_COMPLETION, .dir = ANY,
        .txn = ANY, .result = ANY, .code = 0x00, .amount = ANY, .currency = ANY,
        .text = "bla",
    },
    {
        .apdu = "06 0F 07 F0 F0 F3 62 6C 61 06",
        .source = "wirelane/ecrterm ecrterm/tests/test_apdu.py test_parse_cursed_completion c2",
        .meaning = "completion: SW version 'bla', status 06, no TLV",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_COMPLETION, .dir = ANY,
        .txn = ANY, .result = ANY, .code = 0x06, .amount = ANY, .currency = ANY,
        .text = "bla",
    },
    {
        .apdu = "06 0F 09 F0 F0 F3 62 6C 61 06 06 00",
        .source = "wirelane/ecrterm ecrterm/tests/test_apdu.py test_parse_cursed_completion c3",
        .meaning = "completion: 'bla', status 06, empty TLV",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_COMPLETION, .dir = ANY,
        .txn = ANY, .result = ANY, .code = 0x06, .amount = ANY, .currency = ANY,
        .text = "bla",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 0F 01 06",
        .source = "wirelane/ecrterm ecrterm/tests/test_apdu.py test_parse_cursed_completion c4",
        .meaning = "completion: status 06 only",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_COMPLETION, .dir = ANY,
        .txn = ANY, .result = ANY, .code = 0x06, .amount = ANY, .currency = ANY,
        .text = "",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 0F 03 06 06 00",
        .source = "wirelane/ecrterm ecrterm/tests/test_apdu.py test_parse_cursed_completion c5",
        .meaning = "completion: status 06, empty TLV",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_COMPLETION, .dir = ANY,
        .txn = ANY, .result = ANY, .code = 0x06, .amount = ANY, .currency = ANY,
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 50 17 12 34 56 06 12 3F 21 0C 60 06 55 01 AA 05 01 BB 10 02 AB BA 11 01 77",
        .source = "wirelane/ecrterm ecrterm/tests/test_apdu.py test_parse_with_tlv",
        .meaning = "end of day, password 123456, TLV 11=77, 3F21{60{55=aa,05=bb},10=abba}",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = ANY,
        .txn = PB_TXN_END_OF_DAY, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 01 08 06 06 F2 04 C1 02 12 23",
        .source = "wirelane/ecrterm ecrterm/tests/test_apdu.py test_create_tlv",
        .meaning = "authorisation with TLV F2{C1=1223}, no amount",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = ANY,
        .txn = PB_TXN_PURCHASE, .result = ANY, .code = ANY, .amount = NONE, .currency = ANY,
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 23 03 87 FF FF",
        .source = "wirelane/ecrterm ecrterm/tests/test_apdu.py "
                  "test_create_open_reservations_enquiry_packet; spec PA00P015 2.10.1",
        .meaning = "enquire if pre-authorisations exist: 06 23 03 87 FF FF",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_STATUS, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .receipt = "",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "08 14 1D 00 00 00 06 18 2D 0A 1D 01 20 1F 00 04 00 00 00 08 2D 0A 1D 01 21 1F 00 "
                "04 00 00 00 0B",
        .source = "wirelane/ecrterm ecrterm/tests/test_apdu.py WriteFiles serialisation",
        .meaning = "write file, password 000000, two files (2D{1D id, 1F00 size})",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_OTHER, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .clear = PB_F_RAW,
    },
    {
        .apdu = "04 0F 1E 27 6C 29 28 00 48 69 3C F0 F1 F9 41 62 62 72 75 63 68 20 64 75 72 63 68 "
                "20 4B 75 6E 64 65",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/StatusInformationParserTest.cs "
                  "Parse_AbortByKey",
        .meaning = "error 6C abort, TID 28004869, text 'Abbruch durch Kunde'",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = ANY, .txn = ANY,
        .result = PB_RESULT_ABORTED, .code = 0x6C, .amount = ANY, .currency = ANY,
        .tid = "28004869",
        .text = "Abbruch durch Kunde",
    },
    {
        .apdu = "04 0F 18 27 FF 29 28 00 48 69 3C F0 F1 F3 42 65 74 72 61 67 20 66 61 6C 73 63 68",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/StatusInformationParserTest.cs "
                  "Parse_SystemError",
        .meaning = "error FF system error, TID 28004869, text 'Betrag falsch'",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = ANY, .txn = ANY,
        .result = PB_RESULT_DECLINED, .code = 0xFF, .amount = ANY, .currency = ANY,
        .tid = "28004869",
        .text = "Betrag falsch",
    },
    {
        .apdu = "04 0F 77 27 00 04 00 00 00 00 20 40 0B 00 04 70 0C 22 39 53 0D 10 06 0E 25 12 17 "
                "00 01 19 70 22 F0 F8 EE EE EE EE EE EE 47 71 29 28 00 48 69 2A 31 30 30 34 36 31 "
                "37 36 33 20 20 20 20 20 20 3B 36 31 31 38 30 34 00 00 3C F0 F1 F4 47 45 4E 2E 4E "
                "52 2E 3A 36 31 31 38 30 34 49 09 78 87 04 70 88 00 04 70 8A 2E 8B F1 F7 44 65 62 "
                "69 74 20 4D 61 73 74 65 72 63 61 72 64 00",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/StatusInformationParserTest.cs "
                  "Parse_PaymentGood1",
        .meaning = "approved 20.40 EUR, card ************4771, TID 28004869, turnover 470, text "
                   "'GEN.NR.:611804', Debit Mastercard",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = ANY, .txn = ANY,
        .result = PB_RESULT_APPROVED, .code = 0x00, .amount = 2040, .currency = 978,
        .receipt = "0470",
        .trace = "000470",
        .tid = "28004869",
        .pan = "************4771",
        .auth = "611804",
        .text = "GEN.NR.:611804",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "04 0F 77 27 00 04 00 00 00 00 20 40 0B 00 04 63 0C 21 04 43 0D 10 06 0E 25 12 17 "
                "00 01 19 70 22 F0 F8 EE EE EE EE EE EE 47 71 29 28 00 48 69 2A 31 30 30 34 36 31 "
                "37 36 33 20 20 20 20 20 20 3B 39 37 38 35 33 39 00 00 3C F0 F1 F4 47 45 4E 2E 4E "
                "52 2E 3A 39 37 38 35 33 39 49 09 78 87 04 63 88 00 04 63 8A 2E 8B F1 F7 44 65 62 "
                "69 74 20 4D 61 73 74 65 72 63 61 72 64 00",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/StatusInformationParserTest.cs "
                  "Parse_PaymentGood2",
        .meaning = "approved 20.40 EUR, TID 28004869, text 'GEN.NR.:978539'",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = ANY, .txn = ANY,
        .result = PB_RESULT_APPROVED, .code = ANY, .amount = 2040, .currency = ANY,
        .trace = "000463",
        .tid = "28004869",
        .text = "GEN.NR.:978539",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "04 0F E2 27 00 04 00 00 00 00 01 00 0B 00 06 07 0C 15 48 58 0D 02 01 0E 25 12 17 "
                "00 01 19 70 22 F0 F8 EE EE EE EE EE EE 47 71 29 28 00 48 69 2A 31 30 30 34 36 31 "
                "37 36 33 20 20 20 20 20 20 37 00 06 06 3B 37 31 35 36 39 31 00 00 3C F0 F1 F4 47 "
                "45 4E 2E 4E 52 2E 3A 37 31 35 36 39 31 49 09 78 87 06 07 88 00 06 07 8A 2E 8B F1 "
                "F7 44 65 62 69 74 20 4D 61 73 74 65 72 63 61 72 64 00 06 65 24 10 07 0E 47 45 4E "
                "2E 4E 52 2E 3A 37 31 35 36 39 31 43 07 A0 00 00 00 04 10 10 46 1F 41 30 30 30 30 "
                "30 30 30 30 34 31 30 31 30 20 42 31 44 37 33 34 35 43 31 46 32 44 33 35 35 42 47 "
                "1F 41 30 30 30 30 30 30 30 30 34 31 30 31 30 20 42 31 44 37 33 34 35 43 31 46 32 "
                "44 33 35 35 42 1F 10 01 FF 1F 12 01 02",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/StatusInformationParserTest.cs "
                  "Parse_ReversalGood1",
        .meaning = "reversal approved 1.00, trace 607, TID 28004869, NFC, text 'GEN.NR.:715691'",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = ANY, .txn = ANY,
        .result = PB_RESULT_APPROVED, .code = ANY, .amount = 100, .currency = ANY,
        .receipt = "0607",
        .trace = "000607",
        .tid = "28004869",
        .text = "GEN.NR.:715691",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "04 0F 65 27 00 0C 23 13 55 0D 10 29 0E 99 99 22 F0 F8 EE EE EE EE EE EE 47 71 A0 "
                "01 29 00 00 00 06 87 00 08 0B 00 00 00 8A 06 8B F1 F1 4D 41 53 54 45 52 43 41 52 "
                "44 00 06 2E 2F 08 1F 12 01 02 1F 10 01 00 60 1B 43 07 A0 00 00 00 04 10 10 44 10 "
                "44 65 62 69 74 20 4D 61 73 74 65 72 63 61 72 64 1F 2B 04 10 01 50 08",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/StatusInformationParserTest.cs "
                  "Parse_TlvInfos1",
        .meaning = "approved, card name MASTERCARD, TID 6, 29.10., AID A0000000041010 (TLV)",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = ANY, .txn = ANY,
        .result = PB_RESULT_APPROVED, .code = 0x00, .amount = NONE, .currency = ANY,
        .receipt = "0008",
        .tid = "00000006",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "04 0F 6C 27 00 04 00 00 00 00 20 40 0C 21 09 16 0D 11 01 0E 99 99 22 F0 F8 EE EE "
                "EE EE EE EE 47 71 A0 01 29 00 00 00 06 87 00 05 0B 00 00 00 8A 06 8B F1 F1 4D 41 "
                "53 54 45 52 43 41 52 44 00 06 2E 2F 08 1F 12 01 01 1F 10 01 03 60 1B 43 07 A0 00 "
                "00 00 04 10 10 44 10 44 65 62 69 74 20 4D 61 73 74 65 72 63 61 72 64 1F 2B 04 10 "
                "01 60 05",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/StatusInformationParserTest.cs "
                  "Parse_TlvInfos2",
        .meaning = "approved 20.40, card name MASTERCARD, TID 6, chip, offline PIN",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = ANY, .txn = ANY,
        .result = PB_RESULT_APPROVED, .code = ANY, .amount = 2040, .currency = ANY,
        .receipt = "0005",
        .tid = "00000006",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 D3 FF 8E 02 06 82 02 8A 1F 07 01 02 25 82 02 82 07 18 20 20 4C 65 69 68 73 74 "
                "65 6C 6C 75 6E 67 20 76 6F 6E 20 68 6F 62 65 78 07 16 20 20 20 20 20 66 81 72 20 "
                "50 4F 52 54 41 4C 55 4D 20 47 6D 62 48 07 12 20 20 20 20 20 20 20 20 48 65 72 72 "
                "20 54 65 73 74 31 07 15 20 20 20 20 20 5A 56 54 20 54 43 50 2F 49 50 2C 20 44 48 "
                "43 50 07 1B 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D "
                "2D 2D 2D 2D 07 1B 31 39 2E 31 30 2E 32 30 32 31 20 20 20 20 20 20 20 20 20 31 33 "
                "3A 33 30 3A 30 34 07 1B 30 30 30 30 30 31 33 20 20 20 20 30 30 30 34 20 20 20 20 "
                "20 20 30 30 30 30 30 31 07 13 20 20 20 20 20 20 20 20 4B 55 4E 44 45 4E 42 45 4C "
                "45 47 07 1B 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D "
                "2D 2D 2D 2D 07 12 54 65 72 6D 69 6E 61 6C 3A 20 41 48 30 30 30 30 30 36 07 11 42 "
                "65 6C 65 67 23 20 20 3A 20 48 30 30 34 30 30 31 07 12 4C 3A 2A 2A 2A 2A 2A 2A 2A "
                "2A 2A 2A 2A 2A 30 30 30 30 07 13 41 49 44 3A 20 41 30 30 30 30 30 30 30 30 34 31 "
                "30 31 30 07 11 4B 61 72 74 65 3A 20 4D 41 53 54 45 52 43 41 52 44 07 18 41 70 70 "
                "2E 20 20 3A 20 44 65 62 69 74 20 4D 61 73 74 65 72 63 61 72 64 07 13 20 20 20 20 "
                "20 20 20 20 43 6F 6E 74 61 63 74 6C 65 73 73 07 04 4B 41 55 46 07 01 20 07 05 53 "
                "55 4D 4D 45 07 12 20 20 20 20 20 20 20 20 20 45 55 52 3A 20 31 2C 30 30 07 01 20 "
                "07 1B 54 72 61 63 65 23 3A 20 20 20 20 20 20 20 20 20 20 20 20 31 30 30 30 34 30 "
                "30 31 07 01 20 07 09 52 65 66 65 72 65 6E 7A 3A 07 01 20 07 1A 20 41 75 74 6F 72 "
                "69 73 69 65 72 75 6E 67 73 63 6F 64 65 3A 33 36 37 36 35 35 07 11 20 20 20 20 20 "
                "20 20 20 20 28 52 43 20 30 30 31 29 07 14 20 20 20 20 47 65 6E 65 68 6D 69 67 74 "
                "20 33 36 37 36 35 35 07 10 20 20 20 20 20 20 20 30 30 31 30 30 34 30 30 31 07 01 "
                "20 07 19 20 41 56 3A 20 2B 30 34 2E 30 37 20 28 4A 75 6E 20 31 31 20 32 30 32 31 "
                "29 07 1B 54 49 3A 20 45 20 44 54 3A 20 30 2F 30 2F 20 4F 46 3A 20 30 2F 30 2F 20 "
                "43 47 3A 07 0F 20 20 20 20 20 20 20 20 20 20 20 31 2F 30 2F 07 01 20 07 01 20 07 "
                "01 20 07 01 20 07 01 20 09 01 81",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/PrintTextBlockTest.cs "
                  "Parse_CardholderReceipt",
        .meaning = "print text block, receipt type cardholder (1F07 = 02)",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = PB_DIR_PT,
        .txn = ANY, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "  Leihstellung von hobex",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 D3 FF A4 02 06 82 02 A0 1F 07 01 01 25 82 02 98 07 18 20 20 4C 65 69 68 73 74 "
                "65 6C 6C 75 6E 67 20 76 6F 6E 20 68 6F 62 65 78 07 16 20 20 20 20 20 66 81 72 20 "
                "50 4F 52 54 41 4C 55 4D 20 47 6D 62 48 07 12 20 20 20 20 20 20 20 20 48 65 72 72 "
                "20 54 65 73 74 31 07 15 20 20 20 20 20 5A 56 54 20 54 43 50 2F 49 50 2C 20 44 48 "
                "43 50 07 1B 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D "
                "2D 2D 2D 2D 07 1B 31 39 2E 31 30 2E 32 30 32 31 20 20 20 20 20 20 20 20 20 31 33 "
                "3A 33 30 3A 30 34 07 1B 30 30 30 30 30 31 33 20 20 20 20 30 30 30 34 20 20 20 20 "
                "20 20 30 30 30 30 30 31 07 13 20 20 20 20 20 20 20 48 8E 4E 44 4C 45 52 42 45 4C "
                "45 47 07 1B 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D "
                "2D 2D 2D 2D 07 12 54 65 72 6D 69 6E 61 6C 3A 20 41 48 30 30 30 30 30 36 07 11 42 "
                "65 6C 65 67 23 20 20 3A 20 48 30 30 34 30 30 31 07 12 4C 3A 2A 2A 2A 2A 2A 2A 2A "
                "2A 2A 2A 2A 2A 30 30 30 30 07 13 41 49 44 3A 20 41 30 30 30 30 30 30 30 30 34 31 "
                "30 31 30 07 11 4B 61 72 74 65 3A 20 4D 41 53 54 45 52 43 41 52 44 07 18 41 70 70 "
                "2E 20 20 3A 20 44 65 62 69 74 20 4D 61 73 74 65 72 63 61 72 64 07 13 20 20 20 20 "
                "20 20 20 20 43 6F 6E 74 61 63 74 6C 65 73 73 07 04 4B 41 55 46 07 01 20 07 05 53 "
                "55 4D 4D 45 07 12 20 20 20 20 20 20 20 20 20 45 55 52 3A 20 31 2C 30 30 07 01 20 "
                "07 1B 54 72 61 63 65 23 3A 20 20 20 20 20 20 20 20 20 20 20 20 31 30 30 30 34 30 "
                "30 31 07 01 20 07 09 52 65 66 65 72 65 6E 7A 3A 07 01 20 07 1A 20 41 75 74 6F 72 "
                "69 73 69 65 72 75 6E 67 73 63 6F 64 65 3A 33 36 37 36 35 35 07 11 20 20 20 20 20 "
                "20 20 20 20 28 52 43 20 30 30 31 29 07 14 20 20 20 20 47 65 6E 65 68 6D 69 67 74 "
                "20 33 36 37 36 35 35 07 10 20 20 20 20 20 20 20 30 30 31 30 30 34 30 30 31 07 01 "
                "20 07 11 20 20 20 20 20 20 20 20 20 4B 45 49 4E 20 43 56 4D 07 01 20 07 19 20 41 "
                "56 3A 20 2B 30 34 2E 30 37 20 28 4A 75 6E 20 31 31 20 32 30 32 31 29 07 1B 54 49 "
                "3A 20 45 20 44 54 3A 20 30 2F 30 2F 20 4F 46 3A 20 30 2F 30 2F 20 43 47 3A 07 0F "
                "20 20 20 20 20 20 20 20 20 20 20 31 2F 30 2F 07 01 20 07 01 20 07 01 20 07 01 20 "
                "07 01 20 09 01 81",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/PrintTextBlockTest.cs "
                  "Parse_MerchantReceipt",
        .meaning = "print text block, receipt type merchant (1F07 = 01)",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "  Leihstellung von hobex",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 D3 AC 06 81 A9 1F 07 01 03 25 81 A2 07 1B 30 32 2E 31 31 2E 32 30 32 31 20 20 "
                "20 20 20 20 20 20 20 31 37 3A 30 35 3A 30 32 07 0C 54 49 44 3A 41 48 30 30 30 30 "
                "30 36 07 14 41 62 73 63 68 6C 75 73 73 20 2D 20 6B 65 69 6E 65 20 54 58 07 19 20 "
                "41 56 3A 20 2B 30 34 2E 30 37 20 28 4A 75 6E 20 31 31 20 32 30 32 31 29 07 1B 54 "
                "49 3A 20 45 20 44 54 3A 20 30 2F 30 2F 20 4F 46 3A 20 30 2F 30 2F 20 43 47 3A 07 "
                "0F 20 20 20 20 20 20 20 20 20 20 20 31 2F 30 2F 07 01 20 07 01 20 07 01 20 07 01 "
                "20 07 01 20 07 01 20 07 01 20 09 01 81",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/PrintTextBlockTest.cs "
                  "Parse_AdministrationReceipt",
        .meaning = "print text block, administration receipt, contains 'Abschluss - keine TX'",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "02.11.2021         17:05:02",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 D3 FF BD 04 06 82 04 B9 1F 07 01 01 1F 37 01 01 14 01 02 25 82 04 AA 09 01 00 "
                "07 21 20 20 20 20 54 53 53 20 54 65 6C 63 6F 20 53 61 6C 65 73 20 53 65 72 76 69 "
                "63 65 73 20 47 6D 62 48 07 19 20 20 20 20 20 20 20 20 20 20 20 20 4F 62 61 63 68 "
                "67 61 73 73 65 20 31 36 07 17 20 20 20 20 20 20 20 20 20 20 20 20 20 20 57 69 65 "
                "6E 20 31 32 32 30 07 26 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D "
                "2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 07 26 30 34 32 20 20 20 "
                "20 20 20 32 38 2E 30 32 2E 32 30 32 32 20 31 32 3A 32 34 3A 35 39 20 20 20 20 20 "
                "20 30 32 31 39 07 19 20 20 20 20 20 20 20 20 20 20 20 20 20 48 C4 4E 44 4C 45 52 "
                "42 45 4C 45 47 07 26 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D "
                "2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 07 16 20 20 20 20 20 20 20 "
                "20 20 20 20 20 20 20 20 43 6C 6F 73 75 72 65 07 00 07 26 48 C4 4E 44 4C 45 52 2D "
                "49 44 3A 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 37 33 31 30 30 30 30 "
                "30 30 38 07 26 54 45 52 4D 49 4E 41 4C 3A 20 20 20 20 20 20 20 20 20 20 20 20 20 "
                "20 20 20 20 20 20 20 20 31 30 30 30 30 30 35 38 07 11 42 61 74 63 68 2D 4E 75 6D "
                "6D 65 72 6E 3A 20 34 32 07 18 56 6F 6E 3A 20 32 31 2E 30 32 2E 32 30 32 32 20 30 "
                "38 3A 33 39 3A 30 33 07 18 42 69 73 3A 20 32 38 2E 30 32 2E 32 30 32 32 20 31 32 "
                "3A 32 34 3A 35 39 07 00 07 26 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 48 4F 53 "
                "54 53 55 4D 4D 45 4E 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 07 00 07 17 20 20 "
                "20 20 20 20 20 20 20 20 20 20 20 20 53 75 6D 6D 65 6E 20 4F 4B 07 25 54 65 72 6D "
                "69 6E 61 6C 73 75 6D 6D 65 6E 20 73 69 6E 64 20 67 6C 65 69 63 68 20 48 6F 73 74 "
                "73 75 6D 6D 65 6E 07 00 07 26 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 47 45 53 41 "
                "4D 54 53 55 4D 4D 45 4E 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 07 08 20 20 41 4E "
                "5A 41 48 4C 07 0D 42 45 54 52 41 47 57 C4 48 52 55 4E 47 07 26 2D 2D 2D 2D 2D 2D "
                "2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D "
                "2D 2D 2D 2D 2D 07 26 20 20 20 20 20 20 20 34 20 20 20 20 20 20 20 20 20 20 20 20 "
                "20 20 20 20 20 20 20 20 20 20 34 2E 31 32 20 45 55 52 07 00 07 26 2D 2D 2D 2D 2D "
                "2D 2D 2D 2D 2D 2D 2D 2D 2D 53 68 6F 72 74 20 4C 69 73 74 2D 2D 2D 2D 2D 2D 2D 2D "
                "2D 2D 2D 2D 2D 2D 07 00 07 00 07 26 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D "
                "2D 2D 56 49 53 41 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 07 26 45 55 "
                "52 20 20 20 20 20 20 20 20 20 20 41 4E 5A 41 48 4C 20 20 20 20 20 20 20 20 20 20 "
                "20 20 20 42 45 54 52 41 47 07 26 44 65 62 69 74 20 20 20 20 20 20 20 20 20 20 20 "
                "20 33 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 38 2E 32 34 07 26 4B 72 65 "
                "64 69 74 20 20 20 20 20 20 20 20 20 20 20 31 20 20 20 20 20 20 20 20 20 20 20 20 "
                "20 20 20 20 34 2E 31 32 07 26 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D "
                "2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 2D 07 26 47 65 73 61 "
                "6D 74 3A 20 20 20 20 20 20 20 20 20 20 34 20 20 20 20 20 20 20 20 20 20 20 20 20 "
                "20 20 20 34 2E 31 32 07 00 07 26 52 43 20 20 20 20 20 20 20 20 20 20 20 20 20 20 "
                "20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 30 30 37 07 00 07",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/PrintTextBlockTest.cs "
                  "Parse_CorruptReceipt",
        .meaning = "corrupt: length FF BD 04 (1213) exceeds the 1019 data bytes",
        .given = PB_DIR_UNKNOWN, .rc = PB_ERR_TRUNCATED, .kind = PB_KIND_OTHER, .dir = ANY,
        .txn = ANY, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .set = PB_F_MALFORMED,
    },
    {
        .apdu = "06 D1 14 40 2A 2A 20 4B 41 53 53 45 4E 53 43 48 4E 49 54 54 20 2A 2A",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/PrintLineTest.cs "
                  "ProcessData_LineReceived1",
        .meaning = "print line '** KASSENSCHNITT **', centred",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "** KASSENSCHNITT **",
    },
    {
        .apdu = "06 D1 01 40",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/PrintLineTest.cs "
                  "ProcessData_LineReceived1",
        .meaning = "empty centred line",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "",
    },
    {
        .apdu = "06 D1 01 81",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/PrintLineTest.cs "
                  "ProcessData_LineReceived1",
        .meaning = "last line of the receipt, empty",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "",
    },
    {
        .apdu = "06 0F 02 27 E0",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/PrintLineTest.cs "
                  "ProcessData_LineReceived1",
        .meaning = "completion with result code E0 after the receipt",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_COMPLETION, .dir = ANY,
        .txn = ANY, .result = ANY, .code = 0xE0, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 D1 14 40 54 45 53 54 20 50 6F 72 74 61 6C 75 6D 06 04 1F 07 01 01",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/PrintLineTest.cs "
                  "ProcessData_LineReceivedCardCompleteWithTlv",
        .meaning = "print line 'TEST Portalum', TLV 1F07 = 01 (merchant receipt) after the text",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "TEST Portalum",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 D1 07 40 06 04 1F 07 01 01",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/PrintLineTest.cs "
                  "ProcessData_LineReceivedCardCompleteWithTlv",
        .meaning = "empty line, TLV 1F07 = 01",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "",
    },
    {
        .apdu = "06 D1 1F 00 4E 72 3A 20 20 2A 2A 2A 2A 20 2A 2A 2A 2A 20 2A 2A 2A 2A 20 34 38 32 "
                "31 06 04 1F 07 01 01",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/PrintLineTest.cs "
                  "ProcessData_LineReceivedCardCompleteWithTlv",
        .meaning = "print line 'Nr:  **** **** **** 4821', TLV 1F07 = 01",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "Nr:  **** **** **** 4821",
    },
    {
        .apdu = "06 D1 19 40 2A 2A 20 48 C4 4E 44 4C 45 52 42 45 4C 45 47 20 2A 2A 06 04 1F 07 01 "
                "01",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/PrintLineTest.cs "
                  "ProcessData_LineReceivedCardCompleteWithTlv",
        .meaning = "print line '** HÄNDLERBELEG **' (CP437 C4), TLV 1F07 = 01",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_PRINT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .text = "** H.NDLERBELEG **",
    },
    {
        .apdu = "06 1E 00",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/ZvtClientTest.cs "
                  "EndOfDayAsync_CommandCompletionReceivedWithAbortReceived1",
        .meaning = "abort without a result code",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_ABORT, .dir = PB_DIR_PT,
        .txn = ANY, .result = PB_RESULT_NONE, .code = NONE, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 1E 01 64",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/ZvtClientTest.cs "
                  "EndOfDayAsync_CommandCompletionReceivedWithAbortReceived2",
        .meaning = "abort 64: card not readable",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_ABORT, .dir = ANY, .txn = ANY,
        .result = PB_RESULT_DECLINED, .code = 0x64, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "04 0F 25 27 05 29 29 00 02 74 3C F0 F0 F9 41 62 67 65 6C 65 68 6E 74 8A 06 06 0D "
                "24 0B 07 09 41 62 67 65 6C 65 68 6E 74",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/ZvtClientTest.cs "
                  "PaymentAsync_CardRejected",
        .meaning = "declined 05, TID 29000274, text 'Abgelehnt', card type 06 Mastercard",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = ANY, .txn = ANY,
        .result = PB_RESULT_DECLINED, .code = 0x05, .amount = ANY, .currency = ANY,
        .tid = "29000274",
        .text = "Abgelehnt",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 1E 01 05",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/ZvtClientTest.cs "
                  "PaymentAsync_CardRejected",
        .meaning = "abort 05 after the declined status information",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_ABORT, .dir = ANY, .txn = ANY,
        .result = PB_RESULT_DECLINED, .code = 0x05, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 01 09 04 00 00 00 00 33 00 02 0A",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/ZvtClientTest.cs "
                  "PaymentAsync_IssueOfGoods_DelayedSuccess",
        .meaning = "payment 33.00 with max. status infos 10 (issue of goods)",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = ANY,
        .txn = PB_TXN_PURCHASE, .result = ANY, .code = ANY, .amount = 3300, .currency = ANY,
    },
    {
        .apdu = "84 9C 00",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/ZvtClientTest.cs "
                  "PaymentAsync_IssueOfGoods_DelayedSuccess (ECR sends it)",
        .meaning = "ECR: issue of goods not finished, ask again",
        .given = PB_DIR_ECR, .rc = PB_OK, .kind = PB_KIND_APP_ACK, .dir = PB_DIR_ECR,
        .txn = ANY, .result = PB_RESULT_NONE, .code = 0x9C, .amount = NONE, .currency = ANY,
        .set = PB_F_GOODS,
    },
    {
        .apdu = "84 9D 07 04 00 00 00 00 22 00",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/ZvtClientTest.cs "
                  "PaymentAsync_IssueOfGoods_DelayedSuccess (ECR sends it)",
        .meaning = "ECR: partial issue of goods, book 22.00",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_APP_ACK, .dir = PB_DIR_ECR,
        .txn = ANY, .result = PB_RESULT_APPROVED, .code = 0x9D, .amount = 2200,
        .currency = ANY,
        .set = PB_F_GOODS | PB_F_PARTIAL,
    },
    {
        .apdu = "84 66 00",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/ZvtClientTest.cs "
                  "PaymentAsync_IssueOfGoods_DelayedFailure (ECR sends it)",
        .meaning = "ECR: goods not issued, the PT reverses",
        .given = PB_DIR_ECR, .rc = PB_OK, .kind = PB_KIND_APP_ACK, .dir = PB_DIR_ECR,
        .txn = ANY, .result = PB_RESULT_DECLINED, .code = 0x66, .amount = ANY, .currency = ANY,
        .set = PB_F_GOODS,
    },
    {
        .apdu = "80 00 00",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/ZvtCommunicationTest.cs "
                  "SendCommandAsync_CommandCompletionReceived",
        .meaning = "PT: positive completion",
        .given = PB_DIR_PT, .rc = PB_OK, .kind = PB_KIND_ACCEPTED, .dir = PB_DIR_PT,
        .txn = ANY, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "84 01 00",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/ZvtCommunicationTest.cs "
                  "SendCommandAsync_NegativeCompletionReceived",
        .meaning = "PT: negative completion, code 01",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REFUSED, .dir = PB_DIR_PT,
        .txn = ANY, .result = PB_RESULT_NOT_PROCESSED, .code = 0x01, .amount = ANY,
        .currency = ANY,
    },
    {
        .apdu = "84 83 00",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/ZvtCommunicationTest.cs "
                  "SendCommandAsync_NotSupported",
        .meaning = "PT: command not supported (83)",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REFUSED, .dir = PB_DIR_PT,
        .txn = ANY, .result = PB_RESULT_NOT_PROCESSED, .code = 0x83, .amount = ANY,
        .currency = ANY,
    },
    {
        .apdu = "04 FF 1E FF 10 06 1A 24 18 07 08 45 55 52 20 31 2E 32 33 07 0C 42 69 74 74 65 20 "
                "77 61 72 74 65 6E",
        .source = "Portalum/Portalum.Zvt "
                  "src/Portalum.Zvt.UnitTest/IntermediateStatusInformationParserTest.cs "
                  "GetMessage_TlvData (data block, framed here)",
        .meaning = "intermediate status FF, timeout 10, display texts 'EUR 1.23' / 'Bitte warten'",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_INTERMEDIATE, .dir = ANY,
        .txn = ANY, .result = ANY, .code = 0xFF, .amount = ANY, .currency = ANY,
        .text = "EUR 1.23",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "04 0F FF 01 00 6C",
        .source = "Portalum/Portalum.Zvt src/Portalum.Zvt.UnitTest/ApduHelperTest.cs "
                  "GetApduInfo_ExtendedLengthField1",
        .meaning = "extended length FF 01 00: one data byte, 6C",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = ANY, .txn = ANY,
        .result = ANY, .code = ANY, .amount = NONE, .currency = ANY,
        .set = PB_F_RAW,
    },
    {
        .apdu = "84 00 00",
        .source = "ZVT spec PA00P015 13.08 ch. 14 '84 00 Positive Acknowledgement' (docs/PROTOCOLS.md "
                  "section 2 calls this vector 'Refused')",
        .meaning = "positive acknowledgement from the PT",
        .given = PB_DIR_PT, .rc = PB_OK, .kind = PB_KIND_ACCEPTED, .dir = PB_DIR_PT,
        .txn = ANY, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "84 00 00",
        .source = "ZVT spec PA00P015 13.08 2.2.6 a)",
        .meaning = "ECR: issue of goods succeeded (like 80 00 00)",
        .given = PB_DIR_ECR, .rc = PB_OK, .kind = PB_KIND_APP_ACK, .dir = PB_DIR_ECR,
        .txn = ANY, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .clear = PB_F_GOODS,
    },
    {
        .apdu = "04 0F 02 27 6C",
        .source = "ZVT spec PA00P015 13.08 2.2.6 notes",
        .meaning = "status information 6C after the PT reversed (max. status infos exceeded)",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = ANY, .txn = ANY,
        .result = PB_RESULT_ABORTED, .code = 0x6C, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "05 01 03 00 00 00",
        .source = "ZVT spec PA00P015 13.08 2.56.1",
        .meaning = "status enquiry with password",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_STATUS, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "05 01 00",
        .source = "ZVT spec PA00P015 13.08 2.56.1",
        .meaning = "status enquiry without password ([<password>...] is optional)",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_STATUS, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .clear = PB_F_MALFORMED | PB_F_RAW,
    },
    {
        .apdu = "05 01 05 00 00 00 03 02",
        .source = "ZVT spec PA00P015 13.08 2.56.1",
        .meaning = "status enquiry, service byte 02: no SW version in the completion",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = ANY,
        .txn = PB_TXN_STATUS, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 0F 01 00",
        .source = "ZVT spec PA00P015 13.08 2.56.5",
        .meaning = "completion of a status enquiry: terminal status 00 (PT ready), no SW version",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_COMPLETION, .dir = ANY,
        .txn = ANY, .result = PB_RESULT_NONE, .code = 0x00, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "04 01 08 AA 26 12 04 0C 15 30 00",
        .source = "ZVT spec PA00P015 13.08 3.4 (date and time values ours)",
        .meaning = "set date and time in ECR",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_OTHER, .dir = PB_DIR_PT,
        .txn = ANY, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 10 03 00 00 00",
        .source = "ZVT spec PA00P015 13.08 2.43.1",
        .meaning = "send turnover totals",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_OTHER, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 20 03 00 00 00",
        .source = "ZVT spec PA00P015 13.08 2.20.1",
        .meaning = "repeat receipt",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_OTHER, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 70 00",
        .source = "ZVT spec PA00P015 13.08 2.17.1",
        .meaning = "diagnosis",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_OTHER, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 1A 00",
        .source = "ZVT spec PA00P015 13.08 2.45.1",
        .meaning = "print system configuration",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_OTHER, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 79 00",
        .source = "ZVT spec PA00P015 13.08 2.48.1",
        .meaning = "selftest",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_OTHER, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 18 00",
        .source = "ZVT spec PA00P015 13.08 2.44.1",
        .meaning = "reset terminal",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_OTHER, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 1B 08 00 00 00 29 12 34 56 78",
        .source = "ZVT spec PA00P015 13.08 2.46.1 (TID value ours)",
        .meaning = "set terminal id 12345678",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_OTHER, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .tid = "12345678",
    },
    {
        .apdu = "06 E0 0A F0 05 F1 F0 F5 48 61 6C 6C 6F",
        .source = "ZVT spec PA00P015 13.08 2.26 (text ours)",
        .meaning = "display text 'Hallo' for 5 s",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_OTHER, .dir = PB_DIR_ECR,
        .txn = ANY, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 E2 0B E9 04 F1 F0 F6 42 65 74 72 61 67",
        .source = "ZVT spec PA00P015 13.08 2.30 (text ours)",
        .meaning = "display text with numerical input, max. 4 digits",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_OTHER, .dir = PB_DIR_ECR,
        .txn = ANY, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 C0 01 0A",
        .source = "ZVT spec PA00P015 13.08 2.21",
        .meaning = "read card, timeout 10 s",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_OTHER, .dir = PB_DIR_ECR,
        .txn = ANY, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
        .clear = PB_F_RAW,
    },
    {
        .apdu = "08 10 00",
        .source = "ZVT spec PA00P015 13.08 2.37.1",
        .meaning = "software update",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_OTHER, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "0F 10 03 00 00 00",
        .source = "wirelane/ecrterm ecrterm/packets/base_packets.py Kassenbericht (0F xx "
                  "proprietary per spec ch. 14)",
        .meaning = "cash report with password",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_OTHER, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 93 03 00 00 00",
        .source = "ZVT spec PA00P015 13.08 2.18.1",
        .meaning = "initialisation",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_OTHER, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 B0 00",
        .source = "ZVT spec PA00P015 13.08 2.23",
        .meaning = "abort from the ECR",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_ABORT, .dir = PB_DIR_ECR,
        .txn = ANY, .result = ANY, .code = ANY, .amount = ANY, .currency = ANY,
    },
    {
        .apdu = "06 22 1E 19 40 49 09 78 04 00 00 00 00 25 00 06 10 E9 0E 1F 62 02 41 43 1F 63 "
                "06 33 38 34 48 48 32",
        .source = "EVerest/zvt zvt/data/1680728162.033575000_ecr_pt.blob (a Feig terminal's "
                  "line)",
        .meaning = "pre-authorisation 25.00 EUR, payment type 40, TLV E9 {1F62, 1F63}",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_PREAUTH, .result = ANY, .code = ANY, .amount = 2500, .currency = 978,
        .clear = PB_F_RAW,
    },
    {
        .apdu = "04 0F 5A 27 00 04 00 00 00 00 25 00 49 09 78 0C 22 55 58 0D 04 05 22 F0 F8 55 "
                "98 83 EE EE EE 80 74 87 02 31 3B 37 35 30 30 37 31 00 00 0B 00 09 75 19 60 29 "
                "52 52 35 35 0E 24 05 8A 06 8C 01 8B F1 F1 4D 61 73 74 65 72 43 61 72 64 00 2A "
                "38 30 34 30 31 31 39 32 36 20 20 20 20 20 20",
        .source = "EVerest/zvt zvt/data/1680728165.675509000_pt_ecr.blob",
        .meaning = "pre-authorisation approved 25.00 EUR, receipt 0231, trace 975, masked PAN",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = PB_DIR_PT,
        .txn = ANY, .result = PB_RESULT_APPROVED, .code = 0x00, .amount = 2500,
        .currency = 978, .receipt = "0231", .trace = "000975", .tid = "52523535",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 25 08 19 40 87 02 31 49 09 78",
        .source = "EVerest/zvt zvt/data/1680728213.562478000_ecr_pt.blob",
        .meaning = "pre-authorisation reversal of receipt 0231",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_VOID, .result = ANY, .code = ANY, .amount = NONE, .currency = 978,
        .receipt = "0231",
    },
    {
        .apdu = "04 0F A4 27 00 04 00 00 00 00 00 00 49 09 78 0C 22 55 58 0D 04 05 22 F0 F8 55 "
                "98 83 EE EE EE 80 74 87 02 32 3B 37 35 30 30 37 31 00 00 0B 00 09 77 19 60 29 "
                "52 52 35 35 0E 24 05 8A 06 8C 01 8B F1 F1 4D 61 73 74 65 72 43 61 72 64 00 2A "
                "38 30 34 30 31 31 39 32 36 20 20 20 20 20 20 3C F0 F7 F0 41 53 2D 50 72 6F 63 "
                "2D 43 6F 64 65 3D 20 30 30 20 30 37 36 20 30 36 0D 43 61 70 74 2E 2D 52 65 66 "
                "2E 3D 20 30 30 39 39 0D 41 49 44 35 39 3D 20 30 38 31 35 32 30 0D 20 44 41 55 "
                "45 52 20 20 20 37 20 54 41 47 45",
        .source = "EVerest/zvt zvt/data/1680728215.659492000_pt_ecr.blob (its receipt, "
                  "...585561000_pt_ecr.blob, says 'Maximum amount EUR 25,00 / Decreed amount "
                  "EUR 0,00 / Cancellation approved')",
        .meaning = "status information after the pre-authorisation reversal: BMP 04 is what the "
                   "pre-authorisation still books, 0.00; receipt 0232",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = PB_DIR_PT,
        .txn = ANY, .result = PB_RESULT_APPROVED, .code = 0x00, .amount = 0, .currency = 978,
        .receipt = "0232", .trace = "000977",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "06 23 21 19 40 87 04 91 49 09 78 04 00 00 00 00 12 95 06 10 E9 0E 1F 62 02 41 "
                "43 1F 63 06 4D 46 32 32 34 36",
        .source = "EVerest/zvt zvt/data/1681455683.221609000_ecr_pt.blob; its sender "
                  "(zvt_feig_terminal feig.rs) puts the reserved amount less the used one in BMP "
                  "04",
        .meaning = "partial reversal of receipt 0491, 12.95 EUR released",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = PB_DIR_ECR,
        .txn = PB_TXN_VOID, .result = ANY, .code = ANY, .amount = 1295, .currency = 978,
        .receipt = "0491",
        .clear = PB_F_RAW,
    },
    {
        .apdu = "04 0F 4D 27 00 04 00 00 00 00 09 58 0B 00 09 82 0D 04 06 0C 08 17 06 60 F0 F5 "
                "F3 02 33 02 34 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 00 00 00 00 09 58 "
                "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
                "00 00",
        .source = "EVerest/zvt zvt/data/1680761828.489701000_pt_ecr.blob",
        .meaning = "end of day 9.58 EUR, BMP 60: receipts 0233 to 0234, two Eurocard for 9.58",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_RESULT, .dir = PB_DIR_PT,
        .txn = ANY, .result = PB_RESULT_APPROVED, .code = 0x00, .amount = 958, .currency = ANY,
        .trace = "000982",
        .set = PB_F_TOTALS, .clear = PB_F_RAW,
    },
    {
        .apdu = "06 23 0A 87 00 12 04 00 00 00 00 05 00",
        .source = "ZVT spec PA00P015 13.08 2.10 (values ours)",
        .meaning = "partial reversal of pre-authorisation 0012, 5.00 unused",
        .given = PB_DIR_UNKNOWN, .rc = PB_OK, .kind = PB_KIND_REQUEST, .dir = ANY,
        .txn = PB_TXN_VOID, .result = ANY, .code = ANY, .amount = 500, .currency = ANY,
        .receipt = "0012",
    },
};

/* Hex text to bytes; any character but a hex digit separates. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        int v = *s >= '0' && *s <= '9'   ? *s - '0'
                : *s >= 'A' && *s <= 'F' ? *s - 'A' + 10
                : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
                                         : -1;
        if (v < 0)
            continue;
        if (hi < 0) {
            hi = v;
            continue;
        }
        assert_true(n < cap);
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    assert_int_equal(hi, -1);
    return n;
}

/* DLE STX, APDU with 0x10 doubled, DLE ETX, CRC-16/KERMIT low byte first (docs/PROTOCOLS.md 2). */
static size_t frame(const uint8_t *apdu, size_t n, uint8_t *out, size_t cap)
{
    size_t o = 0;
    assert_true(cap >= 2 * n + 6);
    out[o++] = 0x10;
    out[o++] = 0x02;
    for (size_t i = 0; i < n; i++) {
        out[o++] = apdu[i];
        if (apdu[i] == 0x10)
            out[o++] = 0x10;
    }
    out[o++] = 0x10;
    out[o++] = 0x03;
    static const uint8_t etx = 0x03;
    uint16_t crc = pb_crc16_kermit(pb_crc16_kermit(0, apdu, n), &etx, 1);
    out[o++] = (uint8_t)crc;
    out[o++] = (uint8_t)(crc >> 8);
    return o;
}

static int decode(const uint8_t *w, size_t n, enum pb_dir dir, struct pos_msg *m)
{
    struct pb_frame *f = calloc(1, sizeof *f);
    assert_non_null(f);
    size_t resume = 0;
    assert_int_equal(Z->scan(w, n, &resume, f), (int)n);
    f->length = (uint32_t)n;
    int r = Z->decode(f, dir, m);
    free(f);
    return r;
}

static int fails;

static void bad(size_t i, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(size_t i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "row %zu (%s; %s): ", i, rows[i].source, rows[i].meaning);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fails++;
}

static void check_str(size_t i, const char *what, const char *want, const char *got)
{
    if (want && strcmp(want, got) != 0)
        bad(i, "%s \"%s\", want \"%s\"", what, got, want);
}

static void check_row(size_t i)
{
    const struct row *r = &rows[i];
    static uint8_t apdu[8192], w[2 * 8192 + 8], red[2 * 8192 + 8];
    size_t an = unhex(r->apdu, apdu, sizeof apdu);
    size_t n = frame(apdu, an, w, sizeof w);
    struct pos_msg m;
    int rc = decode(w, n, (enum pb_dir)r->given, &m);
    if (rc != r->rc)
        bad(i, "decode returned %d, want %d", rc, r->rc);
    if ((int)m.kind != r->kind)
        bad(i, "kind %s, want %s", pb_kind_name(m.kind), pb_kind_name((enum pb_kind)r->kind));
    if (r->dir != ANY && (int)m.dir != r->dir)
        bad(i, "dir %s, want %s", pb_dir_name(m.dir), pb_dir_name((enum pb_dir)r->dir));
    if (r->txn != ANY && (int)m.txn != r->txn)
        bad(i, "txn %s, want %s", pb_txn_name(m.txn), pb_txn_name((enum pb_txn_type)r->txn));
    if (r->result != ANY && (int)m.result != r->result)
        bad(i, "result %s, want %s", pb_result_name(m.result),
            pb_result_name((enum pb_result)r->result));
    bool has_code = (m.flags & PB_F_RESULT_CODE) != 0;
    if (r->code == NONE && has_code)
        bad(i, "result code %s, want none", m.result_text);
    if (r->code >= 0 && (!has_code || m.result_code != r->code))
        bad(i, "result code %s, want %02X", has_code ? m.result_text : "none", r->code);
    bool has_amount = (m.flags & PB_F_AMOUNT) != 0;
    if (r->amount == NONE && has_amount)
        bad(i, "amount %lld, want none", (long long)m.amount);
    if (r->amount >= 0 && (!has_amount || m.amount != r->amount))
        bad(i, "amount %lld (%s), want %lld", (long long)m.amount, has_amount ? "set" : "none",
            r->amount);
    if (r->currency != ANY) {
        int got = (m.flags & PB_F_CURRENCY) ? m.currency : 0;
        if (got != r->currency)
            bad(i, "currency %d, want %d", got, r->currency);
    }
    check_str(i, "receipt", r->receipt, m.receipt);
    check_str(i, "trace", r->trace, m.trace);
    check_str(i, "terminal id", r->tid, m.terminal_id);
    check_str(i, "pan", r->pan, m.pan);
    check_str(i, "auth code", r->auth, m.auth_code);
    check_str(i, "text", r->text, m.text);
    if ((m.flags & r->set) != r->set)
        bad(i, "flags %#x lack %#x", m.flags, r->set);
    if (m.flags & r->clear)
        bad(i, "flags %#x have %#x (text \"%s\")", m.flags, m.flags & r->clear, m.text);

    /* Redacted: the same message, and a fixed point. */
    memcpy(red, w, n);
    Z->redact(red, n);
    struct pos_msg d;
    int rr = decode(red, n, (enum pb_dir)r->given, &d);
    if (rr != rc || d.kind != m.kind || d.amount != m.amount || strcmp(d.pan, m.pan) != 0)
        bad(i, "redacted frame decodes otherwise");
    if (Z->redact(red, n) != 0)
        bad(i, "a second redaction changed the frame");
}

static void test_corpus(void **state)
{
    (void)state;
    size_t count = sizeof rows / sizeof rows[0];
    for (size_t i = 0; i < count; i++)
        check_row(i);
    assert_true(count >= 60);
    assert_int_equal(fails, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
