#include "txn_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "money.h"

void pb_format_utc(int64_t utc_us, char *buf, size_t cap)
{
    time_t s = (time_t)(utc_us / 1000000);
    long us = (long)(utc_us % 1000000);
    if (us < 0) {
        us += 1000000;
        s -= 1;
    }
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us);
}

static void json_set_str(json_t *o, const char *key, const char *v)
{
    if (v && v[0])
        json_object_set_new(o, key, json_string(v));
}

json_t *pb_txn_json(const struct pb_txn *t)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    char ts[40];
    json_object_set_new(o, "id", json_integer((json_int_t)t->id));
    json_set_str(o, "protocol", t->protocol);
    json_object_set_new(o, "type", json_string(pb_txn_name(t->type)));
    json_object_set_new(o, "class", json_string(pb_class_name(t->cls)));
    json_object_set_new(o, "severity", json_string(pb_severity_name(pb_class_severity(t->cls))));
    json_object_set_new(o, "discrepancy", json_boolean(pb_class_is_discrepancy(t->cls)));
    if (pb_class_is_discrepancy(t->cls))
        json_object_set_new(o, "action", json_string(pb_class_action(t->cls)));
    if (t->has_requested)
        json_object_set_new(o, "requested_amount", json_integer(t->requested));
    if (t->requested_currency)
        json_object_set_new(o, "requested_currency", json_integer(t->requested_currency));
    if (t->has_charged)
        json_object_set_new(o, "charged_amount", json_integer(t->charged));
    uint16_t ccy = pb_txn_charged_currency(t);
    if (ccy)
        json_object_set_new(o, "currency", json_integer(ccy));
    if (t->has_amount_due)
        json_object_set_new(o, "amount_due", json_integer(t->amount_due));
    json_object_set_new(o, "result", json_string(pb_result_name(t->result)));
    if (t->result_code >= 0)
        json_object_set_new(o, "result_code", json_integer(t->result_code));
    json_set_str(o, "result_text", t->result_text);
    json_set_str(o, "pos_id", t->pos_id);
    json_set_str(o, "terminal_id", t->terminal_id);
    json_set_str(o, "trace", t->trace);
    json_set_str(o, "receipt", t->receipt);
    json_set_str(o, "reference", t->reference);
    json_set_str(o, "auth_code", t->auth_code);
    json_set_str(o, "pan", t->pan);
    pb_format_utc(t->started.utc_us, ts, sizeof ts);
    json_object_set_new(o, "started", json_string(ts));
    if (t->ended.utc_us) {
        pb_format_utc(t->ended.utc_us, ts, sizeof ts);
        json_object_set_new(o, "ended", json_string(ts));
    }
    if (t->latency_us >= 0)
        json_object_set_new(o, "latency_ms", json_real((double)t->latency_us / 1000.0));
    json_object_set_new(o, "naks", json_integer(t->naks));
    json_object_set_new(o, "repeats", json_integer(t->repeats));
    json_object_set_new(o, "checksum_errors", json_integer(t->checksum_errors));
    if (t->related_id)
        json_object_set_new(o, "related_id", json_integer((json_int_t)t->related_id));
    json_set_str(o, "detail", t->detail);
    json_t *ev = json_array();
    for (unsigned i = 0; i < t->n_evidence; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "dir", json_string(pb_dir_name(t->evidence[i].dir)));
        json_object_set_new(e, "offset", json_integer((json_int_t)t->evidence[i].offset));
        json_object_set_new(e, "length", json_integer(t->evidence[i].length));
        json_object_set_new(e, "kind", json_string(pb_kind_name(t->evidence[i].kind)));
        json_array_append_new(ev, e);
    }
    json_object_set_new(o, "evidence", ev);
    return o;
}

uint16_t pb_txn_requested_currency(const struct pb_txn *t)
{
    return t->requested_currency ? t->requested_currency : t->currency;
}

uint16_t pb_txn_charged_currency(const struct pb_txn *t)
{
    return t->currency ? t->currency : t->requested_currency;
}

void pb_txn_format_amounts(const struct pb_txn *t, char *req, char *chg)
{
    snprintf(req, PB_MONEY_FMT_MAX, "-");
    snprintf(chg, PB_MONEY_FMT_MAX, "-");
    if (t->has_requested)
        pb_money_format(req, PB_MONEY_FMT_MAX, t->requested, pb_txn_requested_currency(t));
    if (t->has_charged)
        pb_money_format(chg, PB_MONEY_FMT_MAX, t->charged, pb_txn_charged_currency(t));
}

char *pb_txn_to_json(const struct pb_txn *t)
{
    json_t *o = pb_txn_json(t);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}
