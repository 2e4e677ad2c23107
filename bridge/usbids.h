/* usbids: the table of USB vendor and product ids that name payment terminals
 * (docs/PROTOCOLS.md, "USB identities seen on terminals"), built in and extendable by data
 * files in the format of data/terminals.txt:
 *
 *     # comment
 *     VVVV:PPPP  name of the device          (hex ids)
 *     VVVV:*     name for every product of the vendor
 *
 *   pb_usbids_new()     the built-in table
 *   pb_usbids_load()    add a file's entries; they win over the built-in ones
 *   pb_usbids_lookup()  the name for an id: exact entries before vendor-wide ones,
 *                       later files before earlier ones, files before the built-in table
 *   pb_usbids_count()   entries held
 *   pb_usbids_free()    NULL is fine
 *
 * Ownership: names returned belong to the table and live until pb_usbids_free(). */
#ifndef PB_USBIDS_H
#define PB_USBIDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pb_usbids;

/* *out = NULL on failure. PB_OK or PB_ERR_NOMEM. */
int pb_usbids_new(struct pb_usbids **out);
/* Reads path. Each bad line is reported to errs (NULL: not reported) as
 * "PATH:LINE: what is wrong" and skipped; good lines are kept. Returns the number of bad
 * lines (0 when all are good), PB_ERR_NOTFOUND (no such file), PB_ERR_IO (errno kept),
 * PB_ERR_NOMEM, or PB_ERR_INVAL. */
int pb_usbids_load(struct pb_usbids *t, const char *path, FILE *errs);
/* The entry's name, or NULL when the id is not a known terminal. */
const char *pb_usbids_lookup(const struct pb_usbids *t, uint16_t vid, uint16_t pid);
size_t pb_usbids_count(const struct pb_usbids *t);
void pb_usbids_free(struct pb_usbids *t);

#endif
