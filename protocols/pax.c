/* PAX POSLink over serial/USB. Facts: docs/PROTOCOLS.md section 3 and the public sources named
 * where a fact is used (read for facts, no code taken):
 *   [gp-net]  globalpayments/dotnet-sdk, src/GlobalPayments.Api/Terminals/PAX: PaxEnums.cs
 *             (PAX_MSG_ID, PAX_TXN_TYPE), PaxController.cs (request layouts),
 *             PaxInterface.cs (B00), the Responses folder (response layouts)
 *   [gp-java] globalpayments/java-sdk, src/main/java/com/global/api/terminals/pax and
 *             entities/enums/PaxMsgId.java, PaxTxnType.java
 *   [gp-php]  globalpayments/php-sdk, src/Terminals/PAX (Responses/BatchResponse.php,
 *             PaxBaseResponse.php)
 *   [pl-sdk]  PAX's own POSLink SDK as published in arkhitech/react-native-pax-poslink2:
 *             android/libs/POSLink_Admin_Android_Plugin_V2.01.00_20240914.jar
 *             (com.pax.poslinkadmin.ResponseCode and Code1000xx: every response code;
 *             constant.TransactionType: every transaction type),
 *             POSLink_Core_Android_V2.00.07_20240914.jar (posproto.constant.ProtoConst:
 *             MULTI_PACKETS "1" / SINGLE_PACKET "0"; cable.CABLEProto.readMultipleResponse and
 *             utils.ProtoCommUtils: how packets are joined), POSLink_Semi_Android_Plugin
 *             (batch.unpacker.BatchCloseUnpacker, internal.util.SemiUnpackUtil: the B01
 *             layout and its '='-separated totals); constants and layouts read with javap.
 *             ios/POSLinkAdminSDK/Header/PLResponseCode.h says what each code means. */
#include "pax.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discipline.h"
#include "pb_error.h"

#define DEFAULT_VERSION "1.28" /* the version field of docs/PROTOCOLS.md's vector */
#define PAN_MIN 13
#define PAN_MAX 19

/* ---- tables ---------------------------------------------------------------------------- */

/* Transaction types of the T00/T02 type field [gp-net PAX_TXN_TYPE, gp-java PaxTxnType,
 * pl-sdk TransactionType]. The first entry of each txn is what encode() writes when text
 * names no type; OTHER entries are named for people and never written by default. */
struct pax_type {
    const char *wire;
    enum pb_txn_type txn;
    const char *name;
};
static const struct pax_type TYPE_TABLE[] = {
    {"01", PB_TXN_PURCHASE, "sale"},
    {"02", PB_TXN_REFUND, "return"},
    {"03", PB_TXN_PREAUTH, "auth"},
    {"16", PB_TXN_VOID, "void"},
    /* Post-authorisation completes an auth with the final amount: the capture that charges
     * the card, as ZVT's book total (06 24) is a purchase here too. */
    {"04", PB_TXN_PURCHASE, "postauth"},
    /* Force (voice) authorisation: a sale approved by a code got by phone. */
    {"05", PB_TXN_PURCHASE, "forced"},
    {"17", PB_TXN_VOID, "void sale"},
    {"18", PB_TXN_VOID, "void return"},
    {"19", PB_TXN_VOID, "void auth"},
    {"20", PB_TXN_VOID, "void postauth"},
    {"21", PB_TXN_VOID, "void forced"},
    {"22", PB_TXN_VOID, "void withdrawal"},
    {"33", PB_TXN_PREAUTH, "incremental auth"}, /* [pl-sdk] adds to an auth's hold */
    {"99", PB_TXN_VOID, "reversal"},
    /* Moves no card money of its own, or not a card payment the bridge weighs. */
    {"00", PB_TXN_OTHER, "menu"}, /* [pl-sdk] UNKNOWN: the terminal asks */
    {"06", PB_TXN_OTHER, "adjust"}, /* tip adjustment of an earlier sale */
    {"07", PB_TXN_OTHER, "withdrawal"}, /* EBT cash benefits */
    {"08", PB_TXN_OTHER, "activate"},
    {"09", PB_TXN_OTHER, "issue"},
    {"10", PB_TXN_OTHER, "add"}, /* [pl-sdk] RELOAD */
    {"11", PB_TXN_OTHER, "cashout"},
    {"12", PB_TXN_OTHER, "deactivate"},
    {"13", PB_TXN_OTHER, "replace"},
    {"14", PB_TXN_OTHER, "merge"},
    {"15", PB_TXN_OTHER, "report lost"},
    {"23", PB_TXN_OTHER, "balance"}, /* [pl-sdk] INQUIRY */
    {"24", PB_TXN_OTHER, "verify"},  /* card verification, nothing charged */
    {"25", PB_TXN_OTHER, "reactivate"},
    {"26", PB_TXN_OTHER, "forced issue"},
    {"27", PB_TXN_OTHER, "forced add"},
    {"28", PB_TXN_OTHER, "unload"},
    {"29", PB_TXN_OTHER, "renew"},
    {"30", PB_TXN_OTHER, "get convert detail"},
    {"31", PB_TXN_OTHER, "convert"},
    {"32", PB_TXN_OTHER, "tokenize"},
    {"34", PB_TXN_OTHER, "balance with lock"},
    {"35", PB_TXN_OTHER, "redemption with unlock"},
    {"36", PB_TXN_OTHER, "rewards"},
    {"37", PB_TXN_OTHER, "reenter"},
    {"38", PB_TXN_OTHER, "transaction adjustment"},
    {"39", PB_TXN_OTHER, "transfer"},
    {"40", PB_TXN_OTHER, "finalize"},
    {"41", PB_TXN_OTHER, "deposit"},
    {"42", PB_TXN_OTHER, "account payment"},
};

/* Response codes [pl-sdk ResponseCode, meanings from PLResponseCode.h]. The 1xxxxx codes
 * are the terminal's own: nothing was charged by the answer that carries them (a host
 * timeout or a receive error is reversed by the terminal itself, PLTorResponse.h), so they
 * are not_processed unless the meaning says declined (a policy or the host refused) or
 * aborted (the customer or the cashier stopped it). */
