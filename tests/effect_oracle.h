/*
 * The effects oracle shared by tests/test_effect.c and the fuzz target:
 * compare what the core says an instruction writes with what Zydis says.
 */
#ifndef PVL_TEST_EFFECT_ORACLE_H
#define PVL_TEST_EFFECT_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include <Zydis/Zydis.h>

#include "../core/insn.h"

/* Distinct forms seen: mnemonic plus explicit operand kinds. */
struct oracle_forms {
    uint64_t *set;
    size_t cap, nforms, nmnemonics;
    uint8_t seen_mnemonic[ZYDIS_MNEMONIC_MAX_VALUE + 1];
};
void oracle_forms_free(struct oracle_forms *f);

struct oracle_diff {
    int zydis_refused; /* Zydis does not decode it, or to another length */
    char msg[640];
};

/*
 * (buf, n) decoded by the core as (in) with effect (e).  Returns 0 when
 * Zydis decodes the same length and everything Zydis says is written is
 * in (e); otherwise 1 with (df) saying what differs.  (forms) may be NULL.
 */
int oracle_compare(const ZydisDecoder *zd, const uint8_t *buf, size_t n,
                   const struct pvl_insn *in, const struct pvl_effect *e,
                   struct oracle_diff *df, struct oracle_forms *forms);

/* The state bits (enum pvl_reg numbering) Zydis says (buf, n) writes;
 * PVL_RSP's bit for the stack pointer.  -1 if Zydis cannot decode it. */
int oracle_zydis_writes(const ZydisDecoder *zd, const uint8_t *buf, size_t n,
                        uint64_t *writes, size_t *len);

#endif
