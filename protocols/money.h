/* money: amounts as int64_t minor units plus an ISO 4217 numeric currency code
 * (docs/DESIGN.md decision 4). Never a float, never a string past the decoder.
 *
 *   pb_currency_by_numeric()  table row for a numeric code, or NULL if unknown
 *   pb_currency_by_alpha()    table row for "EUR", "jpy"..., or NULL
 *   pb_currency_exponent()    minor-unit exponent; 2 for unknown codes
 *   pb_money_format()         "12.50 EUR" into a caller buffer
 *   pb_money_parse()          "12.50" / "12" / "-3.5" into minor units for a currency
 */
#ifndef PB_MONEY_H
#define PB_MONEY_H

#include <stddef.h>
#include <stdint.h>

struct pb_currency {
    uint16_t numeric; /* ISO 4217 numeric code, e.g. 978 */
    char alpha[4];    /* ISO 4217 letters, e.g. "EUR" */
    uint8_t exponent; /* digits after the decimal point: JPY 0, EUR 2, KWD 3 */
};

#define PB_CURRENCY_NONE 0 /* "no currency on the wire" */
#define PB_MONEY_FMT_MAX 40 /* enough for any int64 amount, a point, a space, a code */

const struct pb_currency *pb_currency_by_numeric(uint16_t numeric);
const struct pb_currency *pb_currency_by_alpha(const char *alpha);
unsigned pb_currency_exponent(uint16_t numeric);

/* Writes "<amount> <ALPHA>" (or "<amount>" when currency is 0, "<amount> #<num>" when
 * unknown). Returns the length written (as snprintf), or PB_ERR_RANGE when cap is too
 * small (the buffer then holds a truncated, terminated string). */
int pb_money_format(char *buf, size_t cap, int64_t minor, uint16_t currency);

/* Parses a decimal amount with at most the currency's exponent of fraction digits.
 * Returns PB_OK, PB_ERR_SYNTAX (not a number, too many decimals) or PB_ERR_RANGE. */
int pb_money_parse(const char *text, uint16_t currency, int64_t *out);

#endif
