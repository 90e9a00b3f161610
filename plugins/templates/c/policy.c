// {{name}}: a Sluice policy plugin (contract sluice:policy@{{contract}}), in C.
//
// A DELETE on a table listed in `protected_tables` needs approval from `approvers`; one that
// does not restrict its rows (no WHERE, or `WHERE 1 = 1`) is denied outright. Everything else
// is allowed. Configuration (JSON): {"protected_tables": ["customers"], "approvers": ["dba"]}.
//
// wit-bindgen c (gen/policy.h): records are structs, enums uint8_t + #defines, variants
// { tag, val }, option<T> { is_some, val }, strings and lists { ptr, len } (strings are UTF-8
// and NOT NUL-terminated). Exports own their arguments (free them); everything returned must
// come from malloc: the generated cabi_post_* functions free it after the host copied it.

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define MAX_ENTRIES 32
#define MAX_NAME 128

typedef struct {
  size_t n;
  char items[MAX_ENTRIES][MAX_NAME]; // NUL-terminated
} list_t;

static list_t PROTECTED, APPROVERS;
static bool CONFIG_OK = false; // evaluate() denies until init() has succeeded

// --- a small JSON reader: an object whose values are lists of plain strings -------------

typedef struct {
  const char *p, *end;
  const char *error; // the first problem, a static message
} reader_t;

static bool fail(reader_t *r, const char *message) {
  if (!r->error) r->error = message;
  return false;
}

