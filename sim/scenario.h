/* scenario: possim's plain-text scenario files (format: docs/SCENARIOS.md).
 *
 *   sim_scenario_parse()     text -> scenario; errors as "file:line:col: message"
 *   sim_scenario_load()      the same from a file ("-" is stdin)
 *   sim_scenario_free()      NULL is fine
 *   sim_scenario_settings()  global settings (protocol, currency, seed, timers, ...)
 *   sim_scenario_count()     number of steps (transactions)
 *   sim_scenario_step()      step i (0-based); step->index is its 1-based number
 *   sim_scenario_faults()    global faults ("fault ..." lines) with their triggers
 *   sim_action_name()        "sale", "refund", ...
 *   sim_action_supported()   does the protocol play this action?
 *
 * One file drives both sides: the register takes each step's action, amount, pause,
 * timeout and ecr- faults; the terminal takes the step's terminal faults; `possim run`
 * takes the expectations. Transaction N on either side is step N. The scenario owns all
 * it returns; pointers stay valid until sim_scenario_free(). */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fault.h"
#include "tracker.h"

enum sim_action {
    SIM_ACT_SALE = 0,
    SIM_ACT_REFUND,
    SIM_ACT_VOID,
    SIM_ACT_STATUS,
    SIM_ACT_END_OF_DAY,
    SIM_ACT_REGISTRATION,
    SIM_ACT_LOGOFF,
    SIM_ACT_PREAUTH,          /* reserve an amount */
    SIM_ACT_PARTIAL_REVERSAL, /* release the unused part of a pre-authorisation */
    SIM_ACT_BOOK_TOTAL,       /* book what was used of a pre-authorisation */
    SIM_ACT__COUNT
};

#define SIM_STEP_FAULTS_MAX 12
#define SIM_SCENARIO_FAULTS_MAX 32

struct sim_expect {
    enum pb_class cls; /* PB_CLASS_NONE when the step states no expectation */
    bool has_charged;
    int64_t charged;
    bool has_due;
    int64_t due;
};

struct sim_step {
    unsigned index; /* 1-based transaction number */
    unsigned line;  /* source line of the action word */
    enum sim_action action;
    bool has_amount;
    int64_t amount;      /* minor units of the scenario currency */
    /* VOID: step whose receipt to void; 0 = the last approved sale. PARTIAL_REVERSAL,
     * BOOK_TOTAL: the pre-authorisation's step; 0 = the last approved one. */
    unsigned void_of;
    uint32_t pause_ms;   /* register waits this long before sending the step */
    uint32_t timeout_ms; /* register's give-up time for this step; 0 = the global one */
    size_t n_faults;
    struct sim_fault faults[SIM_STEP_FAULTS_MAX]; /* both sides; see fault->side */
    struct sim_expect expect;
};

struct sim_settings {
    char protocol[16]; /* "" when the file names none (the command line decides) */
    uint16_t currency; /* ISO numeric; default 978 EUR */
    bool has_seed;
    uint64_t seed;
    uint32_t timeout_ms;     /* register gives up waiting for a result; default 10 s */
    uint32_t ack_timeout_ms; /* ACK / ZVT 80 00 00 (T3) / handshake timer; default 2 s */
    uint32_t think_ms;       /* terminal's card-and-PIN time before its result; default 50 ms */
    uint32_t gap_ms;         /* register's pause between transactions; default 20 ms */
    char pos_id[3];          /* Concert POS number; default "01" */
    char terminal_id[9];     /* ZVT terminal id (8 digits); default "52500001" */
    bool receipt;            /* ZVT terminal prints its receipt to the ECR (06 D1 lines) */
    bool receipt_block;      /* ... as one print text block (06 D3) instead */
    bool partial_approval;   /* the lane's bridge counts a smaller approval as partial
                                (posbridge run --undercharge-is-partial): for protocols
                                with no partial marker, at sites that allow partial pay */
};

struct sim_scenario;

/* name is used in error messages (a path, or "<command line>"). On failure returns
 * PB_ERR_SYNTAX (or PB_ERR_NOMEM), *out = NULL, and err holds one line
 * "name:line:col: message". */
int sim_scenario_parse(const char *name, const char *text, size_t len, struct sim_scenario **out,
                       char *err, size_t errcap);
/* PB_ERR_NOTFOUND / PB_ERR_IO when the file cannot be read (err says why). */
int sim_scenario_load(const char *path, struct sim_scenario **out, char *err, size_t errcap);
void sim_scenario_free(struct sim_scenario *s);

const struct sim_settings *sim_scenario_settings(const struct sim_scenario *s);
size_t sim_scenario_count(const struct sim_scenario *s);
const struct sim_step *sim_scenario_step(const struct sim_scenario *s, size_t i);
const struct sim_fault *sim_scenario_faults(const struct sim_scenario *s, size_t *n);

/* The tracker settings of the bridge that watches this scenario's lane, exactly as
 * `possim run` starts posbridge (the register's give-up time as response and register
 * timeout, the partial-approval switch, the protocol's defaults for the rest), so that
 * `possim play` judges a scenario as the real bridge does. */
void sim_settings_tracker(const struct sim_settings *s, struct pb_tracker_config *out);

const char *sim_action_name(enum sim_action a);
/* possim plays every registered protocol that has a discipline (protocols/discipline.h):
 * sim_protocol_names() lists them, "concert|zvt|..." in registry order. */
bool sim_protocol_played(const char *name);
const char *sim_protocol_names(void);
/* Is the action played on this protocol (its discipline's `plays`, and for what is done
 * with a pre-authorisation its `preauth_ops`)? Both sides skip the steps it does not
 * play, so step numbers stay in lock-step. */
struct pb_protocol;
bool sim_action_supported(const struct pb_protocol *p, enum sim_action a);
/* pb_txn_type the action asks for (SIM_ACT_SALE -> PB_TXN_PURCHASE, ...; a partial
 * reversal is a void, a book total a purchase, each naming a pre-authorisation). */
enum pb_txn_type sim_action_txn(enum sim_action a);

#endif
