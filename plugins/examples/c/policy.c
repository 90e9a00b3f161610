// Sluice example policy "business hours for writes", in C (wit-bindgen c + clang + wasi-libc).
//
// - Statements that write (INSERT, UPDATE, DELETE, DDL, or any statement that writes a
//   relation) are denied outside [open_hour, close_hour) in the configured UTC offset.
// - A SELECT that reads one of `big_tables` is denied unless it has a literal LIMIT of at
//   most `max_rows`.
// - A statement whose kind is in `approval_for` (default none) needs a human's approval
//   (require-approval: "<kind>s need approval", approver groups `approvers`, default ["dba"],
//   suggested grant `approval_seconds`, default 3600).
// - Everything else is allowed.
//
// Statement facts come from the host (`query->statement`); the plugin never parses SQL.
// The time comes from the host (`sluice_policy_host_now_ms()`), never from time(): the
// component imports no WASI clock (it imports no WASI interface at all).
//
// WIT -> C mapping (wit-bindgen c, see gen/policy.h):
//   record            -> struct (sluice_policy_types_decision_t), fields in snake_case
//   enum              -> uint8_t + #defines (SLUICE_POLICY_TYPES_STATEMENT_KIND_INSERT)
//   variant           -> struct { uint8_t tag; union { ... } val; }
//   option<T>         -> struct { bool is_some; T val; }
//   list<T>, string   -> struct { T *ptr; size_t len; } (strings are UTF-8, not NUL-terminated)
//   result<_, string> -> `bool` return (true = ok) + `policy_string_t *err` out-parameter
// Ownership: exported functions own their arguments (free them); everything returned must
// be heap-allocated with malloc: the generated cabi_post_* functions free it after the host
// has copied it out.

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

#define MAX_BIG_TABLES 64
#define MAX_NAME 128
#define MAX_SAFE_INTEGER 9007199254740991LL
#define MAX_APPROVERS 16

// Statement kinds in WIT order (the SLUICE_POLICY_TYPES_STATEMENT_KIND_* values), as configured
// in `approval_for`, and how an approval reason names them.
static const char *const KIND_NAMES[] = {"read", "insert", "update", "delete", "ddl", "other"};
static const char *const KIND_PLURALS[] = {"reads", "inserts", "updates", "deletes", "schema changes",
                                           "other statements"};
#define N_KINDS (sizeof KIND_NAMES / sizeof KIND_NAMES[0])

typedef struct {
  int open_hour;
  int close_hour;
  int offset_minutes;
  size_t n_big_tables;
  char big_tables[MAX_BIG_TABLES][MAX_NAME]; // lower-cased, NUL-terminated
  uint64_t max_rows;
  bool approval_for[N_KINDS]; // indexed by statement kind
  size_t n_approvers;
  char approvers[MAX_APPROVERS][MAX_NAME];
  uint32_t approval_seconds;
} config_t;

static config_t CONFIG;
static bool CONFIG_OK = false; // evaluate() denies everything until init() has succeeded

// A tiny JSON reader: enough for a flat object of integers and string lists.
typedef struct {
  const char *p;
  const char *end;
  const char *error; // static message, set on the first failure
} reader_t;

static void skip_ws(reader_t *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) {
    r->p++;
  }
}

static bool fail(reader_t *r, const char *message) {
  if (!r->error) r->error = message;
  return false;
}

static bool expect(reader_t *r, char c) {
  skip_ws(r);
  if (r->p < r->end && *r->p == c) {
    r->p++;
    return true;
  }
  return fail(r, "config is not valid JSON");
}

// Reads a JSON string into buf (at most cap-1 bytes + NUL).
static bool read_string(reader_t *r, char *buf, size_t cap) {
  size_t n = 0;
  if (!expect(r, '"')) return false;
  while (r->p < r->end) {
    unsigned char c = (unsigned char)*r->p++;
    if (c == '"') {
      buf[n] = 0;
      return true;
    }
    if (c < 0x20) return fail(r, "config is not valid JSON");
    if (c == '\\') {
      if (r->p >= r->end) break;
      c = (unsigned char)*r->p++;
      switch (c) {
        case '"': case '\\': case '/': break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        default: return fail(r, "config strings may not use \\u escapes");
      }
    }
    if (n + 1 >= cap) return fail(r, "config string too long");
    buf[n++] = (char)c;
  }
  return fail(r, "config is not valid JSON");
}

// Reads a JSON integer; anything else (fraction, exponent, string, ...) is an error.
static bool read_int(reader_t *r, long long *out, const char *message) {
  skip_ws(r);
  bool neg = false;
  long long v = 0;
  if (r->p < r->end && *r->p == '-') {
    neg = true;
    r->p++;
  }
  const char *start = r->p;
  while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
    v = v * 10 + (*r->p - '0');
    if (v > MAX_SAFE_INTEGER) return fail(r, message);
    r->p++;
  }
  if (r->p == start) return fail(r, message);
  if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E')) return fail(r, message);
  *out = neg ? -v : v;
  return true;
}