static void skip_ws(reader_t *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static bool eat(reader_t *r, char c) {
  skip_ws(r);
  if (r->p < r->end && *r->p == c) {
    r->p++;
    return true;
  }
  return false;
}

// A string without escapes (table and group names need none), at most MAX_NAME-1 bytes.
static bool read_string(reader_t *r, char *buf, const char *message) {
  size_t n = 0;
  if (!eat(r, '"')) return fail(r, message);
  while (r->p < r->end && *r->p != '"') {
    if (*r->p == '\\' || (unsigned char)*r->p < 0x20 || n + 1 >= MAX_NAME) return fail(r, message);
    buf[n++] = *r->p++;
  }
  buf[n] = 0;
  return eat(r, '"') || fail(r, message);
}

static bool read_list(reader_t *r, list_t *list, const char *message) {
  list->n = 0;
  if (!eat(r, '[')) return fail(r, message);
  if (eat(r, ']')) return true;
  do {
    if (list->n == MAX_ENTRIES) return fail(r, "too many entries in a config list");
    if (!read_string(r, list->items[list->n++], message)) return false;
  } while (eat(r, ','));
  return eat(r, ']') || fail(r, message);
}

static const char *parse_config(const char *text, size_t len) {
  reader_t r = {text, text + len, NULL};
  PROTECTED.n = 0;
  APPROVERS.n = 0;
  skip_ws(&r);
  if (r.p == r.end) return NULL; // no configuration: nothing protected
  if (!eat(&r, '{')) return "config must be a JSON object";
  if (!eat(&r, '}')) {
    do {
      char key[MAX_NAME];
      if (!read_string(&r, key, "config is not valid JSON")) return r.error;
      if (!eat(&r, ':')) return "config is not valid JSON";
      if (strcmp(key, "protected_tables") == 0) {
        read_list(&r, &PROTECTED, "protected_tables must be a list of strings");
      } else if (strcmp(key, "approvers") == 0) {
        read_list(&r, &APPROVERS, "approvers must be a list of strings");
      } else {
        return "unknown config key"; // typos must not pass silently
      }
      if (r.error) return r.error;
    } while (eat(&r, ','));
    if (!eat(&r, '}')) return "config is not valid JSON";
  }
  skip_ws(&r);
  return r.p == r.end ? NULL : "config is not valid JSON";
}

// --- the policy ---------------------------------------------------------------------

static bool str_eq(const policy_string_t *s, const char *c, size_t n) {
  return s->len == n && memcmp(s->ptr, c, n) == 0;
}

// `name` or `schema.name`; exact comparison, as Sluice has normalised the names.
static bool is_protected(const sluice_policy_types_relation_t *rel) {
  for (size_t i = 0; i < PROTECTED.n; i++) {
    const char *entry = PROTECTED.items[i];
    const char *dot = strchr(entry, '.');
    if (!dot && str_eq(&rel->name, entry, strlen(entry))) return true;
    if (dot && rel->schema.is_some && str_eq(&rel->schema.val, entry, (size_t)(dot - entry)) &&
        str_eq(&rel->name, dot + 1, strlen(dot + 1))) {
      return true;
    }
  }
  return false;
}

static bool same_relation(const sluice_policy_types_relation_t *a, const sluice_policy_types_relation_t *b) {
  if (a->schema.is_some != b->schema.is_some) return false;
  if (a->schema.is_some && !str_eq(&a->schema.val, (const char *)b->schema.val.ptr, b->schema.val.len)) {
    return false;
  }
  return str_eq(&a->name, (const char *)b->name.ptr, b->name.len);
}

// Appends `n` bytes to a NUL-terminated buffer of `cap` bytes, truncating. (No snprintf: stdio
// would pull WASI imports into the module, which Sluice does not grant.)
static void append(char *buf, size_t cap, const void *s, size_t n) {
  size_t len = strlen(buf);
  if (n > cap - 1 - len) n = cap - 1 - len;
  memcpy(buf + len, s, n);
  buf[len + n] = 0;
}

static void append_relation(char *buf, size_t cap, const sluice_policy_types_relation_t *rel) {
  if (rel->schema.is_some) {
    append(buf, cap, rel->schema.val.ptr, rel->schema.val.len);
    append(buf, cap, ".", 1);
  }
  append(buf, cap, rel->name.ptr, rel->name.len);
}

static void annotate(policy_decision_t *ret, const char *rule) {
  policy_tuple2_string_string_t *ann = malloc(sizeof *ann);
  if (!ann) abort();
  policy_string_dup(&ann->f0, "rule");
  policy_string_dup(&ann->f1, rule);
  ret->annotations.ptr = ann;
  ret->annotations.len = 1;
}

bool exports_policy_init(policy_string_t *config, policy_string_t *err) {
  const char *problem = parse_config((const char *)config->ptr, config->len);
  policy_string_free(config);
  CONFIG_OK = problem == NULL;
  if (problem) policy_string_dup(err, problem);
  return CONFIG_OK;
}

void exports_policy_evaluate(policy_query_t *query, policy_decision_t *ret) {
  const sluice_policy_types_statement_t *st = &query->statement;
  memset(ret, 0, sizeof *ret); // allow; empty lists; no role
  ret->verdict.tag = SLUICE_POLICY_TYPES_VERDICT_ALLOW;
  if (!CONFIG_OK) {
    ret->verdict.tag = SLUICE_POLICY_TYPES_VERDICT_DENY;
    policy_string_dup(&ret->verdict.val.deny, "{{name}} is not initialised");
    annotate(ret, "init");
  } else if (st->kind == SLUICE_POLICY_TYPES_STATEMENT_KIND_DELETE) {
    for (size_t i = 0; i < st->relations.len; i++) {
      const sluice_policy_types_relation_access_t *ra = &st->relations.ptr[i];
      if (ra->access != SLUICE_POLICY_TYPES_ACCESS_WRITE || !is_protected(&ra->relation)) continue;
      bool unrestricted = false;
      for (size_t j = 0; j < st->unrestricted_writes.len; j++) {
        unrestricted = unrestricted || same_relation(&st->unrestricted_writes.ptr[j], &ra->relation);
      }
      char reason[4 * MAX_NAME] = "";
      if (unrestricted) {
        append(reason, sizeof reason, "a DELETE on ", 12);
        append_relation(reason, sizeof reason, &ra->relation);
        const char *rest = " must have a WHERE clause that restricts its rows";
        append(reason, sizeof reason, rest, strlen(rest));
        ret->verdict.tag = SLUICE_POLICY_TYPES_VERDICT_DENY;
        policy_string_dup(&ret->verdict.val.deny, reason);
        annotate(ret, "unrestricted-delete");
      } else {
        append(reason, sizeof reason, "DELETE on ", 10);
        append_relation(reason, sizeof reason, &ra->relation);
        append(reason, sizeof reason, " needs approval", 15);
        ret->verdict.tag = SLUICE_POLICY_TYPES_VERDICT_REQUIRE_APPROVAL;
        sluice_policy_types_approval_t *a = &ret->verdict.val.require_approval;
        policy_string_dup(&a->reason, reason);
        if (APPROVERS.n > 0) {
          a->approver_groups.ptr = malloc(APPROVERS.n * sizeof *a->approver_groups.ptr);
          if (!a->approver_groups.ptr) abort();
          a->approver_groups.len = APPROVERS.n;
          for (size_t g = 0; g < APPROVERS.n; g++) policy_string_dup(&a->approver_groups.ptr[g], APPROVERS.items[g]);
        }
        annotate(ret, "protected-delete");
      }
      break;
    }
  }
  policy_query_free(query);
}
