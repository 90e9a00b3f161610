//! Text only the server can print: the reg* types (names looked up in the catalog, qualified
//! as the session's `search_path` requires), money inside a composite or range (its text
//! follows `lc_monetary`), tsquery, and types that are not built in (extension types,
//! user-defined multiranges, fields of anonymous records of user-defined types).
//!
//! Such values are collected in a first pass over the rows, sent back to the server in their
//! binary form as parameters of the value's own type, and printed with
//! `pg_catalog.format('%s', $n)` (which calls the type's output function) in one statement per
//! batch, in the statement's own transaction and session. A second pass then decodes the rows
//! with those texts. Identical values are asked for once.

use std::collections::{HashMap, HashSet};

use bytes::BytesMut;
use tokio_postgres::types::{Format, IsNull, ToSql, Type, to_sql_checked};

use super::Raw;

/// Parameters per statement: far below the protocol's 65535, and small enough that the
/// statement text stays short.
const BATCH: usize = 500;

/// A value to print: its type, its binary form, and the result column it came from (for the
/// error message if the server cannot print it).
struct Request {
    ty: Type,
    raw: Vec<u8>,
    column: usize,
}

/// Texts printed by the server, and those still to ask for.
#[derive(Default)]
pub(crate) struct Texts {
    known: HashMap<(u32, Vec<u8>), String>,
    requested: HashSet<(u32, Vec<u8>)>,
    pending: Vec<Request>,
    collecting: bool,
    /// The column being decoded, recorded with each request.
    pub(crate) column: usize,
    /// Fraction digits of money in the server's `lc_monetary`, once asked for.
    pub(crate) money_digits: u32,
}

/// Why the server could not print a value.
pub(crate) enum Failure {
    /// The database failed (timeout, connection); map it like any statement error.
    Database(tokio_postgres::Error),
    /// The server cannot take the value back (a type without a binary input function) or
    /// answered something unreadable: the column's type cannot be returned.
    Unprintable { column: usize, type_name: String },
}

impl Texts {
    /// Starts the collecting pass: [`Texts::server`] records what it is asked and answers with
    /// placeholders until [`Texts::resolve`].
    pub(crate) fn collect(&mut self) {
        self.collecting = true;
    }

    /// The server's text for a value of `ty` with binary form `raw`.
    pub(crate) fn server(&mut self, ty: &Type, raw: &[u8]) -> Option<String> {
        let key = (ty.oid(), raw.to_vec());
        if let Some(text) = self.known.get(&key) {
            return Some(text.clone());
        }
        if !self.collecting {
            return None;
        }
        if self.requested.insert(key) {
            self.pending.push(Request { ty: ty.clone(), raw: raw.to_vec(), column: self.column });
        }
        Some(String::new())
    }

    /// Asks the server how many fraction digits money has (the scale `money::numeric` gives):
    /// money's binary form is a count of minor units, and only `lc_monetary` says how large
    /// they are.
    pub(crate) async fn ask_money_digits(&mut self, tx: &tokio_postgres::Client) -> Result<(), Failure> {
        let row = tx
            .query_one("SELECT pg_catalog.scale(0::pg_catalog.money::pg_catalog.numeric)", &[])
            .await
            .map_err(Failure::Database)?;
        let digits: Option<i32> = row.try_get(0).map_err(Failure::Database)?;
        self.money_digits = digits.and_then(|d| u32::try_from(d).ok()).unwrap_or(2);
        Ok(())
    }

    /// Asks the server for every collected value, in `tx`, and ends the collecting pass.
    pub(crate) async fn resolve(&mut self, tx: &tokio_postgres::Client) -> Result<(), Failure> {
        self.collecting = false;
        let pending = std::mem::take(&mut self.pending);
        for batch in pending.chunks(BATCH) {
            let Some(first) = batch.first() else { continue };
            let unprintable =
                || Failure::Unprintable { column: first.column, type_name: first.ty.name().into() };
            let sql = (1..=batch.len())
                .map(|i| format!("pg_catalog.format('%s', ${i})"))
                .collect::<Vec<_>>()
                .join(", ");
            let values: Vec<RawParam<'_>> = batch.iter().map(|r| RawParam(&r.raw)).collect();
            let params: Vec<(&(dyn ToSql + Sync), Type)> =
                batch.iter().zip(&values).map(|(r, v)| (v as &(dyn ToSql + Sync), r.ty.clone())).collect();
            let rows = match tx.query_typed(&format!("SELECT {sql}"), &params).await {
                Ok(rows) => rows,
                Err(e) if e.as_db_error().is_some_and(|db| !is_interruption(db.code().code())) => {
                    return Err(unprintable());
                }
                Err(e) => return Err(Failure::Database(e)),
            };
            let row = rows.first().ok_or_else(unprintable)?;
            for (i, request) in batch.iter().enumerate() {
                let text = match row.try_get::<_, Option<Raw<'_>>>(i) {
                    Ok(Some(Raw(bytes))) => String::from_utf8(bytes.to_vec()).map_err(|_| unprintable())?,
                    _ => return Err(unprintable()),
                };
                self.known.insert((request.ty.oid(), request.raw.clone()), text);
            }
        }
        Ok(())
    }
}

/// Server errors that are about the session, not the value: reported as themselves.
fn is_interruption(code: &str) -> bool {
    code == "57014" || code.starts_with("08") || code.starts_with("57P")
}

/// A value sent back exactly as the server sent it.
#[derive(Debug)]
struct RawParam<'a>(&'a [u8]);

impl ToSql for RawParam<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0);
        Ok(IsNull::No)
    }

    // The bytes came from the server for exactly this type.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Binary
    }

    to_sql_checked!();
}
