/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_AML_H
#define PETREL_AML_H

#include <stddef.h>
#include <stdint.h>

/*
 * A small AML encoder: an append-only byte buffer with nesting for the
 * package-length-prefixed scopes (Device, Scope, Package, Buffer).
 */
#define AML_MAX_DEPTH 16

struct aml {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t open[AML_MAX_DEPTH];	/* start offsets of open scopes */
	unsigned int depth;
	int error;			/* sticky -ENOMEM/-EINVAL */
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);

void aml_scope_begin(struct aml *a, const char *name);		/* ScopeOp */
void aml_device_begin(struct aml *a, const char *name);		/* ExtOpPrefix DeviceOp */
void aml_package_begin(struct aml *a, uint8_t nr_elements);	/* PackageOp */
void aml_resources_begin(struct aml *a);	/* BufferOp holding a ResourceTemplate */
void aml_method_begin(struct aml *a, const char *name, uint8_t nr_args);	/* NotSerialized */
void aml_if_begin(struct aml *a);		/* IfOp; the predicate comes first */
void aml_end(struct aml *a);			/* close the innermost scope */

void aml_name(struct aml *a, const char *name);		/* NameOp NameString; value follows */
void aml_integer(struct aml *a, uint64_t v);		/* smallest encoding */
void aml_string(struct aml *a, const char *s);
void aml_eisaid(struct aml *a, const char *id);		/* "PNP0501" -> DWord */
void aml_name_integer(struct aml *a, const char *name, uint64_t v);
void aml_name_string(struct aml *a, const char *name, const char *s);

/* Terms for method bodies: prefix operators, their operands follow. */
void aml_path(struct aml *a, const char *name);		/* a NameString: refers to an object */
void aml_arg(struct aml *a, unsigned int n);		/* Arg0..Arg6 */
void aml_return(struct aml *a);				/* ReturnOp; the value follows */
void aml_lequal(struct aml *a);				/* LEqualOp; two operands follow */
void aml_notify(struct aml *a, const char *target, uint64_t value);	/* a whole Notify */

/* Resource descriptors, inside aml_resources_begin()/aml_end(). */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_memory32_fixed(struct aml *a, uint32_t base, uint32_t len, int writable);
void aml_res_irq(struct aml *a, uint32_t gsi, int level, int active_low, int shared);

#endif