struct pax_code {
    const char *wire;
    const char *name;
    enum pb_result result;
};
#define AP PB_RESULT_APPROVED
#define DE PB_RESULT_DECLINED
#define AB PB_RESULT_ABORTED
#define NP PB_RESULT_NOT_PROCESSED
static const struct pax_code CODE_TABLE[] = {
    {"000000", "OK", AP},
    {"000001", "APPROVED_OFFLINE", AP}, /* approved locally (SAF, floor limit, force) */
    {"000002", "PARTIALLY_APPROVED", AP}, /* the amount due says how much is missing */
    {"000003", "APPROVED_SURCHARGE_NOT_APPLIED", AP},
    {"000029", "PARTIAL_BATCH_CLOSED", AP}, /* batch closed, some SAF records declined */
    {"000100", "DECLINE", DE},              /* the host declined */
    {"000200", "CARD_READ_OK", NP},         /* no payment: only the card was read */
    {"000300", "OUT_OF_BALANCE", AP},       /* batch closed but out of balance */
    {"000301", "SAF_FAILED_PLEASE_SETTLE", NP},
    {"100001", "TIMEOUT", NP},
    {"100002", "ABORTED", AB},
    {"100003", "FORMAT_ERROR", NP}, /* [pl-sdk Code100003]: a field of the request invalid */
    {"100004", "UNSUPPORTED_TRANSACTION", NP},
    {"100005", "UNSUPPORTED_EDC", NP},
    {"100006", "BATCH_FAILED", NP},
    {"100007", "INVALID_RESPONSE_MESSAGE", NP}, /* host answer unreadable: reversed */
    {"100008", "SEND_ERROR", NP},
    {"100009", "RECEIVE_ERROR", NP}, /* host silent after the request: reversed */
    {"100010", "COMM_ERROR", NP},
    {"100011", "DUP_TRANSACTION", DE}, /* refused locally as a repeat */
    {"100012", "GET_VAR_ERROR", NP},
    {"100013", "VAR_NAME_MISSING", NP},
    {"100014", "SET_VAR_ERROR", NP},
    {"100015", "CVV_ERROR", DE},
    {"100016", "AVS_ERROR", DE},
    {"100017", "HALO_EXCEED", DE}, /* over the terminal's high amount limit */
    {"100018", "SWIPE_ONLY", NP},
    {"100019", "TRACK_INVALID", NP},
    {"100020", "SWIPE_ERROR", NP}, /* or CANNOT ADJUST [pl-sdk Code100020] */
    {"100021", "ALREADY_VOIDED", DE}, /* or ALREADY COMPL.: nothing left to undo */
    {"100022", "PINPAD_ERROR", NP},
    {"100023", "UNKNOWN_ERROR", NP}, /* [pl-sdk Code100023]; "USER ABORTED" is aborted */
    {"100024", "NO_HOST_APP", NP},
    {"100025", "PLEASE_SETTLE", NP},
    {"100027", "UNSUPPORTED_COMMAND", NP},
    {"100028", "TAX_EXCEED_AMOUNT", NP},
    {"100030", "PRINTER_NOT_SUPPORTED", NP},
    {"100031", "PRINTER_DISABLED", NP},
    {"100032", "OUT_OF_PAPER", NP},
    {"100033", "ENTRY_DISABLED", NP}, /* swipe or manual entry disabled */
    {"100040", "INSUFFICIENT_FUND_USER_DECLINE", AB}, /* the customer declined */
    {"100050", "DATA_STORAGE_KEY_MISSING", NP},
    {"100100", "HOST_P2PE_KEY_MISSING", NP},
    {"100101", "HOST_NOT_SET", NP}, /* or HOST RECEIVE ERROR [pl-sdk Code100101] */
    {"100500", "ONLINE_SURCHARGE_FEE_USER_DECLINE", AB},
    {"100503", "PED_BUSY", NP},
    {"100504", "PED_INJECTION_ERROR", NP},
    {"100505", "MAC_KEY_TYPE_MISMATCH", NP},
    {"100506", "ENCRYPTION_KEY_TYPE_MISMATCH", NP},
    {"100507", "PED_PARAMETER_ERROR", NP},
    {"100508", "PED_GENERAL_ERROR", NP},
    {"100509", "PED_UNKNOWN_ERROR", NP},
    {"100510", "WIC_CARD_DETECTED", NP},
    {"100511", "SERVICE_BUSY", NP},
    {"100512", "NOT_ACCEPTED", DE}, /* card not accepted */
    {"100513", "EULA_DISAGREED", NP},
    {"100514", "CREATE_BARCODE_ERROR", NP},
    {"100515", "SCANNER_SCAN_ERROR", NP},
    {"100516", "EXTERNAL_CARD_READER_IS_BUSY", NP},
    {"100517", "EXTERNAL_CARD_READER_UPDATE_FAILED", NP},
    {"100518", "SOURCE_KEY_LEVEL_LOWER_THAN_DESTINATION", NP},
    {"100519", "DOWNLOADING_PARAMETERS", NP},
    {"100520", "PROCESSING_REVERSAL", NP},
    {"100521", "PROCESSING_ADVICE", NP},
    {"101000", "VAS_OK_PAYMENT_ERROR", NP},
    {"101001", "VAS_ERROR_PAYMENT_OK", AP}, /* the payment went through */
    {"101002", "VAS_ERROR", NP},
    {"101003", "VAS_ERROR_PAYMENT_ERROR", NP},
    {"101004", "VAS_ERROR_PAYMENT_NOT_PERFORMED", NP},
    {"101005", "VAS_OK_PAYMENT_NOT_PERFORMED", NP},
    {"101100", "INTERFACE_CHIP_DOES_NOT_EXIST_OR_ABNORMAL", NP},
    {"101101", "PARAMETER_ERROR", NP},
    {"101102", "RF_MODULE_CLOSE", NP},
    {"101103", "NOT_DETECT_CARD", NP},
    {"101104", "COMMUNICATION_CONFLICT", NP},
    {"101105", "CARD_DATA_PROTOCOL_ERROR", NP},
    {"101106", "CARD_NOT_ACTIVATED", NP},
    {"101107", "MULTI_CARD_CONFLICT", NP},
    {"101108", "NO_RESPONSE_TIMEOUT", NP},
    {"101109", "PROTOCOL_ERROR", NP},
    {"101110", "COMMUNICATION_TRANSMISSION_ERROR", NP},
    {"101111", "M1_CARD_AUTHENTICATION_FAILURE", NP},
    {"101112", "SECTOR_IS_NOT_CERTIFIED", NP},
    {"101113", "VALUE_BLOCK_FORMAT_ERROR", NP},
    {"101114", "CARD_IS_STILL_IN_SENSING_AREA", NP},
    {"101115", "CARD_STATUS_ERROR", NP},
    {"101116", "UNKNOWN_ERROR_MIFARE", NP},
    {"101117", "PARAMETER_INVALID", NP},
    {"101118", "RPC_IO_ERROR", NP},
    {"101119", "NOT_SUPPORT_FOR_THIS_DEVICE", NP},
    {"101120", "NOT_PERMISSION_FOR_PICC", NP},
    {"101121", "RPC_BUSY", NP},
    {"101200", "CUSTOM_UI_TIP_INDEX_ERROR", NP},
    {"101201", "CUSTOM_UI_CASHBACK_INDEX_ERROR", NP},
    {"101202", "CUSTOM_UI_EBT_TYPE_INDEX_ERROR", NP},
    {"101203", "CUSTOM_UI_PASS_REASON_INDEX_ERROR", NP},
    {"101204", "CUSTOM_UI_AID_INDEX_ERROR", NP},
    {"101205", "CUSTOM_UI_TAX_REASON_INDEX_ERROR", NP},
    {"101206", "CUSTOM_UI_CARD_TYPE_INDEX_ERROR", NP},
    {"101207", "CUSTOM_UI_TRANSACTION_TYPE_INDEX_ERROR", NP},
    {"101208", "CUSTOM_UI_EDC_TYPE_INDEX_ERROR", NP},
    {"101209", "CUSTOM_UI_SEARCH_CRITERIA_INDEX_ERROR", NP},
    {"101210", "CUSTOM_UI_SURCHARGE_FEE_INDEX_ERROR", NP},
    {"101230", "CUSTOM_UI_CARD_PRESENT_CONFIRM_ERROR", NP},
    {"101231", "CUSTOM_UI_DUPLICATE_TRANSACTION_CONFIRM_ERROR", NP},
    {"101232", "CUSTOM_UI_DEACTIVATE_WARN_CONFIRM_ERROR", NP},
    {"101233", "CUSTOM_UI_SURCHARGE_FEE_CONFIRM_ERROR", NP},
    {"101234", "CUSTOM_UI_DEL_SAF_CONFIRM_ERROR", NP},
    {"101235", "CUSTOM_UI_PRINT_CUSTOMER_COPY_CONFIRM_ERROR", NP},
    {"101236", "CUSTOM_UI_PRINT_FAILED_TRANSACTION_CONFIRM_ERROR", NP},
    {"101237", "CUSTOM_UI_PRINT_FPS_CONFIRM_ERROR", NP},
    {"101238", "CUSTOM_UI_PRINT_STATUS_CONFIRM_ERROR", NP},
    {"101239", "CUSTOM_UI_AMOUNT_CONFIRM_ERROR", NP},
    {"101240", "CUSTOM_UI_PARTIAL_APPROVAL_CONFIRM_ERROR", NP},
    {"101400", "TAP_READ_FAILED", NP},
    {"101401", "CHIP_READ_FAILED", NP},
    {"103000", "HOST_DECLINE_DUPLICATE_TRANSACTION", DE},
    {"104000", "ACCESS_DENIED", NP}, /* location or device call access denied */
    {"199999", "TERMINAL_ERROR", NP},
};
#undef AP
#undef DE
#undef AB
#undef NP
#define CODE_PARTIAL "000002"
#define CODE_GENERAL "100023"
#define MSG_USER_ABORTED "USER ABORTED" /* [pl-sdk Code100023.USER_ABORTED] */

/* Codes that refuse a repeat: the fields they carry are the original transaction's
 * (PLResponseCode.h on DUP TRANSACTION and HOST DECLINE DUPLICATE TRANSACTION), so their
 * amounts are no charge of this answer and are not kept. */
static bool is_duplicate_code(const char *code)
{
    return strcmp(code, "100011") == 0 || strcmp(code, "103000") == 0;
}

/* What encode() writes for a result when result_text holds no 6-digit code. */
static const char *default_code(enum pb_result r)
{
    switch (r) {
    case PB_RESULT_APPROVED:
        return "000000";
    case PB_RESULT_DECLINED:
        return "000100";
    case PB_RESULT_ABORTED:
        return "100002";
    case PB_RESULT_NOT_PROCESSED:
        return "100001";
    default:
        return NULL;
    }
}

/* Commands [gp-net PAX_MSG_ID, gp-java PaxMsgId, gp-php PaxMessageId]: a request's number
 * is even, its response's the next odd one. Layouts are given for the ones decoded. */