static void lower(char *s) {
  for (; *s; s++) {
    if (*s >= 'A' && *s <= 'Z') *s = (char)(*s - 'A' + 'a');
  }
}

// Reads a JSON list of non-empty strings into items (at most max entries of MAX_NAME bytes).
static bool read_string_list(reader_t *r, char (*items)[MAX_NAME], size_t max, size_t *count,
                             const char *message, const char *too_many) {
  skip_ws(r);
  if (r->p >= r->end || *r->p != '[') return fail(r, message);
  r->p++;
  *count = 0;
  skip_ws(r);
  if (r->p < r->end && *r->p == ']') {
    r->p++;
    return true;
  }
  for (;;) {
    skip_ws(r);
    if (r->p >= r->end || *r->p != '"') return fail(r, message);
    if (*count == max) return fail(r, too_many);
    char *dst = items[*count];
    if (!read_string(r, dst, MAX_NAME)) return false;
    if (dst[0] == 0) return fail(r, message);
    (*count)++;
    skip_ws(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      continue;
    }
    return expect(r, ']');
  }
}

static bool read_tables(reader_t *r, config_t *c) {
  if (!read_string_list(r, c->big_tables, MAX_BIG_TABLES, &c->n_big_tables,
                        "big_tables must be a list of non-empty strings",
                        "big_tables has too many entries")) {
    return false;
  }
  for (size_t i = 0; i < c->n_big_tables; i++) lower(c->big_tables[i]);
  return true;
}

static bool read_kinds(reader_t *r, config_t *c) {
  const char *message =
      "approval_for must be a list of statement kinds (read, insert, update, delete, ddl, other)";
  char kinds[N_KINDS * 2][MAX_NAME];
  size_t n = 0;
  if (!read_string_list(r, kinds, N_KINDS * 2, &n, message, message)) return false;
  memset(c->approval_for, 0, sizeof c->approval_for);
  for (size_t i = 0; i < n; i++) {
    size_t k = 0;
    while (k < N_KINDS && strcmp(kinds[i], KIND_NAMES[k]) != 0) k++;
    if (k == N_KINDS) return fail(r, message);
    c->approval_for[k] = true;
  }
  return true;
}

// Appends to a fixed buffer; used for error messages and reasons.
typedef struct {
  char buf[256];
  size_t len;
} text_t;

static void put(text_t *t, const char *s) {
  while (*s && t->len + 1 < sizeof t->buf) t->buf[t->len++] = *s++;
  t->buf[t->len] = 0;
}

static void put_uint(text_t *t, uint64_t v, int min_digits) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n < min_digits) digits[n++] = '0';
  char s[24];
  for (int i = 0; i < n; i++) s[i] = digits[n - 1 - i];
  s[n] = 0;
  put(t, s);
}

