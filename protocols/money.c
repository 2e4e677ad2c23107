#include "money.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pb_error.h"

/* ISO 4217: the currencies terminals in our markets meet, with their minor-unit
 * exponents. Sorted by numeric code. */
static const struct pb_currency currencies[] = {
    {36, "AUD", 2},  {48, "BHD", 3},  {124, "CAD", 2}, {156, "CNY", 2}, {203, "CZK", 2},
    {208, "DKK", 2}, {344, "HKD", 2}, {348, "HUF", 2}, {352, "ISK", 0}, {356, "INR", 2},
    {368, "IQD", 3}, {392, "JPY", 0}, {400, "JOD", 3}, {410, "KRW", 0}, {414, "KWD", 3},
    {434, "LYD", 3}, {458, "MYR", 2}, {484, "MXN", 2}, {512, "OMR", 3}, {554, "NZD", 2},
    {578, "NOK", 2}, {634, "QAR", 2}, {643, "RUB", 2}, {682, "SAR", 2}, {702, "SGD", 2},
    {710, "ZAR", 2}, {752, "SEK", 2}, {756, "CHF", 2}, {764, "THB", 2}, {784, "AED", 2},
    {788, "TND", 3}, {826, "GBP", 2}, {840, "USD", 2}, {901, "TWD", 2}, {941, "RSD", 2},
    {946, "RON", 2}, {949, "TRY", 2}, {953, "XPF", 0}, {975, "BGN", 2}, {978, "EUR", 2},
    {985, "PLN", 2}, {986, "BRL", 2},
};

const struct pb_currency *pb_currency_by_numeric(uint16_t numeric)
{
    size_t lo = 0, hi = sizeof currencies / sizeof currencies[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (currencies[mid].numeric == numeric)
            return &currencies[mid];
        if (currencies[mid].numeric < numeric)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct pb_currency *pb_currency_by_alpha(const char *alpha)
{
    if (!alpha)
        return NULL;
    for (size_t i = 0; i < sizeof currencies / sizeof currencies[0]; i++)
        if (strcasecmp(currencies[i].alpha, alpha) == 0)
            return &currencies[i];
    return NULL;
}

unsigned pb_currency_exponent(uint16_t numeric)
{
    const struct pb_currency *c = pb_currency_by_numeric(numeric);
    return c ? c->exponent : 2;
}

int pb_money_format(char *buf, size_t cap, int64_t minor, uint16_t currency)
{
    if (!buf || cap == 0)
        return PB_ERR_RANGE;
    unsigned exp = pb_currency_exponent(currency);
    /* Work on the magnitude as unsigned so INT64_MIN formats too. */
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    uint64_t div = 1;
    for (unsigned i = 0; i < exp; i++)
        div *= 10;
    char num[64];
    if (exp == 0)
        snprintf(num, sizeof num, "%s%llu", minor < 0 ? "-" : "", (unsigned long long)mag);
    else
        snprintf(num, sizeof num, "%s%llu.%0*llu", minor < 0 ? "-" : "",
                 (unsigned long long)(mag / div), (int)(exp & 7), (unsigned long long)(mag % div));
    const struct pb_currency *c = pb_currency_by_numeric(currency);
    int n;
    if (currency == PB_CURRENCY_NONE)
        n = snprintf(buf, cap, "%s", num);
    else if (c)
        n = snprintf(buf, cap, "%s %s", num, c->alpha);
    else
        n = snprintf(buf, cap, "%s #%03u", num, (unsigned)currency);
    return (n < 0 || (size_t)n >= cap) ? PB_ERR_RANGE : n;
}

int pb_money_parse(const char *text, uint16_t currency, int64_t *out)
{
    if (!text || !out)
        return PB_ERR_INVAL;
    unsigned exp = pb_currency_exponent(currency);
    const char *p = text;
    int neg = 0;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (!isdigit((unsigned char)*p))
        return PB_ERR_SYNTAX;
    uint64_t whole = 0;
    for (; isdigit((unsigned char)*p); p++) {
        if (whole > (UINT64_MAX - 9) / 10)
            return PB_ERR_RANGE;
        whole = whole * 10 + (uint64_t)(*p - '0');
    }
    uint64_t frac = 0;
    unsigned nfrac = 0;
    if (*p == '.' || *p == ',') {
        p++;
        if (!isdigit((unsigned char)*p))
            return PB_ERR_SYNTAX;
        for (; isdigit((unsigned char)*p); p++) {
            if (++nfrac > exp)
                return PB_ERR_SYNTAX; /* more decimals than the currency has */
            frac = frac * 10 + (uint64_t)(*p - '0');
        }
    }
    if (*p != '\0')
        return PB_ERR_SYNTAX;
    for (; nfrac < exp; nfrac++)
        frac *= 10;
    uint64_t scale = 1;
    for (unsigned i = 0; i < exp; i++)
        scale *= 10;
    if (whole > ((uint64_t)INT64_MAX - frac) / scale)
        return PB_ERR_RANGE;
    int64_t v = (int64_t)(whole * scale + frac);
    *out = neg ? -v : v;
    return PB_OK;
}