enum pax_layout {
    LAYOUT_NONE = 0,   /* named only: decoded as kind OTHER */
    LAYOUT_CREDIT_RQ,  /* T00 */
    LAYOUT_CREDIT_RS,  /* T01 */
    LAYOUT_DEBIT_RQ,   /* T02 */
    LAYOUT_DEBIT_RS,   /* T03 */
    LAYOUT_BATCH_RQ,   /* B00 */
    LAYOUT_BATCH_RS,   /* B01 */
};
struct pax_command {
    const char *wire;
    const char *name;
    enum pax_layout layout;
};
static const struct pax_command COMMANDS[] = {
    {"T00", "credit", LAYOUT_CREDIT_RQ},
    {"T01", "credit response", LAYOUT_CREDIT_RS},
    {"T02", "debit", LAYOUT_DEBIT_RQ},
    {"T03", "debit response", LAYOUT_DEBIT_RS},
    {"B00", "batch close", LAYOUT_BATCH_RQ},
    {"B01", "batch close response", LAYOUT_BATCH_RS},
    {"T04", "ebt", LAYOUT_NONE},
    {"T06", "gift", LAYOUT_NONE},
    {"T08", "loyalty", LAYOUT_NONE},
    {"T10", "cash", LAYOUT_NONE},
    {"T12", "check", LAYOUT_NONE},
    {"B02", "force batch close", LAYOUT_NONE},
    {"B04", "batch clear", LAYOUT_NONE},
    {"B06", "purge batch", LAYOUT_NONE},
    {"B08", "saf upload", LAYOUT_NONE},
    {"B10", "delete saf file", LAYOUT_NONE},
    {"R00", "local total report", LAYOUT_NONE},
    {"R02", "local detail report", LAYOUT_NONE},
    {"R04", "local failed report", LAYOUT_NONE},
    {"R06", "host report", LAYOUT_NONE},
    {"R08", "history report", LAYOUT_NONE},
    {"R10", "saf summary report", LAYOUT_NONE},
    {"A00", "initialize", LAYOUT_NONE},
    {"A02", "get variable", LAYOUT_NONE},
    {"A04", "set variable", LAYOUT_NONE},
    {"A06", "show dialog", LAYOUT_NONE},
    {"A08", "get signature", LAYOUT_NONE},
    {"A10", "show message", LAYOUT_NONE},
    {"A12", "clear message", LAYOUT_NONE},
    {"A14", "cancel", LAYOUT_NONE},
    {"A16", "reset", LAYOUT_NONE},
    {"A18", "update resource file", LAYOUT_NONE},
    {"A20", "do signature", LAYOUT_NONE},
    {"A22", "delete image", LAYOUT_NONE},
    {"A24", "show message center aligned", LAYOUT_NONE},
    {"A26", "reboot", LAYOUT_NONE},
    {"A28", "get pin block", LAYOUT_NONE},
    {"A30", "input account", LAYOUT_NONE},
    {"A32", "reset msr", LAYOUT_NONE},
    {"A35", "report status", LAYOUT_NONE}, /* a response only: progress while busy */
    {"A36", "input text", LAYOUT_NONE},
    {"A38", "check file", LAYOUT_NONE},
    {"A40", "authorize card", LAYOUT_NONE},
    {"A42", "complete online emv", LAYOUT_NONE},
    {"A44", "remove card", LAYOUT_NONE},
    {"A46", "get emv tlv data", LAYOUT_NONE},
    {"A48", "set emv tlv data", LAYOUT_NONE},
    {"A50", "input account with emv", LAYOUT_NONE},
    {"A52", "complete contactless emv", LAYOUT_NONE},
    {"A54", "set saf parameters", LAYOUT_NONE},
    {"A56", "show textbox", LAYOUT_NONE},
    {"A78", "get saf parameters", LAYOUT_NONE},
};

/* Field positions (FS separated). Requests [gp-net PaxController BuildCredit, BuildDebit;
 * pl-sdk BatchClosePacker]: T00 command, version, type, amount group, account group, trace
 * group, AVS, cashier, commercial, e-commerce, extended data; T02 the same up to the trace
 * group, then cashier, extended data; B00 command, version, timestamp, extended data. */
enum { RQ_CMD, RQ_VERSION, RQ_TYPE, RQ_AMOUNT, RQ_ACCOUNT, RQ_TRACE };
enum { RQ_CREDIT_FIELDS = 10, RQ_DEBIT_FIELDS = 8 };
/* Responses [gp-net CreditResponse, DebitResponse, BatchCloseResponse; gp-java; gp-php]:
 * status, command, version, response code, message, then T01/T03 host group, type, amount
 * group, account group, trace group (T01: AVS, commercial, e-commerce; both: extended);
 * B01 host group, total count, total amount, timestamp, TID, MID, extended data. */
enum {
    RS_STATUS, RS_CMD, RS_VERSION, RS_CODE, RS_MESSAGE, RS_HOST, RS_TYPE, RS_AMOUNT,
    RS_ACCOUNT, RS_TRACE, RS_FIELDS = 10
};
enum { BS_HOST = 5, BS_COUNT = 6, BS_AMOUNT = 7, BS_TIMESTAMP = 8, BS_TID = 9, BS_FIELDS = 10 };
/* Sub-fields (US separated) pos_msg has a slot for, or that hold card data. */
enum { RQ_TRACE_REF = 0, RQ_TRACE_AUTH = 2, RQ_TRACE_ORIG = 3 };
enum { RQ_ACCOUNT_NUMBER = 0, RQ_ACCOUNT_EXPIRY = 1, RQ_ACCOUNT_CVV = 2 };
enum { RS_HOST_AUTH = 2, RS_HOST_TRACE = 4 };
enum { RS_AMOUNT_APPROVED = 0, RS_AMOUNT_DUE = 1 };
/* [gp-java AccountResponse]: account (last 4), entry mode, expiry, EBT type, voucher, new
 * account number (a replaced gift card's: a whole card number), card type, holder, ... */
enum { RS_ACCOUNT_LAST4 = 0, RS_ACCOUNT_EXPIRY = 2, RS_ACCOUNT_NEW = 5 };
enum { RS_TRACE_TXN = 0, RS_TRACE_REF = 1 };
/* B01 totals [pl-sdk SemiUnpackUtil.unpackTotalCount/Amount]: '=' separated per EDC type,
 * credit first, debit second, then EBT, gift, loyalty, cash, check, QR. */
enum { TOTAL_CREDIT = 0, TOTAL_DEBIT = 1 };

/* Multi-packet responses [pl-sdk ProtoConst MULTI_PACKETS "1", SINGLE_PACKET "0";
 * CABLEProto.readMultipleResponse]: the status field of a packet is "1" while more follow. */
#define STATUS_MORE "1"
#define STATUS_LAST "0"

static bool is_control(uint8_t c)
{
    return c == PB_ACK || c == PB_NAK || c == PB_EOT;
}

/* Inside a frame: FS, GS, RS, US separators and printable ASCII. */
static bool is_data(uint8_t c)
{
    return (c >= PB_FS && c <= PB_US) || (c >= 0x20 && c <= 0x7F);
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* ---- framing -------------------------------------------------------------------------- */

static int pax_scan(const uint8_t *buf, size_t len, size_t *resume, struct pb_frame *out)
{
    if (len == 0 || buf[0] != PB_STX)
        return pb_scan_outside_stx(buf, len, is_control, out);
    size_t i = *resume > 1 ? *resume : 1;
    for (; i < len && buf[i] != PB_ETX; i++) {
        if (!is_data(buf[i]))
            return PB_ERR_FRAMING; /* a new STX or a stray control: a false start */
        if (i > PAX_PAYLOAD_MAX)
            return PB_ERR_FRAMING;
    }
    *resume = i;
    if (i + 1 >= len)
        return 0; /* need the ETX, or the LRC after it */
    size_t plen = i - 1;
    memcpy(out->payload, buf + 1, plen);
    out->payload_len = plen;
    out->type = PB_FRAME_DATA;
    /* LRC: XOR of the bytes after STX through ETX; any value, taken unexamined. */
    out->checksum_ok = pb_lrc(buf + 1, i) == buf[i + 1];
    return (int)(i + 2);
}

/* ---- field access --------------------------------------------------------------------- */

struct span {
    const uint8_t *p;
    size_t n;
};

/* Splits p at sep into at most max spans (the last one keeps any further separators).
 * Returns the count, at least 1. */
static size_t split(const uint8_t *p, size_t n, uint8_t sep, struct span *out, size_t max)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i < n && k + 1 < max; i++) {
        if (p[i] == sep) {
            out[k++] = (struct span){p + start, i - start};
            start = i + 1;
        }
    }
    out[k++] = (struct span){p + start, n - start};
    return k;
}

/* Sub-field idx of a group (US separated); empty when absent. */
static struct span sub(struct span group, size_t idx)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= group.n; i++) {
        if (i == group.n || group.p[i] == PB_US) {
            if (k == idx)
                return (struct span){group.p + start, i - start};
            k++;
            start = i + 1;
        }
    }
    return (struct span){group.p, 0};
}

