// SPDX-License-Identifier: Apache-2.0
/*
 * Seccomp policies as data: a user's JSON file (Firecracker's filter shape)
 * parsed into struct jail_policy, and the printout of any policy. The JSON
 * is untrusted input: every count and number is bounded here, and every
 * error names the field.
 */
#include <errno.h>
#include <jansson.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/jail.h>
#include <petrel/util.h>

#define POLICY_FILE_MAX		MiB(1)
#define RULES_MAX		1024	/* per thread */

static const char *const thread_names[JAIL_NR_THREADS] = {
	[JAIL_API] = "api", [JAIL_VMM] = "vmm", [JAIL_VCPU] = "vcpu",
};

static const char *const cmp_names[] = {
	[JAIL_EQ] = "eq", [JAIL_NE] = "ne", [JAIL_LT] = "lt", [JAIL_LE] = "le",
	[JAIL_GT] = "gt", [JAIL_GE] = "ge", [JAIL_MASKED_EQ] = "masked_eq",
};

static const struct {
	const char *name;
	uint32_t action;
} plain_actions[] = {
	{ "allow", SCMP_ACT_ALLOW }, { "trap", SCMP_ACT_TRAP },
	{ "kill_process", SCMP_ACT_KILL_PROCESS }, { "kill_thread", SCMP_ACT_KILL_THREAD },
	{ "kill", SCMP_ACT_KILL_PROCESS }, { "log", SCMP_ACT_LOG },
};

const char *jail_thread_name(enum jail_thread t)
{
	return t < JAIL_NR_THREADS ? thread_names[t] : "?";
}

/* Where the parser stands: "vcpu.filter[3].args[0]". */
struct ctx {
	char where[96];
	char *err;
	size_t errlen;
};

static int fail(struct ctx *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, const char *field, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->errlen)
		return -EINVAL;
	n = snprintf(c->err, c->errlen, "%s%s%s: ", c->where, *c->where && field ? "." : "",
		     field ? field : "");
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Every key of obj must be in known (NULL-terminated). */
static int check_keys(struct ctx *c, json_t *obj, const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		const char *const *k = known;

		while (*k && strcmp(*k, key))
			k++;
		if (!*k)
			return fail(c, key, "unknown field");
	}
	return 0;
}

/* ---- actions ---- */

static int parse_numbered_action(struct ctx *c, const char *field, json_t *v, uint32_t *out)
{
	const char *key;
	json_t *n;

	if (json_object_size(v) != 1)
		return fail(c, field, "an action object has one member: {\"errno\": N} or "
			    "{\"trace\": N}");
	key = json_object_iter_key(json_object_iter(v));
	n = json_object_iter_value(json_object_iter(v));
	if (!json_is_integer(n) || json_integer_value(n) < 0 || json_integer_value(n) > 0xffff)
		return fail(c, field, "%s: expected an integer 0..65535", key);
	if (!strcmp(key, "errno"))
		*out = SCMP_ACT_ERRNO(json_integer_value(n));
	else if (!strcmp(key, "trace"))
		*out = SCMP_ACT_TRACE(json_integer_value(n));
	else
		return fail(c, field, "unknown action \"%s\" (errno, trace)", key);
	return 0;
}

static int parse_action(struct ctx *c, const char *field, json_t *v, uint32_t *out)
{
	if (json_is_object(v))
		return parse_numbered_action(c, field, v, out);
	if (!json_is_string(v))
		return fail(c, field, "expected an action: allow, trap, kill_process, "
			    "kill_thread, log, {\"errno\": N} or {\"trace\": N}");
	for (size_t i = 0; i < ARRAY_SIZE(plain_actions); i++) {
		if (!strcmp(json_string_value(v), plain_actions[i].name)) {
			*out = plain_actions[i].action;
			return 0;
		}
	}
	return fail(c, field, "unknown action \"%s\" (allow, trap, kill_process, kill_thread, "
		    "log, {\"errno\": N}, {\"trace\": N})", json_string_value(v));
}

/* ---- argument conditions ---- */

static int parse_op(struct ctx *c, json_t *v, struct jail_cond *cond)
{
	json_t *mask = json_object_get(v, "masked_eq");

	if (json_is_object(v)) {
		if (json_object_size(v) != 1 || !json_is_integer(mask))
			return fail(c, "op", "expected {\"masked_eq\": MASK} with an integer mask");
		cond->op = JAIL_MASKED_EQ;
		cond->mask = (uint64_t)json_integer_value(mask);
		return 0;
	}
	for (size_t i = 0; json_is_string(v) && i < JAIL_MASKED_EQ; i++) {
		if (!strcmp(json_string_value(v), cmp_names[i])) {
			cond->op = i;
			return 0;
		}
	}
	return fail(c, "op", "expected eq, ne, lt, le, gt, ge or {\"masked_eq\": MASK}");
}

