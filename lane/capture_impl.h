/* capture_impl: the pcapng format as both halves of the capture module use it, the
 * writer (capture.c) and the reader (capture_read.c); private to them (the API is
 * capture.h). Layouts follow draft-ietf-opsawg-pcapng; section numbers are its. */
#ifndef PB_CAPTURE_IMPL_H
#define PB_CAPTURE_IMPL_H

#include <stddef.h>

/* Block types (section 4 and the block-type registry). */
#define BT_SHB 0x0A0D0D0Au /* Section Header Block: palindromic, same in both byte orders */
#define BT_IDB 0x00000001u /* Interface Description Block */
#define BT_EPB 0x00000006u /* Enhanced Packet Block */
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define BYTE_ORDER_MAGIC_SWAPPED 0x4D3C2B1Au

/* Option codes (section 3.5 common options, 4.1 SHB, 4.2 IDB, 4.3 EPB). */
#define OPT_ENDOFOPT 0
#define OPT_COMMENT 1
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME 2
#define OPT_IF_TSRESOL 9
#define OPT_IF_TSOFFSET 14
#define OPT_EPB_FLAGS 2

/* epb_flags bits 0-1: inbound/outbound (section 4.3.1). posbridge: ECR->PT is inbound. */
#define EPB_DIR_MASK 0x3u
#define EPB_DIR_INBOUND 0x1u
#define EPB_DIR_OUTBOUND 0x2u

#define TSRESOL_US 6 /* if_tsresol: 10^-6 s */

/* Block bodies and option values are padded to 32 bits. */
static inline size_t pad4(size_t n)
{
    return (n + 3u) & ~(size_t)3u;
}

#endif