static struct span field(const struct span *f, size_t nf, size_t idx)
{
    static const uint8_t none[1];
    return idx < nf ? f[idx] : (struct span){none, 0};
}

static bool eq(struct span s, const char *lit)
{
    size_t l = strlen(lit);
    return s.n == l && memcmp(s.p, lit, l) == 0;
}

/* "T00", "A01", "B00": a letter and two digits. */
static bool is_command(struct span s)
{
    return s.n == 3 && s.p[0] >= 'A' && s.p[0] <= 'Z' && is_digit(s.p[1]) && is_digit(s.p[2]);
}

static uint32_t command_code(struct span s)
{
    return (uint32_t)s.p[0] << 8 | (uint32_t)((s.p[1] - '0') * 10 + (s.p[2] - '0'));
}

static bool all_digits(struct span s)
{
    for (size_t i = 0; i < s.n; i++)
        if (!is_digit(s.p[i]))
            return false;
    return true;
}

/* An amount sub-field: 0 absent (empty), 1 parsed, -1 malformed. */
static int parse_amount(struct span s, int64_t *out)
{
    if (s.n == 0)
        return 0;
    if (s.n > PAX_AMOUNT_DIGITS || !all_digits(s))
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < s.n; i++)
        v = v * 10 + (s.p[i] - '0');
    *out = v;
    return 1;
}

static void copy_span(char *dst, size_t cap, struct span s)
{
    if (s.n == 0 || !s.p) {
        dst[0] = '\0';
        return;
    }
    pb_copy_printable(dst, cap, s.p, s.n);
}

/* Stores an account sub-field masked. last4_only: every digit but the last 4 becomes
 * '*' (T01 account groups carry the last 4 digits; more is never kept); otherwise
 * pb_mask_pan (first 6 and last 4 of a manually keyed PAN). Only the last cap-1 bytes
 * are looked at, so the last 4 digits survive truncation. */
static void store_account(struct span s, char *out, size_t cap, bool last4_only)
{
    out[0] = '\0';
    if (s.n == 0 || !s.p)
        return;
    char tmp[PB_REF_MAX];
    size_t n = s.n < sizeof tmp - 1 ? s.n : sizeof tmp - 1;
    const uint8_t *p = s.p + (s.n - n);
    for (size_t i = 0; i < n; i++)
        tmp[i] = is_digit(p[i]) ? (char)p[i] : '*';
    tmp[n] = '\0';
    if (last4_only) {
        size_t keep = 0;
        for (size_t i = n; i-- > 0;) {
            if (tmp[i] >= '0' && tmp[i] <= '9' && keep++ >= 4)
                tmp[i] = '*';
        }
        snprintf(out, cap, "%s", tmp);
    } else {
        pb_mask_pan(tmp, n, out, cap);
    }
    memset(tmp, 0, sizeof tmp);
}

/* The first run of 13 to 19 digits in p whose Luhn digit holds goes to pan, masked
 * (unknown commands): a timestamp or a host reference is no card number. */
static void find_pan(const uint8_t *p, size_t n, char *pan, size_t cap)
{
    pan[0] = '\0';
    size_t i = 0;
    while (i < n) {
        while (i < n && !is_digit(p[i]))
            i++;
        size_t start = i;
        while (i < n && is_digit(p[i]))
            i++;
        size_t run = i - start;
        if (run >= PAN_MIN && run <= PAN_MAX && pb_luhn_valid(p + start, run)) {
            char digits[PAN_MAX + 1];
            memcpy(digits, p + start, run);
            digits[run] = '\0';
            pb_mask_pan(digits, run, pan, cap);
            memset(digits, 0, sizeof digits);
            return;
        }
    }
}

static enum pb_txn_type txn_of(struct span s)
{
    if (s.n == 0)
        return PB_TXN_NONE;
    for (size_t i = 0; i < sizeof TYPE_TABLE / sizeof TYPE_TABLE[0]; i++)
        if (eq(s, TYPE_TABLE[i].wire))
            return TYPE_TABLE[i].txn;
    return PB_TXN_OTHER;
}

/* Appends " key=value" (printable, at most vmax bytes of value) to text. */
static void text_add(char *text, size_t cap, const char *key, struct span v, size_t vmax)
{
    char val[PB_TEXT_MAX];
    size_t n = v.n < vmax ? v.n : vmax;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof val; i++)
        val[k++] = (v.p[i] > 0x20 && v.p[i] < 0x7F) ? (char)v.p[i] : '.';
    val[k] = '\0';
    size_t l = strnlen(text, cap);
    snprintf(text + l, cap - l, "%s%s=%s", l ? " " : "", key, val);
}

/* ---- decoding ------------------------------------------------------------------------- */

static const struct pax_command *command_of(struct span s)
{
    if (!is_command(s))
        return NULL;
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (eq(s, COMMANDS[i].wire))
            return &COMMANDS[i];
    return NULL;
}

/* A response's command named through its request: A01 is A00's, A39 is A38's. */
static const char *command_name(struct span s)
{
    const struct pax_command *c = command_of(s);
    if (c)
        return c->name;
    if (!is_command(s) || ((s.p[2] - '0') & 1) == 0)
        return NULL;
    char req[4] = {(char)s.p[0], (char)s.p[1], (char)(s.p[2] - 1), '\0'};
    c = command_of((struct span){(const uint8_t *)req, 3});
    return c ? c->name : NULL;
}

const char *pb_pax_command_name(const char *cmd)
{
    return cmd ? command_name((struct span){(const uint8_t *)cmd, strlen(cmd)}) : NULL;
}

static const struct pax_code *code_of(const char *code)
{
    for (size_t i = 0; i < sizeof CODE_TABLE / sizeof CODE_TABLE[0]; i++)
        if (strcmp(code, CODE_TABLE[i].wire) == 0)
            return &CODE_TABLE[i];
    return NULL;
}

const char *pb_pax_code_name(const char *code)
{
    const struct pax_code *c = code ? code_of(code) : NULL;
    return c ? c->name : NULL;
}

const char *pb_pax_type_name(const char *type)
{
    for (size_t i = 0; type && i < sizeof TYPE_TABLE / sizeof TYPE_TABLE[0]; i++)
        if (strcmp(type, TYPE_TABLE[i].wire) == 0)
            return TYPE_TABLE[i].name;
    return NULL;
}

static int malformed(struct pos_msg *out, const char *what)
{
    out->kind = PB_KIND_OTHER;
    out->flags |= PB_F_MALFORMED;
    snprintf(out->text, sizeof out->text, "%s", what);
    return PB_ERR_SYNTAX;
}

/* T00 and T02 share their first six fields. */
static int decode_request(const struct span *f, size_t nf, struct pos_msg *out)
{
    struct span type = field(f, nf, RQ_TYPE), amount = sub(field(f, nf, RQ_AMOUNT), 0);
    struct span account = field(f, nf, RQ_ACCOUNT), trace = field(f, nf, RQ_TRACE);
    out->txn = txn_of(type);
    text_add(out->text, sizeof out->text, "type", type, 4);
    text_add(out->text, sizeof out->text, "v", field(f, nf, RQ_VERSION), 8);
    store_account(sub(account, RQ_ACCOUNT_NUMBER), out->pan, sizeof out->pan, false);
    copy_span(out->reference, sizeof out->reference, sub(trace, RQ_TRACE_REF));
    copy_span(out->auth_code, sizeof out->auth_code, sub(trace, RQ_TRACE_AUTH));
    copy_span(out->receipt, sizeof out->receipt, sub(trace, RQ_TRACE_ORIG));
    int64_t v;
    int a = parse_amount(amount, &v);
    if (a < 0)
        return malformed(out, "request: amount not digits");
    if (a > 0) {
        out->amount = v;
        out->flags |= PB_F_AMOUNT;
    }
    out->kind = PB_KIND_REQUEST;
    return PB_OK;
}

/* B00: the end of day. Its timestamp is not kept: 14 digits that every text field's
 * scrub (pb_msg_scrub) would take for a card number. */
static int decode_batch_request(const struct span *f, size_t nf, struct pos_msg *out)
{
    out->txn = PB_TXN_END_OF_DAY;
    text_add(out->text, sizeof out->text, "v", field(f, nf, RQ_VERSION), 8);
    out->kind = PB_KIND_REQUEST;
    return PB_OK;
}

/* The outcome is read from result_text (trailing spaces trimmed), so what encode()
 * writes back from it maps to the same result. */
