//! `test-echo`: allows, echoing what it was given as annotations, so host tests can check the
//! facts end to end and that the sandbox grants nothing.
//!
//! | annotation                     | value                                                   |
//! |--------------------------------|---------------------------------------------------------|
//! | `principal.id`                 | the principal's id                                      |
//! | `principal.roles`              | roles joined with `,` (in the host's order)             |
//! | `principal.attr.<k>`           | one per attribute                                       |
//! | `datasource.name`, `datasource.dialect` | as given (`postgres`, `mysql`, `sqlite`, `mssql`) |
//! | `statement.kind`               | `read`, `insert`, `update`, `delete`, `ddl`, `other`     |
//! | `statement.relations`          | `r:schema.name` / `w:name`, sorted, joined with `,`     |
//! | `statement.columns`            | `<usage>:<relation>.<column>` joined with `,` (relation `?` when unknown) |
//! | `statement.functions`          | joined with `,`                                         |
//! | `statement.unrestricted_writes`| relations joined with `,`                               |
//! | `statement.limit`              | the limit, or empty                                     |
//! | `statement.fingerprint`, `statement.text` | as given                                     |
//! | `request.justification`, `request.client_address` | as given, or empty                  |
//! | `request.received_at_ms`, `request.trace_id` | as given                                  |
//! | `grants`                       | `<id>=<scope>` joined with `,`                          |
//! | `extension.<k>`                | one per extension                                       |
//! | `env`                          | the WASI environment as `K=V` joined with `,` (must be empty) |
//! | `args`                         | the WASI arguments joined with `,`                      |
//! | `fs`                           | `ok` if opening `/etc/passwd` worked, else `error: <kind>` (must be an error) |
//! | `now_ms`                       | the host clock                                          |

use sluice_policy_sdk::prelude::*;
use sluice_policy_sdk::{ColumnUsage, Relation};

/// The plugin.
struct Echo;

/// `usage` in lower case, as in the WIT.
fn usage_name(usage: ColumnUsage) -> &'static str {
    match usage {
        ColumnUsage::Projection => "projection",
        ColumnUsage::Filter => "filter",
        ColumnUsage::Join => "join",
        ColumnUsage::Grouping => "grouping",
        ColumnUsage::Ordering => "ordering",
        ColumnUsage::Assignment => "assignment",
    }
}

impl Policy for Echo {
    fn init(_config: &str) -> Result<Self, String> {
        Ok(Echo)
    }

    fn evaluate(&self, query: &Query) -> Decision {
        let p = &query.principal;
        let s = &query.statement;
        let r = &query.request;
        let mut d = Decision::allow()
            .annotate("principal.id", p.id.as_str())
            .annotate("principal.roles", p.roles.join(","));
        for (k, v) in &p.attributes {
            d = d.annotate(format!("principal.attr.{k}"), v.as_str());
        }
        let mut relations: Vec<String> = s
            .relations
            .iter()
            .map(|ra| {
                let mode = if ra.access == Access::Read { "r" } else { "w" };
                format!("{mode}:{}", ra.relation)
            })
            .collect();
        relations.sort();
        let columns: Vec<String> = s
            .columns
            .iter()
            .map(|c| {
                let rel = c.relation.as_ref().map_or_else(|| "?".to_owned(), Relation::to_string);
                format!("{}:{rel}.{}", usage_name(c.usage), c.column)
            })
            .collect();
        let unrestricted: Vec<String> = s.unrestricted_writes.iter().map(Relation::to_string).collect();
        d = d
            .annotate("datasource.name", query.datasource.name.as_str())
            .annotate("datasource.dialect", query.datasource.dialect.as_str())
            .annotate("statement.kind", s.kind.as_str())
            .annotate("statement.relations", relations.join(","))
            .annotate("statement.columns", columns.join(","))
            .annotate("statement.functions", s.functions.join(","))
            .annotate("statement.unrestricted_writes", unrestricted.join(","))
            .annotate("statement.limit", s.limit.map(|l| l.to_string()).unwrap_or_default())
            .annotate("statement.fingerprint", s.fingerprint.as_str())
            .annotate("statement.text", s.text.as_str())
            .annotate("request.justification", r.justification.clone().unwrap_or_default())
            .annotate("request.client_address", r.client_address.clone().unwrap_or_default())
            .annotate("request.received_at_ms", r.received_at_ms.to_string())
            .annotate("request.trace_id", r.trace_id.as_str());
        let grants: Vec<String> = query.grants.iter().map(|g| format!("{}={}", g.id, g.scope)).collect();
        d = d.annotate("grants", grants.join(","));
        for (k, v) in &query.extensions {
            d = d.annotate(format!("extension.{k}"), v.as_str());
        }
        let env: Vec<String> = std::env::vars_os()
            .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
            .collect();
        let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
        let fs = match std::fs::File::open("/etc/passwd") {
            Ok(_) => "ok".to_owned(),
            Err(err) => format!("error: {:?}", err.kind()),
        };
        d.annotate("env", env.join(","))
            .annotate("args", args.join(","))
            .annotate("fs", fs)
            .annotate("now_ms", host::now_ms().to_string())
    }
}

sluice_policy_sdk::export_policy!(Echo);