static int parse_type(struct ctx *c, json_t *v, struct jail_cond *cond)
{
	const char *s = json_string_value(v);

	if (s && !strcmp(s, "dword"))
		cond->qword = false;
	else if (s && !strcmp(s, "qword"))
		cond->qword = true;
	else
		return fail(c, "type", "expected \"dword\" (32 bits) or \"qword\" (64 bits)");
	return 0;
}

static bool fits_dword(int64_t v)
{
	return v >= INT32_MIN && v <= (int64_t)UINT32_MAX;
}

/* A dword looks at the low 32 bits: values and masks beyond them are refused. */
static int check_width(struct ctx *c, struct jail_cond *cond, json_int_t val)
{
	if (cond->qword)
		return 0;
	if (!fits_dword(val))
		return fail(c, "val", "%lld does not fit a dword", (long long)val);
	if (cond->op == JAIL_MASKED_EQ && !fits_dword((int64_t)cond->mask))
		return fail(c, "op", "the mask does not fit a dword");
	cond->val &= 0xffffffffu;
	cond->mask &= 0xffffffffu;
	return 0;
}

static const char *const cond_keys[] = { "index", "type", "op", "val", "comment", NULL };

static int parse_cond(struct ctx *c, json_t *v, struct jail_cond *cond)
{
	json_t *index = json_object_get(v, "index"), *val = json_object_get(v, "val");
	int ret;

	if (!json_is_object(v))
		return fail(c, NULL, "expected an object");
	ret = check_keys(c, v, cond_keys);
	if (ret)
		return ret;
	if (!json_is_integer(index) || json_integer_value(index) < 0 ||
	    json_integer_value(index) >= JAIL_MAX_CONDS)
		return fail(c, "index", "expected the argument's index, 0..5");
	cond->index = json_integer_value(index);
	ret = parse_type(c, json_object_get(v, "type"), cond) ?:
	      parse_op(c, json_object_get(v, "op"), cond);
	if (ret)
		return ret;
	if (!json_is_integer(val))
		return fail(c, "val", "expected an integer");
	cond->val = (uint64_t)json_integer_value(val);
	return check_width(c, cond, json_integer_value(val));
}

static int parse_args(struct ctx *c, json_t *args, struct jail_rule *r)
{
	size_t len = strlen(c->where), i;
	json_t *v;
	int ret;

	if (!json_is_array(args) || json_array_size(args) > JAIL_MAX_CONDS)
		return fail(c, "args", "expected an array of at most %d conditions",
			    JAIL_MAX_CONDS);
	json_array_foreach(args, i, v) {
		snprintf(c->where + len, sizeof(c->where) - len, ".args[%zu]", i);
		ret = parse_cond(c, v, &r->conds[i]);
		if (ret)
			return ret;
	}
	c->where[len] = '\0';
	r->nr_conds = json_array_size(args);
	return 0;
}

/* ---- rules and filters ---- */

static const char *const rule_keys[] = { "syscall", "args", "comment", NULL };

static int parse_rule(struct ctx *c, json_t *v, struct jail_rule *r)
{
	json_t *sys = json_object_get(v, "syscall"), *args = json_object_get(v, "args");
	int ret;

	if (!json_is_object(v))
		return fail(c, NULL, "expected an object");
	ret = check_keys(c, v, rule_keys);
	if (ret)
		return ret;
	if (!json_is_string(sys) || json_string_length(sys) >= JAIL_SYSCALL_NAME_MAX)
		return fail(c, "syscall", "expected a syscall name");
	r->nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, json_string_value(sys));
	if (r->nr == __NR_SCMP_ERROR || r->nr < 0)
		return fail(c, "syscall", "unknown syscall \"%s\" on x86_64",
			    json_string_value(sys));
	snprintf(r->name, sizeof(r->name), "%s", json_string_value(sys));
	return args ? parse_args(c, args, r) : 0;
}

static int parse_rules(struct ctx *c, json_t *arr, struct jail_filter *f)
{
	size_t len = strlen(c->where), i;
	json_t *v;
	int ret;

	if (!json_is_array(arr) || json_array_size(arr) > RULES_MAX)
		return fail(c, "filter", "expected an array of at most %d rules", RULES_MAX);
	f->rules = calloc(json_array_size(arr) ?: 1, sizeof(*f->rules));
	if (!f->rules)
		return fail(c, "filter", "out of memory");
	json_array_foreach(arr, i, v) {
		snprintf(c->where + len, sizeof(c->where) - len, ".filter[%zu]", i);
		ret = parse_rule(c, v, &f->rules[i]);
		if (ret)
			return ret;
		f->nr_rules++;
	}
	c->where[len] = '\0';
	return 0;
}

static const char *const filter_keys[] = { "default_action", "filter_action", "filter", NULL };