static void map_code(struct span code, struct span message, struct pos_msg *out)
{
    copy_span(out->result_text, sizeof out->result_text, code);
    out->result = PB_RESULT_UNKNOWN;
    const char *t = out->result_text;
    struct span c = {(const uint8_t *)t, strlen(t)};
    if (c.n != 6 || !all_digits(c))
        return;
    int32_t v = 0;
    for (size_t i = 0; i < 6; i++)
        v = v * 10 + (t[i] - '0');
    out->result_code = v;
    out->flags |= PB_F_RESULT_CODE;
    const struct pax_code *k = code_of(t);
    if (k) {
        out->result = k->result;
        if (strcmp(t, CODE_PARTIAL) == 0)
            out->flags |= PB_F_PARTIAL; /* the protocol's own partial-approval marker */
        /* One code for several errors [pl-sdk Code100023]: its message tells the abort. */
        if (strcmp(t, CODE_GENERAL) == 0 && eq(message, MSG_USER_ABORTED))
            out->result = PB_RESULT_ABORTED;
        return;
    }
    if (t[0] == '1')
        out->result = PB_RESULT_NOT_PROCESSED; /* 1xxxxx: the terminal's own errors */
}

/* "type=TT v=VER status=S [count=N] msg=MESSAGE"; the message is the last token and may
 * hold spaces. */
static void response_text(const struct span *f, size_t nf, struct span type, struct span count,
                          struct pos_msg *out)
{
    if (type.n)
        text_add(out->text, sizeof out->text, "type", type, 4);
    text_add(out->text, sizeof out->text, "v", field(f, nf, RS_VERSION), 8);
    text_add(out->text, sizeof out->text, "status", field(f, nf, RS_STATUS), 4);
    if (count.n)
        text_add(out->text, sizeof out->text, "count", count, 12);
    struct span msg = field(f, nf, RS_MESSAGE);
    size_t l = strnlen(out->text, sizeof out->text);
    snprintf(out->text + l, sizeof out->text - l, " msg=");
    l = strnlen(out->text, sizeof out->text);
    if (msg.n)
        pb_copy_printable(out->text + l, sizeof out->text - l, msg.p, msg.n);
}

/* T01 and T03 share their first ten fields. */
static int decode_response(const struct span *f, size_t nf, struct pos_msg *out)
{
    struct span type = field(f, nf, RS_TYPE), host = field(f, nf, RS_HOST);
    struct span amounts = field(f, nf, RS_AMOUNT), trace = field(f, nf, RS_TRACE);
    out->txn = txn_of(type);
    map_code(field(f, nf, RS_CODE), field(f, nf, RS_MESSAGE), out);
    response_text(f, nf, type, (struct span){NULL, 0}, out);
    copy_span(out->auth_code, sizeof out->auth_code, sub(host, RS_HOST_AUTH));
    copy_span(out->trace, sizeof out->trace, sub(host, RS_HOST_TRACE));
    copy_span(out->receipt, sizeof out->receipt, sub(trace, RS_TRACE_TXN));
    copy_span(out->reference, sizeof out->reference, sub(trace, RS_TRACE_REF));
    store_account(sub(field(f, nf, RS_ACCOUNT), RS_ACCOUNT_LAST4), out->pan, sizeof out->pan,
                  true);
    int64_t approved = 0, due = 0;
    int a = parse_amount(sub(amounts, RS_AMOUNT_APPROVED), &approved);
    int d = parse_amount(sub(amounts, RS_AMOUNT_DUE), &due);
    if (a < 0 || d < 0)
        return malformed(out, a < 0 ? "response: approved amount not digits"
                                    : "response: amount due not digits");
    if (is_duplicate_code(out->result_text))
        a = d = 0; /* the original transaction's amounts: no charge of this answer */
    if (a > 0) {
        out->amount = approved;
        out->flags |= PB_F_AMOUNT;
    }
    if (d > 0 && due > 0) {
        /* Amount still owed after a partial approval: the tracker's partial marker. */
        out->amount_due = due;
        out->flags |= PB_F_AMOUNT_DUE;
    }
    out->kind = PB_KIND_RESULT;
    return PB_OK;
}

/* A B01 total: credit plus debit, the card payments the bridge weighs as T00 and T02
 * (their sign is the terminal's [?]: a leading '-' is taken). 1 parsed, 0 not. */
static int parse_total(struct span s, int64_t *out)
{
    struct span part[3]; /* credit, debit, the rest */
    size_t k = split(s.p, s.n, '=', part, 3);
    int64_t sum = 0;
    bool any = false;
    for (size_t i = 0; i < k && i <= TOTAL_DEBIT; i++) {
        bool neg = part[i].n > 0 && part[i].p[0] == '-';
        struct span d = {part[i].p + neg, part[i].n - neg};
        int64_t x;
        int r = parse_amount(d, &x);
        if (r < 0 || (neg && r == 0))
            return 0;
        if (r > 0) {
            sum += neg ? -x : x;
            any = true;
        }
    }
    if (!any || sum > 999999999999999LL || sum < -999999999999999LL)
        return 0; /* what encode() can write back as one total */
    *out = sum;
    return 1;
}

static int decode_batch_response(const struct span *f, size_t nf, struct pos_msg *out)
{
    out->txn = PB_TXN_END_OF_DAY;
    map_code(field(f, nf, RS_CODE), field(f, nf, RS_MESSAGE), out);
    struct span count = field(f, nf, BS_COUNT);
    char ctext[24] = "";
    int64_t c;
    if (count.n && parse_total(count, &c))
        snprintf(ctext, sizeof ctext, "%lld", (long long)c);
    response_text(f, nf, (struct span){NULL, 0},
                  (struct span){(const uint8_t *)ctext, strlen(ctext)}, out);
    copy_span(out->terminal_id, sizeof out->terminal_id, field(f, nf, BS_TID));
    copy_span(out->trace, sizeof out->trace, sub(field(f, nf, BS_HOST), RS_HOST_TRACE));
    int64_t total;
    if (parse_total(field(f, nf, BS_AMOUNT), &total)) {
        /* The terminal's total for the batch (bridge/batch.h compares it). */
        out->amount = total;
        out->flags |= PB_F_AMOUNT;
    }
    out->kind = PB_KIND_RESULT;
    return PB_OK;
}

static int decode_fields(const struct pb_frame *fr, enum pb_dir dir, struct pos_msg *out)
{
    pb_msg_init(out);
    out->proto = &pb_proto_pax;
    out->dir = dir;
    if (!fr) {
        out->flags |= PB_F_MALFORMED;
        return PB_ERR_INVAL;
    }
    out->offset = fr->offset;
    out->length = fr->length;
    out->checksum_ok = fr->checksum_ok;
    if (fr->type == PB_FRAME_CONTROL) {
        out->control = fr->control;
        switch (fr->control) {
        case PB_ACK:
            out->kind = PB_KIND_ACK;
            return PB_OK;
        case PB_NAK:
            out->kind = PB_KIND_NAK;
            return PB_OK;
        case PB_EOT:
            out->kind = PB_KIND_EOT;
            return PB_OK;
        }
        out->flags |= PB_F_MALFORMED;
        snprintf(out->text, sizeof out->text, "control byte 0x%02x", fr->control);
        return PB_ERR_SYNTAX;
    }
    if (fr->type != PB_FRAME_DATA || fr->payload_len > sizeof fr->payload) {
        out->flags |= PB_F_MALFORMED;
        return PB_ERR_INVAL;
    }
    if (!fr->checksum_ok)
        out->flags |= PB_F_CHECKSUM_BAD;
    struct span f[PAX_FIELDS_MAX];
    size_t nf = split(fr->payload, fr->payload_len, PB_FS, f, PAX_FIELDS_MAX);
    /* Requests start with the command; responses with a status digit, then it. */
    enum pb_dir expect = PB_DIR_UNKNOWN;
    struct span cmd = {NULL, 0};
    bool status = nf >= 2 && f[0].n >= 1 && f[0].n <= 2 && all_digits(f[0]);
    if (nf >= 2 && is_command(f[0])) {
        expect = PB_DIR_ECR;
        cmd = f[0];
    } else if (status && is_command(f[1])) {
        expect = PB_DIR_PT;
        cmd = f[1];
    }
    bool more = status && eq(f[0], STATUS_MORE);
    if (more)
        out->flags |= PB_F_MORE;
    if (expect == PB_DIR_UNKNOWN) {
        find_pan(fr->payload, fr->payload_len, out->pan, sizeof out->pan);
        if (status && (more || eq(f[0], STATUS_LAST)))
            /* A later packet of a multi-packet message: it goes on where the last one
             * stopped, so it has no command of its own (pb_pax_join assembles them). */
            snprintf(out->text, sizeof out->text, "packet status=%c, %zu bytes", f[0].p[0],
                     fr->payload_len);
        else
            snprintf(out->text, sizeof out->text, "unknown %zu-byte frame", fr->payload_len);
        return PB_OK;
    }
    out->cmd = command_code(cmd);
    if (dir != PB_DIR_UNKNOWN && dir != expect) {
        snprintf(out->text, sizeof out->text, "unexpected %c%c%c from %s", cmd.p[0], cmd.p[1],
                 cmd.p[2], pb_dir_name(dir));
        return PB_OK;
    }
    out->dir = expect;
    /* A packet with more to follow may stop inside its last field: that field waits for
     * the next packet, only the fields before it are read. */
    size_t use = more && nf > 2 ? nf - 1 : nf;
    const struct pax_command *c = command_of(cmd);
    enum pax_layout layout = c ? c->layout : LAYOUT_NONE;
    int r = PB_OK;
    bool decoded = true;
    if (expect == PB_DIR_ECR && (layout == LAYOUT_CREDIT_RQ || layout == LAYOUT_DEBIT_RQ))
        r = decode_request(f, use, out);
    else if (expect == PB_DIR_ECR && layout == LAYOUT_BATCH_RQ)
        r = decode_batch_request(f, use, out);
    else if (expect == PB_DIR_PT && (layout == LAYOUT_CREDIT_RS || layout == LAYOUT_DEBIT_RS))
        r = decode_response(f, use, out);
    else if (expect == PB_DIR_PT && layout == LAYOUT_BATCH_RS)
        r = decode_batch_response(f, use, out);
    else
        decoded = false;
    if (decoded) {
        /* Not the final answer: proof the terminal is working on it (the tracker extends
         * its wait), with what the packet already says; the joined message is the result. */
        if (more && r == PB_OK && out->kind == PB_KIND_RESULT)
            out->kind = PB_KIND_INTERMEDIATE;
        return r;
    }
    find_pan(fr->payload, fr->payload_len, out->pan, sizeof out->pan);
    const char *name = command_name(cmd);
    snprintf(out->text, sizeof out->text, "command %c%c%c%s%s%s", cmd.p[0], cmd.p[1], cmd.p[2],
             name ? " (" : "", name ? name : "", name ? ")" : "");
    return PB_OK;
}

