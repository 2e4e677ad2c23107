/* txn_json: a closed transaction as its readers see it: the JSON object of --events,
 * `posbridge decode`, `report --json` and the alert program's stdin, its amounts as text
 * for log lines and alerts, and UTC times as text.
 *
 *   pb_txn_json()                the JSON object (a new reference: json_decref it)
 *   pb_txn_to_json()             the same as a malloc'd compact string (free it)
 *   pb_txn_requested_currency()  the currency of the requested amount
 *   pb_txn_charged_currency()    the currency of the charged amount
 *   pb_txn_format_amounts()      both amounts as text, each in its own currency
 *   pb_format_utc()              microseconds since 1970 as ISO 8601 UTC
 *
 * No I/O, no state: the transaction is only read, the caller owns every buffer. */
#ifndef PB_TXN_JSON_H
#define PB_TXN_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tracker.h"

/* The JSON object for a transaction: the keys of --events, decode and report --json.
 * pb_txn_json() returns a new reference (json_decref it); pb_txn_to_json() a malloc'd
 * compact string without newline (free it). NULL on allocation failure. */
json_t *pb_txn_json(const struct pb_txn *t);
char *pb_txn_to_json(const struct pb_txn *t);

/* The currency of t's requested and of its charged amount: each its own, the other's
 * when the protocol named none for it. They differ only for a currency_mismatch, and
 * then each amount must keep its own or the mismatch is hidden. */
uint16_t pb_txn_requested_currency(const struct pb_txn *t);
uint16_t pb_txn_charged_currency(const struct pb_txn *t);

/* t's requested and charged amounts as text ("12.50 EUR"; "-" when absent) into req and
 * chg, each of PB_MONEY_FMT_MAX bytes, each in its own currency, so that a currency
 * mismatch reads "requested 7.00 EUR, charged 7.00 USD". */
void pb_txn_format_amounts(const struct pb_txn *t, char *req, char *chg);
/* "2026-11-22T01:02:03.456789Z" */
void pb_format_utc(int64_t utc_us, char *buf, size_t cap);

#endif