static int parse_filter(struct ctx *c, json_t *v, struct jail_filter *f)
{
	json_t *def = json_object_get(v, "default_action");
	json_t *act = json_object_get(v, "filter_action");
	int ret;

	if (!json_is_object(v))
		return fail(c, NULL, "expected an object with default_action, filter_action "
			    "and filter");
	ret = check_keys(c, v, filter_keys);
	if (ret)
		return ret;
	if (!def)
		return fail(c, "default_action", "missing");
	if (!json_object_get(v, "filter"))
		return fail(c, "filter", "missing");
	f->filter_action = SCMP_ACT_ALLOW;
	ret = parse_action(c, "default_action", def, &f->default_action) ?:
	      (act ? parse_action(c, "filter_action", act, &f->filter_action) : 0) ?:
	      parse_rules(c, json_object_get(v, "filter"), f);
	if (ret)
		return ret;
	if (f->nr_rules && f->default_action == f->filter_action)
		return fail(c, "filter_action", "the same as default_action: the rules would "
			    "change nothing");
	f->present = true;
	return 0;
}

static int parse_threads(struct ctx *c, json_t *root, struct jail_policy *p)
{
	static const char *const keys[] = { "api", "vmm", "vcpu", NULL };
	int ret = check_keys(c, root, keys);

	for (int t = 0; !ret && t < JAIL_NR_THREADS; t++) {
		json_t *v = json_object_get(root, thread_names[t]);

		if (!v)
			return fail(c, thread_names[t], "missing: a policy has a filter for "
				    "each thread kind (api, vmm, vcpu)");
		snprintf(c->where, sizeof(c->where), "%s", thread_names[t]);
		ret = parse_filter(c, v, &p->thread[t]);
	}
	return ret;
}

int jail_policy_parse(const char *text, size_t len, struct jail_policy *p,
		      char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen };
	json_error_t jerr;
	json_t *root;
	int ret;

	memset(p, 0, sizeof(*p));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(&c, NULL, "invalid JSON at line %d, column %d: %s", jerr.line,
			    jerr.column, jerr.text);
	if (json_is_object(root))
		ret = parse_threads(&c, root, p);
	else
		ret = fail(&c, NULL, "expected an object with api, vmm and vcpu filters");
	json_decref(root);
	if (ret)
		jail_policy_free(p);
	return ret;
}

int jail_policy_load(const char *path, struct jail_policy *p, char *err, size_t errlen)
{
	char msg[512];
	uint8_t *data;
	size_t size;
	/* A FIFO too: bash's <(...) */
	int ret = util_read_file(path, POLICY_FILE_MAX, UTIL_FILE_REG | UTIL_FILE_FIFO, &data,
				 &size, msg, sizeof(msg));

	if (ret) {
		snprintf(err, errlen, "seccomp filter %s", msg);
		return ret;
	}
	ret = jail_policy_parse((const char *)data, size, p, err, errlen);
	free(data);
	return ret;
}

void jail_policy_free(struct jail_policy *p)
{
	for (int t = 0; t < JAIL_NR_THREADS; t++) {
		free(p->thread[t].rules);
		p->thread[t].rules = NULL;
		p->thread[t].nr_rules = 0;
	}
}

unsigned int jail_filter_nr_syscalls(const struct jail_filter *f)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < f->nr_rules; i++) {
		unsigned int j = 0;

		while (j < i && f->rules[j].nr != f->rules[i].nr)
			j++;
		n += j == i;
	}
	return n;
}

/* ---- printing ---- */

static const char *action_name(uint32_t action, char *buf, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(plain_actions); i++) {
		if (plain_actions[i].action == action)
			return plain_actions[i].name;
	}
	if ((action & 0xffff0000u) == SCMP_ACT_ERRNO(0))
		snprintf(buf, len, "errno %u", action & 0xffff);
	else if ((action & 0xffff0000u) == SCMP_ACT_TRACE(0))
		snprintf(buf, len, "trace %u", action & 0xffff);
	else
		snprintf(buf, len, "0x%x", action);
	return buf;
}

static void print_rule(const struct jail_rule *r, FILE *out)
{
	fprintf(out, "  %s", r->name);
	for (unsigned int i = 0; i < r->nr_conds; i++) {
		const struct jail_cond *k = &r->conds[i];

		fprintf(out, "%s arg%u", i ? " &&" : " if", k->index);
		if (k->op == JAIL_MASKED_EQ)
			fprintf(out, " & %#llx ==", (unsigned long long)k->mask);
		else
			fprintf(out, " %s", cmp_names[k->op]);
		fprintf(out, " %#llx%s", (unsigned long long)k->val, k->qword ? "" : " (dword)");
	}
	fputc('\n', out);
}

void jail_policy_print(const struct jail_policy *p, FILE *out)
{
	char a[32], b[32];

	for (int t = 0; t < JAIL_NR_THREADS; t++) {
		const struct jail_filter *f = &p->thread[t];

		fprintf(out, "%s: %u syscalls, %u rules; default %s, on match %s\n",
			thread_names[t], jail_filter_nr_syscalls(f), f->nr_rules,
			action_name(f->default_action, a, sizeof(a)),
			action_name(f->filter_action, b, sizeof(b)));
		for (unsigned int i = 0; i < f->nr_rules; i++)
			print_rule(&f->rules[i], out);
	}
}