/* ---- encoding ------------------------------------------------------------------------- */

struct writer {
    uint8_t *p;
    size_t n, cap;
    int err;
};

static void put_byte(struct writer *w, uint8_t b)
{
    if (w->n >= w->cap) {
        w->err = PB_ERR_RANGE;
        return;
    }
    w->p[w->n++] = b;
}

/* Field text: printable ASCII only (a separator inside would shift every field). */
static void put_str(struct writer *w, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c < 0x20 || c > 0x7F) {
            w->err = PB_ERR_INVAL;
            return;
        }
        put_byte(w, c);
    }
}

static void put_cstr(struct writer *w, const char *s, size_t cap)
{
    put_str(w, s, strnlen(s, cap));
}

static void put_fs(struct writer *w)
{
    put_byte(w, PB_FS);
}

/* Writes the sub-fields of a group, dropping empty trailing ones. */
static void put_group(struct writer *w, const char *const *subs, size_t n, size_t cap)
{
    while (n > 0 && (!subs[n - 1] || !subs[n - 1][0]))
        n--;
    for (size_t i = 0; i < n; i++) {
        if (i)
            put_byte(w, PB_US);
        if (subs[i])
            put_cstr(w, subs[i], cap);
    }
}

/* The value after "key=" in text up to the next space (or to the end when rest). */
static void token(const char *text, const char *key, bool rest, char *out, size_t cap,
                  const char *dflt)
{
    const char *t = text;
    size_t kl = strlen(key);
    for (;;) {
        t = strstr(t, key);
        if (!t || t == text || t[-1] == ' ')
            break;
        t += kl;
    }
    if (!t || t[kl] != '=') {
        snprintf(out, cap, "%s", dflt);
        return;
    }
    t += kl + 1;
    size_t n = rest ? strlen(t) : strcspn(t, " ");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, t, n);
    out[n] = '\0';
}

static int type_wire(const struct pos_msg *m, const char *text, char *type, size_t cap)
{
    char tok[8];
    token(text, "type", false, tok, sizeof tok, "");
    if (m->txn == PB_TXN_NONE) {
        type[0] = '\0';
        return PB_OK;
    }
    for (size_t i = 0; i < sizeof TYPE_TABLE / sizeof TYPE_TABLE[0]; i++)
        if (strcmp(tok, TYPE_TABLE[i].wire) == 0 && TYPE_TABLE[i].txn == m->txn) {
            snprintf(type, cap, "%s", tok);
            return PB_OK;
        }
    if (m->txn == PB_TXN_OTHER && tok[0] && txn_of((struct span){(const uint8_t *)tok,
                                                                 strlen(tok)}) == PB_TXN_OTHER) {
        snprintf(type, cap, "%s", tok);
        return PB_OK;
    }
    for (size_t i = 0; m->txn != PB_TXN_OTHER && i < sizeof TYPE_TABLE / sizeof TYPE_TABLE[0];
         i++)
        if (TYPE_TABLE[i].txn == m->txn) {
            snprintf(type, cap, "%s", TYPE_TABLE[i].wire);
            return PB_OK;
        }
    return PB_ERR_UNSUPPORTED;
}

static char *amount_str(char *buf, size_t cap, bool present, int64_t v)
{
    buf[0] = '\0';
    if (present)
        snprintf(buf, cap, "%lld", (long long)v);
    return buf;
}

static bool amount_ok(int64_t v)
{
    return v >= 0 && v <= 999999999999999LL;
}

/* The command encode() writes: the message's own when it is one of the decoded ones and
 * fits its kind, else the end of day's B00/B01 or the credit T00/T01. */
static enum pax_layout layout_for(const struct pos_msg *m)
{
    bool rq = m->kind == PB_KIND_REQUEST;
    for (size_t i = 0; m->cmd && i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        const char *c = COMMANDS[i].wire;
        if (m->cmd != ((uint32_t)(uint8_t)c[0] << 8 | (uint32_t)((c[1] - '0') * 10 + (c[2] - '0'))))
            continue;
        enum pax_layout l = COMMANDS[i].layout;
        bool is_rq = l == LAYOUT_CREDIT_RQ || l == LAYOUT_DEBIT_RQ || l == LAYOUT_BATCH_RQ;
        bool batch = l == LAYOUT_BATCH_RQ || l == LAYOUT_BATCH_RS;
        if (l != LAYOUT_NONE && is_rq == rq && batch == (m->txn == PB_TXN_END_OF_DAY))
            return l;
    }
    if (m->txn == PB_TXN_END_OF_DAY)
        return rq ? LAYOUT_BATCH_RQ : LAYOUT_BATCH_RS;
    return rq ? LAYOUT_CREDIT_RQ : LAYOUT_CREDIT_RS;
}

static void encode_request(const struct pos_msg *m, const char *text, enum pax_layout l,
                           struct writer *w)
{
    char version[16];
    token(text, "v", false, version, sizeof version, DEFAULT_VERSION);
    if (l == LAYOUT_BATCH_RQ) {
        put_str(w, "B00", 3); /* command, version, an empty timestamp */
        put_fs(w);
        put_cstr(w, version, sizeof version);
        put_fs(w);
        return;
    }
    char type[8], amount[24];
    if ((w->err = type_wire(m, text, type, sizeof type)) < 0)
        return;
    if ((m->flags & PB_F_AMOUNT) && !amount_ok(m->amount)) {
        w->err = PB_ERR_RANGE;
        return;
    }
    amount_str(amount, sizeof amount, m->flags & PB_F_AMOUNT, m->amount);
    const char *amounts[] = {amount};
    const char *account[] = {m->pan};
    const char *trace[] = {m->reference, "", m->auth_code, m->receipt};
    put_str(w, l == LAYOUT_DEBIT_RQ ? "T02" : "T00", 3);
    put_fs(w);
    put_cstr(w, version, sizeof version);
    put_fs(w);
    put_cstr(w, type, sizeof type);
    put_fs(w);
    put_group(w, amounts, 1, sizeof amount);
    put_fs(w);
    put_group(w, account, 1, sizeof m->pan);
    put_fs(w);
    put_group(w, trace, 4, PB_REF_MAX);
    /* T00: AVS, cashier, commercial, e-commerce; T02: cashier, extended data; all empty */
    size_t fields = l == LAYOUT_DEBIT_RQ ? RQ_DEBIT_FIELDS : RQ_CREDIT_FIELDS;
    for (size_t i = RQ_TRACE + 1; i < fields; i++)
        put_fs(w);
}

