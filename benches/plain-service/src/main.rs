//! A plain HTTP SQL service on tokio-postgres: the anchor `benches/load/run` measures Sluice
//! against, on the same database and load. It does the least such a service must do, the way a
//! careful one would: check a bearer token, take a pooled connection (deadpool, fast recycling),
//! prepare the statement once per connection (`prepare_cached`), bind the parameters by their
//! inferred types, and answer typed JSON (`int8` and `numeric` as strings, as Sluice does).
//!
//! `POST /v1/query {"sql": "...", "params": [..]}` (a `datasource` field is accepted and ignored)
//! answers `{"columns": [{"name", "type"}], "rows": [[..]], "row_count": n}`.
//!
//! Environment: `PLAIN_PG` (libpq key/value string or URL), `PLAIN_LISTEN` (default
//! `127.0.0.1:18080`), `PLAIN_TOKEN` (default `bench-token`), `PLAIN_POOL` (default 16).

use std::sync::Arc;

use axum::{Json, Router, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_postgres::types::{FromSql, ToSql, Type};

#[derive(Deserialize)]
struct Request {
    sql: String,
    #[serde(default)]
    params: Vec<Value>,
}

struct App {
    pool: Pool,
    authorization: String,
}

type Failure = (StatusCode, String);

/// PostgreSQL's binary NUMERIC as the decimal string the server would print.
struct Numeric(String);

impl<'a> FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let word =
            |i: usize| raw.get(2 * i..2 * i + 2).map(|b| b.iter().fold(0u16, |a, x| a << 8 | u16::from(*x)));
        let (Some(n), Some(weight), Some(sign), Some(scale)) = (word(0), word(1), word(2), word(3)) else {
            return Err("short numeric".into());
        };
        match sign {
            0xC000 => return Ok(Self("NaN".into())),
            0xD000 => return Ok(Self("Infinity".into())),
            0xF000 => return Ok(Self("-Infinity".into())),
            _ => {}
        }
        // Base-10000 digits; digit k (from 0) stands for 10000^(weight - k).
        let digit = |k: i32| {
            usize::try_from(k).ok().filter(|k| *k < usize::from(n)).and_then(|k| word(4 + k)).unwrap_or(0)
        };
        let weight = i32::from(weight.cast_signed());
        let int: String = (0..=weight).map(|k| format!("{:04}", digit(k))).collect();
        let int = int.trim_start_matches('0');
        let frac: String =
            (weight + 1..).take(usize::from(scale).div_ceil(4)).map(|k| format!("{:04}", digit(k))).collect();
        let mut out = String::from(if sign == 0x4000 { "-" } else { "" });
        out.push_str(if int.is_empty() { "0" } else { int });
        if scale > 0 {
            out.push('.');
            out.push_str(frac.get(..usize::from(scale)).unwrap_or(&frac));
        }
        Ok(Self(out))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

fn cell(row: &tokio_postgres::Row, i: usize, ty: &Type) -> Result<Value, tokio_postgres::Error> {
    Ok(match *ty {
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(Value::from),
        Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map(Value::from),
        Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map(Value::from),
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(|v| Value::from(v.to_string())),
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(i)?.map(Value::from),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Value::from),
        Type::NUMERIC => row.try_get::<_, Option<Numeric>>(i)?.map(|v| Value::from(v.0)),
        _ => row.try_get::<_, Option<String>>(i)?.map(Value::from),
    }
    .unwrap_or(Value::Null))
}

/// A JSON parameter as the type the server inferred for its placeholder.
fn param(value: &Value, ty: &Type) -> Result<Box<dyn ToSql + Sync + Send>, Failure> {
    let bad = || (StatusCode::BAD_REQUEST, format!("parameter {value} does not fit {ty}"));
    let int = || value.as_i64().or_else(|| value.as_str().and_then(|s| s.parse().ok())).ok_or_else(bad);
    Ok(match *ty {
        Type::INT8 => Box::new(int()?),
        Type::INT4 => Box::new(i32::try_from(int()?).map_err(|_| bad())?),
        Type::INT2 => Box::new(i16::try_from(int()?).map_err(|_| bad())?),
        Type::BOOL => Box::new(value.as_bool().ok_or_else(bad)?),
        Type::FLOAT8 => Box::new(value.as_f64().ok_or_else(bad)?),
        Type::TEXT | Type::VARCHAR => Box::new(value.as_str().ok_or_else(bad)?.to_string()),
        _ => return Err(bad()),
    })
}

async fn query(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(req): Json<Request>,
) -> Result<Json<Value>, Failure> {
    let given = headers.get("authorization").and_then(|v| v.to_str().ok());
    if given != Some(app.authorization.as_str()) {
        return Err((StatusCode::UNAUTHORIZED, "unauthenticated".into()));
    }
    let client = app.pool.get().await.map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let stmt = client.prepare_cached(&req.sql).await.map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    if stmt.params().len() != req.params.len() {
        return Err((StatusCode::BAD_REQUEST, format!("{} parameters expected", stmt.params().len())));
    }
    let params =
        req.params.iter().zip(stmt.params()).map(|(v, t)| param(v, t)).collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
    let rows = client.query(&stmt, &refs).await.map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()))?;
    let columns = stmt.columns();
    let encode = |row: &tokio_postgres::Row| {
        columns.iter().enumerate().map(|(i, c)| cell(row, i, c.type_())).collect::<Result<Vec<_>, _>>()
    };
    let rows = rows
        .iter()
        .map(encode)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()))?;
    let names: Vec<Value> =
        columns.iter().map(|c| json!({"name": c.name(), "type": c.type_().name()})).collect();
    Ok(Json(json!({"columns": names, "row_count": rows.len(), "rows": rows})))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    let config: tokio_postgres::Config =
        env("PLAIN_PG", "host=127.0.0.1 user=postgres dbname=sluice_bench").parse()?;
    let manager = ManagerConfig { recycling_method: RecyclingMethod::Fast };
    let manager = Manager::from_config(config, tokio_postgres::NoTls, manager);
    let pool = Pool::builder(manager).max_size(env("PLAIN_POOL", "16").parse()?).build()?;
    let authorization = format!("Bearer {}", env("PLAIN_TOKEN", "bench-token"));
    let app = Arc::new(App { pool, authorization });
    let router = Router::new().route("/v1/query", post(query)).with_state(app);
    let listener = tokio::net::TcpListener::bind(env("PLAIN_LISTEN", "127.0.0.1:18080")).await?;
    axum::serve(listener, router).await?;
    Ok(())
}