static bool parse_config(const char *text, size_t len, config_t *c, text_t *err) {
  reader_t r = {text, text + len, NULL};
  c->open_hour = 8;
  c->close_hour = 18;
  c->offset_minutes = 0;
  c->n_big_tables = 1;
  strcpy(c->big_tables[0], "orders");
  c->max_rows = 1000;
  memset(c->approval_for, 0, sizeof c->approval_for);
  c->n_approvers = 1;
  strcpy(c->approvers[0], "dba");
  c->approval_seconds = 3600;

  skip_ws(&r);
  if (r.p == r.end) return true; // empty config: defaults
  if (*r.p != '{') {
    put(err, "config must be a JSON object");
    return false;
  }
  r.p++;
  skip_ws(&r);
  bool first = true;
  while (!r.error) {
    skip_ws(&r);
    if (r.p < r.end && *r.p == '}' && first) {
      r.p++;
      break;
    }
    char key[64];
    long long v = 0;
    if (!read_string(&r, key, sizeof key)) break;
    if (!expect(&r, ':')) break;
    if (strcmp(key, "open_hour") == 0) {
      if (read_int(&r, &v, "open_hour must be an integer in 0..=23") && (v < 0 || v > 23)) {
        fail(&r, "open_hour must be an integer in 0..=23");
      }
      c->open_hour = (int)v;
    } else if (strcmp(key, "close_hour") == 0) {
      if (read_int(&r, &v, "close_hour must be an integer in 1..=24") && (v < 1 || v > 24)) {
        fail(&r, "close_hour must be an integer in 1..=24");
      }
      c->close_hour = (int)v;
    } else if (strcmp(key, "utc_offset_minutes") == 0) {
      const char *m = "utc_offset_minutes must be an integer in -1080..=1080";
      if (read_int(&r, &v, m) && (v < -1080 || v > 1080)) fail(&r, m);
      c->offset_minutes = (int)v;
    } else if (strcmp(key, "max_rows") == 0) {
      const char *m = "max_rows must be a non-negative integer";
      if (read_int(&r, &v, m) && v < 0) fail(&r, m);
      c->max_rows = (uint64_t)v;
    } else if (strcmp(key, "big_tables") == 0) {
      read_tables(&r, c);
    } else if (strcmp(key, "approval_for") == 0) {
      read_kinds(&r, c);
    } else if (strcmp(key, "approvers") == 0) {
      read_string_list(&r, c->approvers, MAX_APPROVERS, &c->n_approvers,
                       "approvers must be a list of non-empty strings", "approvers has too many entries");
    } else if (strcmp(key, "approval_seconds") == 0) {
      const char *m = "approval_seconds must be an integer in 1..=4294967295";
      if (read_int(&r, &v, m) && (v < 1 || v > 4294967295LL)) fail(&r, m);
      c->approval_seconds = (uint32_t)v;
    } else {
      put(err, "unknown config key \"");
      put(err, key);
      put(err, "\"");
      return false;
    }
    if (r.error) break;
    first = false;
    skip_ws(&r);
    if (r.p < r.end && *r.p == ',') {
      r.p++;
      continue;
    }
    if (expect(&r, '}')) break;
  }
  if (!r.error) {
    skip_ws(&r);
    if (r.p != r.end) fail(&r, "config is not valid JSON");
  }
  if (!r.error && c->open_hour == c->close_hour) fail(&r, "open_hour and close_hour must differ");
  if (r.error) {
    put(err, r.error);
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// The policy
// ---------------------------------------------------------------------------------------

static void put_offset(text_t *t, int minutes) {
  put(t, minutes < 0 ? "UTC-" : "UTC+");
  unsigned m = (unsigned)(minutes < 0 ? -minutes : minutes);
  put_uint(t, m / 60, 2);
  put(t, ":");
  put_uint(t, m % 60, 2);
}

static void put_window(text_t *t, const config_t *c) {
  put_uint(t, (uint64_t)c->open_hour, 2);
  put(t, ":00 and ");
  put_uint(t, (uint64_t)c->close_hour, 2);
  put(t, ":00 ");
  put_offset(t, c->offset_minutes);
}

static bool writes_open(const config_t *c) {
  int64_t minutes = (int64_t)(sluice_policy_host_now_ms() / 60000) + c->offset_minutes;
  int64_t minute_of_day = ((minutes % 1440) + 1440) % 1440;
  int64_t open = c->open_hour * 60, close = c->close_hour * 60;
  if (open < close) return minute_of_day >= open && minute_of_day < close;
  return minute_of_day >= open || minute_of_day < close; // window spans midnight
}

// Compares a WIT string with a lower-case C string, ignoring ASCII case.
static bool eq_lower(const uint8_t *s, size_t len, const char *want, size_t *consumed) {
  size_t i = 0;
  for (; i < len; i++) {
    uint8_t ch = s[i];
    if (ch >= 'A' && ch <= 'Z') ch = (uint8_t)(ch - 'A' + 'a');
    if (want[i] == 0 || (uint8_t)want[i] != ch) return false;
  }
  *consumed = i;
  return true;
}

static bool relation_matches(const config_t *c, const sluice_policy_types_relation_t *rel) {
  for (size_t i = 0; i < c->n_big_tables; i++) {
    const char *t = c->big_tables[i];
    size_t n;
    // "name"
    if (eq_lower(rel->name.ptr, rel->name.len, t, &n) && t[n] == 0) return true;
    // "schema.name"
    if (rel->schema.is_some) {
      const policy_string_t *s = &rel->schema.val;
      if (eq_lower(s->ptr, s->len, t, &n) && t[n] == '.' &&
          eq_lower(rel->name.ptr, rel->name.len, t + n + 1, &n) && t[s->len + 1 + n] == 0) {
        return true;
      }
    }
  }
  return false;
}

// Adds the annotations `lang` and, when rule is not NULL, `rule`.
static void annotate(policy_decision_t *ret, const char *rule) {
  size_t n = rule ? 2 : 1;
  policy_tuple2_string_string_t *ann = malloc(n * sizeof *ann);
  if (!ann) abort();
  policy_string_dup(&ann[0].f0, "lang");
  policy_string_dup(&ann[0].f1, "c");
  if (rule) {
    policy_string_dup(&ann[1].f0, "rule");
    policy_string_dup(&ann[1].f1, rule);
  }
  ret->annotations.ptr = ann;
  ret->annotations.len = n;
}

// Sets ret to allow (deny_reason NULL) or deny, annotated with the language and the rule.
static void decide(policy_decision_t *ret, const char *deny_reason, const char *rule) {
  memset(ret, 0, sizeof *ret); // empty lists, role = none
  if (deny_reason) {
    ret->verdict.tag = SLUICE_POLICY_TYPES_VERDICT_DENY;
    policy_string_dup(&ret->verdict.val.deny, deny_reason);
  } else {
    ret->verdict.tag = SLUICE_POLICY_TYPES_VERDICT_ALLOW;
  }
  annotate(ret, rule);
}

// Sets ret to require approval for a statement of `kind`, as configured.
static void require_approval(policy_decision_t *ret, const config_t *c, uint8_t kind) {
  memset(ret, 0, sizeof *ret);
  ret->verdict.tag = SLUICE_POLICY_TYPES_VERDICT_REQUIRE_APPROVAL;
  sluice_policy_types_approval_t *a = &ret->verdict.val.require_approval;
  text_t t = {{0}, 0};
  put(&t, KIND_PLURALS[kind]);
  put(&t, " need approval");
  policy_string_dup(&a->reason, t.buf);
  if (c->n_approvers > 0) {
    a->approver_groups.ptr = malloc(c->n_approvers * sizeof *a->approver_groups.ptr);
    if (!a->approver_groups.ptr) abort();
    for (size_t i = 0; i < c->n_approvers; i++) {
      policy_string_dup(&a->approver_groups.ptr[i], c->approvers[i]);
    }
    a->approver_groups.len = c->n_approvers;
  }
  a->suggested_duration_seconds.is_some = true;
  a->suggested_duration_seconds.val = c->approval_seconds;
  annotate(ret, "approval");
}

bool exports_policy_init(policy_string_t *config, policy_string_t *err) {
  text_t e = {{0}, 0};
  CONFIG_OK = false;
  bool ok = parse_config((const char *)config->ptr, config->len, &CONFIG, &e);
  policy_string_free(config);
  if (!ok) {
    policy_string_dup(err, e.buf);
    return false;
  }
  CONFIG_OK = true;

  text_t m = {{0}, 0};
  put(&m, "business-hours: writes between ");
  put_window(&m, &CONFIG);
  put(&m, ", big tables need LIMIT <= ");
  put_uint(&m, CONFIG.max_rows, 1);
  policy_string_t msg;
  policy_string_set(&msg, m.buf);
  sluice_policy_host_log(SLUICE_POLICY_HOST_LEVEL_DEBUG, &msg);
  return true;
}

void exports_policy_evaluate(policy_query_t *query, policy_decision_t *ret) {
  const config_t *c = &CONFIG;
  const sluice_policy_types_statement_t *st = &query->statement;

  if (!CONFIG_OK) {
    decide(ret, "business-hours policy is not initialised", "init");
    goto done;
  }

  bool writes = st->kind == SLUICE_POLICY_TYPES_STATEMENT_KIND_INSERT ||
                st->kind == SLUICE_POLICY_TYPES_STATEMENT_KIND_UPDATE ||
                st->kind == SLUICE_POLICY_TYPES_STATEMENT_KIND_DELETE ||
                st->kind == SLUICE_POLICY_TYPES_STATEMENT_KIND_DDL;
  for (size_t i = 0; i < st->relations.len && !writes; i++) {
    writes = st->relations.ptr[i].access == SLUICE_POLICY_TYPES_ACCESS_WRITE;
  }
  if (writes && !writes_open(c)) {
    text_t t = {{0}, 0};
    put(&t, "writes are allowed between ");
    put_window(&t, c);
    decide(ret, t.buf, "business-hours");
    goto done;
  }

  if (st->kind == SLUICE_POLICY_TYPES_STATEMENT_KIND_READ) {
    for (size_t i = 0; i < st->relations.len; i++) {
      const sluice_policy_types_relation_access_t *ra = &st->relations.ptr[i];
      if (ra->access != SLUICE_POLICY_TYPES_ACCESS_READ || !relation_matches(c, &ra->relation)) {
        continue;
      }
      if (!st->limit.is_some || st->limit.val > c->max_rows) {
        text_t t = {{0}, 0};
        put(&t, "SELECT on ");
        size_t n = ra->relation.name.len;
        if (n > 128) n = 128;
        char name[129];
        memcpy(name, ra->relation.name.ptr, n);
        name[n] = 0;
        put(&t, name);
        put(&t, " needs LIMIT <= ");
        put_uint(&t, c->max_rows, 1);
        decide(ret, t.buf, "big-table-limit");
        goto done;
      }
    }
  }

  if (st->kind < N_KINDS && c->approval_for[st->kind]) {
    require_approval(ret, c, st->kind);
    goto done;
  }

  decide(ret, NULL, NULL);
done:
  policy_query_free(query);
}