static void encode_response(const struct pos_msg *m, const char *text, enum pax_layout l,
                            struct writer *w)
{
    char version[16], status[8], msg[PB_TEXT_MAX], code[PB_REF_MAX];
    token(text, "v", false, version, sizeof version, DEFAULT_VERSION);
    token(text, "status", false, status, sizeof status, "0");
    token(text, "msg", true, msg, sizeof msg, "");
    size_t cl = strnlen(m->result_text, sizeof m->result_text);
    bool raw = cl == 6;
    for (size_t i = 0; i < cl; i++)
        raw = raw && is_digit((uint8_t)m->result_text[i]);
    if (raw) {
        memcpy(code, m->result_text, 7);
    } else {
        const char *d = default_code(m->result);
        if (!d) {
            w->err = PB_ERR_UNSUPPORTED;
            return;
        }
        snprintf(code, sizeof code, "%s", d);
    }
    if ((l != LAYOUT_BATCH_RS && (m->flags & PB_F_AMOUNT) && !amount_ok(m->amount)) ||
        ((m->flags & PB_F_AMOUNT_DUE) && !amount_ok(m->amount_due))) {
        w->err = PB_ERR_RANGE;
        return;
    }
    const char *cmd = l == LAYOUT_BATCH_RS ? "B01" : l == LAYOUT_DEBIT_RS ? "T03" : "T01";
    put_cstr(w, status, sizeof status);
    put_fs(w);
    put_str(w, cmd, 3);
    put_fs(w);
    put_cstr(w, version, sizeof version);
    put_fs(w);
    put_cstr(w, code, sizeof code);
    put_fs(w);
    put_cstr(w, msg, sizeof msg);
    put_fs(w);
    char approved[24], due[24];
    if (l == LAYOUT_BATCH_RS) {
        /* host group (trace), total count, total amount, timestamp, TID */
        char count[16];
        token(text, "count", false, count, sizeof count, "");
        const char *host[] = {"", "", "", "", m->trace};
        put_group(w, host, 5, PB_REF_MAX);
        put_fs(w);
        put_cstr(w, count, sizeof count);
        put_fs(w);
        if ((m->flags & PB_F_AMOUNT) &&
            (m->amount > 999999999999999LL || m->amount < -999999999999999LL)) {
            w->err = PB_ERR_RANGE;
            return;
        }
        /* one total (a net one may be negative): decode reads it as credit alone */
        if (m->flags & PB_F_AMOUNT)
            put_cstr(w, amount_str(approved, sizeof approved, true, m->amount), sizeof approved);
        put_fs(w);
        put_fs(w);
        put_cstr(w, m->terminal_id, sizeof m->terminal_id);
        return;
    }
    char type[8];
    if ((w->err = type_wire(m, text, type, sizeof type)) < 0)
        return;
    amount_str(approved, sizeof approved, m->flags & PB_F_AMOUNT, m->amount);
    amount_str(due, sizeof due, (m->flags & PB_F_AMOUNT_DUE) && m->amount_due > 0,
               m->amount_due);
    const char *host[] = {"", "", m->auth_code, "", m->trace};
    const char *amounts[] = {approved, due};
    const char *account[] = {m->pan};
    const char *trace[] = {m->receipt, m->reference};
    put_group(w, host, 5, PB_REF_MAX);
    put_fs(w);
    put_cstr(w, type, sizeof type);
    put_fs(w);
    put_group(w, amounts, 2, sizeof approved);
    put_fs(w);
    put_group(w, account, 1, sizeof m->pan);
    put_fs(w);
    put_group(w, trace, 2, PB_REF_MAX);
}

static int pax_encode(const struct pos_msg *m, uint8_t *buf, size_t cap)
{
    if (!m || (!buf && cap))
        return PB_ERR_INVAL;
    uint8_t control = 0;
    switch (m->kind) {
    case PB_KIND_ACK:
        control = PB_ACK;
        break;
    case PB_KIND_NAK:
        control = PB_NAK;
        break;
    case PB_KIND_EOT:
        control = PB_EOT;
        break;
    case PB_KIND_REQUEST:
    case PB_KIND_RESULT:
        break;
    default:
        return PB_ERR_UNSUPPORTED;
    }
    if (control) {
        if (cap < 1)
            return PB_ERR_RANGE;
        buf[0] = control;
        return 1;
    }
    if (m->flags & PB_F_MALFORMED)
        return PB_ERR_UNSUPPORTED;
    char text[PB_TEXT_MAX + 1];
    memcpy(text, m->text, PB_TEXT_MAX);
    text[PB_TEXT_MAX] = '\0';
    if (cap < 3)
        return PB_ERR_RANGE;
    struct writer w = {buf + 1, 0, cap - 3 < PAX_PAYLOAD_MAX ? cap - 3 : PAX_PAYLOAD_MAX, 0};
    enum pax_layout l = layout_for(m);
    if (m->kind == PB_KIND_REQUEST)
        encode_request(m, text, l, &w);
    else
        encode_response(m, text, l, &w);
    if (w.err < 0)
        return w.err;
    buf[0] = PB_STX;
    buf[w.n + 1] = PB_ETX;
    buf[w.n + 2] = pb_lrc(buf + 1, w.n + 1);
    return (int)w.n + 3;
}

/* ---- redaction ------------------------------------------------------------------------ */

/* Stars digits of s (a sub-field inside wire) except the first `head` and last `tail`
 * digits, keeping the LRC in step by XOR. */
static size_t star_digits(uint8_t *wire, struct span s, size_t head, size_t tail, uint8_t *lrc)
{
    size_t digits = 0, changed = 0;
    for (size_t i = 0; i < s.n; i++)
        digits += is_digit(s.p[i]);
    size_t seen = 0;
    for (size_t i = 0; i < s.n; i++) {
        uint8_t *c = wire + (s.p + i - wire);
        if (!is_digit(*c))
            continue;
        seen++;
        if (seen <= head || seen > digits - (tail < digits ? tail : digits))
            continue;
        *lrc ^= (uint8_t)(*c ^ '*');
        *c = '*';
        changed++;
    }
    return changed;
}

/* A whole card number (a manual entry, a replaced gift card's new number): first 6 and last
 * 4 kept when it is PAN-long, as pb_mask_pan; the stars of an earlier masking count, so a
 * second redaction changes nothing. */
static size_t star_card(uint8_t *wire, struct span number, uint8_t *lrc)
{
    size_t chars = 0;
    for (size_t i = 0; i < number.n; i++)
        chars += is_digit(number.p[i]) || number.p[i] == '*';
    return star_digits(wire, number, chars >= PAN_MIN ? 6 : 0, 4, lrc);
}

/* Free text (messages, extended data, unknown layouts): card numbers and track data. */
static size_t mask_free(uint8_t *p, size_t n, uint8_t *lrc)
{
    size_t changed = pb_mask_track_ascii(p, n, lrc);
    return changed + pb_mask_digit_runs(p, n, lrc);
}

static size_t pax_redact(uint8_t *wire, size_t len)
{
    if (!wire || len < 3 || wire[0] != PB_STX || wire[len - 2] != PB_ETX)
        return 0;
    size_t plen = len - 3;
    if (plen > PAX_PAYLOAD_MAX)
        return 0;
    for (size_t i = 1; i <= plen; i++)
        if (!is_data(wire[i]))
            return 0;
    uint8_t lrc = wire[len - 1];
    size_t changed = 0;
    struct span f[PAX_FIELDS_MAX];
    size_t nf = split(wire + 1, plen, PB_FS, f, PAX_FIELDS_MAX);
    size_t amounts = SIZE_MAX; /* the amount group: numbers, not card data */
    const struct pax_command *rq = nf >= 2 ? command_of(f[0]) : NULL;
    const struct pax_command *rs = nf >= 2 && f[0].n >= 1 && f[0].n <= 2 && all_digits(f[0])
                                       ? command_of(f[1])
                                       : NULL;
    if (rq && (rq->layout == LAYOUT_CREDIT_RQ || rq->layout == LAYOUT_DEBIT_RQ)) {
        amounts = RQ_AMOUNT;
        /* Manual entry [gp-java AccountRequest]: account number, expiry, CVV. */
        struct span acc = field(f, nf, RQ_ACCOUNT);
        changed += star_card(wire, sub(acc, RQ_ACCOUNT_NUMBER), &lrc);
        changed += star_digits(wire, sub(acc, RQ_ACCOUNT_EXPIRY), 0, 0, &lrc);
        changed += star_digits(wire, sub(acc, RQ_ACCOUNT_CVV), 0, 0, &lrc);
    } else if (rs && (rs->layout == LAYOUT_CREDIT_RS || rs->layout == LAYOUT_DEBIT_RS)) {
        amounts = RS_AMOUNT;
        /* Last 4 digits only, the expiry, and a new account's number [gp-java
         * AccountResponse]. */
        struct span acc = field(f, nf, RS_ACCOUNT);
        changed += star_digits(wire, sub(acc, RS_ACCOUNT_LAST4), 0, 4, &lrc);
        changed += star_digits(wire, sub(acc, RS_ACCOUNT_EXPIRY), 0, 0, &lrc);
        changed += star_card(wire, sub(acc, RS_ACCOUNT_NEW), &lrc);
    } else if (rs && rs->layout == LAYOUT_BATCH_RS) {
        amounts = BS_AMOUNT;
    }
    /* Any other place (a message, extended data, an unknown layout): any PAN-long run and
     * any track data. */
    if (amounts < nf) {
        size_t from = (size_t)(f[amounts].p - wire), to = from + f[amounts].n;
        changed += mask_free(wire + 1, from - 1, &lrc);
        changed += mask_free(wire + to, 1 + plen - to, &lrc);
    } else {
        changed += mask_free(wire + 1, plen, &lrc);
    }
    if (lrc != wire[len - 1]) {
        wire[len - 1] = lrc;
        changed++;
    }
    return changed;
}

/* ---- multi-packet messages ------------------------------------------------------------ */

/* [pl-sdk CABLEProto.readMultipleResponse, ProtoCommUtils.formatCmdWithoutSTXAndETX]: each
 * packet is STX status FS body ETX LRC, the receiver ACKs it; while the status is "1" the
 * bodies are appended as they are (a body may stop inside a field, even inside a number);
 * the packet with another status ends the message, which is then read as STX "0" FS
 * bodies ETX. */
struct pb_pax_joiner {
    struct pb_frame whole;
    size_t last_off, last_len; /* the last packet's body inside whole.payload */
    unsigned packets;
    bool active;
};

int pb_pax_joiner_new(struct pb_pax_joiner **out)
{
    if (!out)
        return PB_ERR_INVAL;
    *out = calloc(1, sizeof **out);
    return *out ? PB_OK : PB_ERR_NOMEM;
}

void pb_pax_joiner_free(struct pb_pax_joiner *j)
{
    free(j);
}

void pb_pax_joiner_reset(struct pb_pax_joiner *j)
{
    if (!j)
        return;
    j->active = false;
    j->packets = 0;
    j->whole.payload_len = 0;
    j->last_off = j->last_len = 0;
}

/* The body of a packet (after "status FS"); false when f is no packet of a response. */
static bool packet_body(const struct pb_frame *f, bool *more, struct span *body)
{
    if (f->type != PB_FRAME_DATA || f->payload_len > sizeof f->payload)
        return false;
    const uint8_t *p = f->payload;
    size_t n = f->payload_len, i = 0;
    while (i < n && i < 3 && p[i] != PB_FS)
        i++;
    if (i == 0 || i > 2 || i >= n)
        return false;
    for (size_t k = 0; k < i; k++)
        if (!is_digit(p[k]))
            return false;
    *more = i == 1 && p[0] == '1';
    *body = (struct span){p + i + 1, n - i - 1};
    return true;
}

int pb_pax_join(struct pb_pax_joiner *j, const struct pb_frame *f, const struct pb_frame **whole)
{
    if (!j || !f)
        return PB_ERR_INVAL;
    if (whole)
        *whole = NULL;
    bool more = false;
    struct span body;
    if (f->type == PB_FRAME_CONTROL)
        return PB_PAX_JOIN_PASS; /* ACK, NAK, EOT: the packets' own handshake */
    if (!f->checksum_ok)
        return PB_PAX_JOIN_PASS; /* NAKed: the sender repeats it */
    if (!packet_body(f, &more, &body)) {
        pb_pax_joiner_reset(j); /* a request or noise: no message is being continued */
        return PB_PAX_JOIN_PASS;
    }
    if (!j->active && !more)
        return PB_PAX_JOIN_PASS; /* a single-packet answer */
    uint8_t *w = j->whole.payload;
    if (!j->active) {
        j->active = true;
        j->packets = 0;
        w[0] = '0';
        w[1] = PB_FS;
        j->whole.payload_len = 2;
        j->whole.offset = f->offset;
        j->whole.length = 0;
        j->last_len = 0;
    } else if (body.n == j->last_len && j->last_len &&
               memcmp(w + j->last_off, body.p, body.n) == 0 && more) {
        /* the same packet again (our ACK was lost): held once */
        j->whole.length += f->length;
        return PB_PAX_JOIN_HELD;
    }
    if (body.n > PAX_JOIN_MAX - j->whole.payload_len) {
        pb_pax_joiner_reset(j);
        return PB_ERR_RANGE; /* larger than any message kept: decode packets alone */
    }
    memcpy(w + j->whole.payload_len, body.p, body.n);
    j->last_off = j->whole.payload_len;
    j->last_len = body.n;
    j->whole.payload_len += body.n;
    j->whole.length += f->length;
    j->packets++;
    if (more)
        return PB_PAX_JOIN_HELD;
    j->whole.type = PB_FRAME_DATA;
    j->whole.checksum_ok = true; /* every packet held had a good LRC */
    j->whole.control = 0;
    j->active = false;
    if (whole)
        *whole = &j->whole;
    return PB_PAX_JOIN_DONE;
}

/* ---- probing -------------------------------------------------------------------------- */

static int pax_probe(const uint8_t *buf, size_t len)
{
    if (!buf)
        return 0;
    struct pb_frame *f = pb_probe_frame();
    if (!f)
        return 0;
    unsigned known = 0, shaped = 0, plain = 0, bad = 0, controls = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t resume = 0;
        f->type = PB_FRAME_GARBAGE;
        int r = pax_scan(buf + pos, len - pos, &resume, f);
        if (r <= 0) {
            pos++;
            continue;
        }
        if (f->type == PB_FRAME_DATA) {
            struct span fs[4];
            size_t nf = split(f->payload, f->payload_len, PB_FS, fs, 4);
            bool cmd = (nf >= 2 && is_command(fs[0])) ||
                       (nf >= 2 && fs[0].n >= 1 && fs[0].n <= 2 && all_digits(fs[0]) &&
                        is_command(fs[1]));
            if (!f->checksum_ok)
                bad += cmd;
            else if (cmd)
                known++;
            else if (nf >= 2)
                shaped++;
            else
                plain++;
        } else if (f->type == PB_FRAME_CONTROL) {
            controls++;
        }
        pos += (size_t)r;
    }
    if (known)
        return 95;
    if (shaped)
        return 70;
    if (bad)
        return 50;
    if (plain)
        return 20; /* STX text ETX LRC without a separator: Concert's shape too */
    return controls ? 10 : 0;
}

/* Every field decoded, then any card number in free text masked (pb_msg_scrub). */
static int pax_decode(const struct pb_frame *f, enum pb_dir dir, struct pos_msg *out)
{
    int r = decode_fields(f, dir, out);
    pb_msg_scrub(out);
    return r;
}

/* The multi-packet joiner behind the protocol's generic hook (protocol.h). */
static int pax_joiner_create(void **out)
{
    struct pb_pax_joiner *j = NULL;
    int r = pb_pax_joiner_new(&j);
    *out = j;
    return r;
}

static void pax_joiner_destroy(void *j)
{
    pb_pax_joiner_free(j);
}

static int pax_joiner_join(void *j, const struct pb_frame *f, const struct pb_frame **whole)
{
    int r = pb_pax_join(j, f, whole);
    return r == PB_PAX_JOIN_DONE ? PB_JOIN_DONE : r == PB_PAX_JOIN_HELD ? PB_JOIN_HELD
                                                                        : PB_JOIN_PASS;
}

static const struct pb_joiner_ops pax_joiner = {pax_joiner_create, pax_joiner_destroy,
                                                 pax_joiner_join};

const struct pb_protocol pb_proto_pax = {
    .name = "pax",
    .description = "PAX POSLink serial: STX FS/US-separated ASCII fields ETX LRC",
    .default_line = "9600,8N1", /* 9600 default; 8N1 is [?] in docs/PROTOCOLS.md */
    .link_type = 150,           /* LINKTYPE_USER3 */
    .max_frame = 1 + PAX_PAYLOAD_MAX + 2,
    .scan = pax_scan,
    .decode = pax_decode,
    .encode = pax_encode,
    .redact = pax_redact,
    .probe = pax_probe,
    .rules =
        {
            .has_accept = false,      /* the ACK of the T00 frame is all there is */
            .result_ends_txn = true,  /* the T01 is final */
            .has_partial_marker = true, /* amount due > 0 */
            .accept_timeout_ms = 3000,   /* ACK of a frame: the SDKs wait ~ seconds */
            .response_timeout_ms = 120000, /* card + host; SDK default timeouts ~ 60-120 s */
            .completion_timeout_ms = 0,
            .max_repeats = 2, /* 3 NAKs, then EOT: the first try and two repeats */
        },
    .discipline = &pb_pax_discipline,
    .joiner = &pax_joiner,
};
