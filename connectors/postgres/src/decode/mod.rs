//! PostgreSQL binary result values -> [`Value`], by column type.
//!
//! Rows are read through [`Raw`], a `FromSql` that accepts every type and hands over the bytes,
//! so decoding never depends on `tokio-postgres`' own conversions (which reject `infinity`
//! timestamps and have no exact NUMERIC). Each column's type becomes a [`Node`] before the
//! statement runs ([`plan`]); values are decoded from their binary form: scalars into their
//! JSON forms ([`scalar`]), other built-in types into the text PostgreSQL prints for them
//! ([`special`], [`compound`], [`text`]). The few types only the server can print are asked for
//! in the same transaction ([`server`]). Columns holding a type with no binary form at all are
//! asked for as text in the first place ([`columns`] says which; `crate::astext` asks).

mod compound;
mod plan;
mod scalar;
mod server;
mod special;
mod text;
mod wire;

use sluice_core::execute::{Column, ExecError, Value};
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{Client, Row};

use self::plan::Node;
use self::server::{Failure, Texts};
use self::special::Special;
use crate::astext::Ask;
use crate::types::Scalar;

/// The undecoded bytes of one value.
pub(crate) struct Raw<'a>(pub(crate) &'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// How to decode each result column.
pub(crate) struct Plan(Vec<Node>);

impl Plan {
    /// Whether decoding may ask the server, in the statement's transaction, for a text only it
    /// can print (or for money's scale).
    pub(crate) fn asks_server(&self) -> bool {
        self.0.iter().any(|node| node.has_money() || node.may_ask_server())
    }
}

/// Result columns, how the server must send each, and how to decode what it sends; fails
/// before execution if a type cannot be returned.
pub(crate) fn columns(cols: &[tokio_postgres::Column]) -> Result<(Vec<Column>, Vec<Ask>, Plan), ExecError> {
    let mut columns = Vec::with_capacity(cols.len());
    let mut asks = Vec::with_capacity(cols.len());
    let mut nodes = Vec::with_capacity(cols.len());
    for col in cols {
        let (node, type_name) =
            plan::plan(col.type_()).map_err(|plan::Refused| ExecError::UnsupportedType {
                column: col.name().to_owned(),
                type_name: col.type_().name().to_owned(),
            })?;
        // A value the server cannot send in binary arrives as its text: the JSON form of every
        // type that can hold one (its own, a composite's, an array's elements') is that text.
        let (ask, node) = match node {
            Node::Array { elem, .. } if elem.lacks_binary_form() => (
                Ask::TextArray,
                Node::Array { elem: Box::new(Node::Scalar(Scalar::Text)), ty: Type::TEXT_ARRAY },
            ),
            node if node.lacks_binary_form() => (Ask::Text, Node::Scalar(Scalar::Text)),
            node => (Ask::Binary, node),
        };
        columns.push(Column { name: col.name().to_owned(), type_name });
        asks.push(ask);
        nodes.push(node);
    }
    Ok((columns, asks, Plan(nodes)))
}

/// Decodes `rows` of a plan that never [asks the server](Plan::asks_server).
///
/// # Errors
/// [`ExecError::UnsupportedType`] for a malformed value.
pub(crate) fn rows_local(
    rows: &[Row],
    columns: &[Column],
    plan: &Plan,
) -> Result<Vec<Vec<Value>>, ExecError> {
    let mut texts = Texts::default();
    rows.iter().map(|row| decode_row(row, columns, &plan.0, &mut texts)).collect()
}

/// Decodes `rows`, asking the server on `client`, inside the statement's still open
/// transaction, for the texts only it can print.
///
/// # Errors
/// [`ExecError::UnsupportedType`] for a malformed value or one the server cannot print; the
/// mapped database error if asking the server fails (`map` maps it).
pub(crate) async fn rows(
    tx: &Client,
    rows: &[Row],
    columns: &[Column],
    plan: &Plan,
    map: impl Fn(tokio_postgres::Error) -> ExecError,
) -> Result<Vec<Vec<Value>>, ExecError> {
    let failed = |failure| match failure {
        Failure::Database(e) => map(e),
        Failure::Unprintable { column, type_name } => ExecError::UnsupportedType {
            column: columns.get(column).map(|c: &Column| c.name.clone()).unwrap_or_default(),
            type_name,
        },
    };
    let mut texts = Texts::default();
    if plan.0.iter().any(Node::has_money) {
        texts.ask_money_digits(tx).await.map_err(failed)?;
    }
    if plan.0.iter().any(Node::may_ask_server) {
        texts.collect();
        for row in rows {
            decode_row(row, columns, &plan.0, &mut texts)?;
        }
        texts.resolve(tx).await.map_err(failed)?;
    }
    rows.iter().map(|row| decode_row(row, columns, &plan.0, &mut texts)).collect()
}

fn decode_row(
    row: &Row,
    columns: &[Column],
    nodes: &[Node],
    texts: &mut Texts,
) -> Result<Vec<Value>, ExecError> {
    let mut values = Vec::with_capacity(nodes.len());
    for (i, (node, col)) in nodes.iter().zip(columns).enumerate() {
        let bad = || ExecError::UnsupportedType {
            column: col.name.clone(),
            type_name: format!("{} (undecodable value)", col.type_name),
        };
        texts.column = i;
        let raw: Option<Raw<'_>> = row.try_get(i).map_err(|_| bad())?;
        values.push(match raw {
            None => Value::Null,
            Some(Raw(bytes)) => json(node, bytes, texts).ok_or_else(bad)?,
        });
    }
    Ok(values)
}

/// The JSON form of a value: scalars their own, arrays JSON arrays, the rest their text.
fn json(node: &Node, raw: &[u8], texts: &mut Texts) -> Option<Value> {
    match node {
        Node::Scalar(s) => scalar::value(*s, raw, texts.money_digits),
        Node::Special(s) => s.json(raw),
        Node::Array { elem, .. } => compound::array_json(elem, raw, texts),
        _ => text(node, raw, texts).map(Value::Text),
    }
}

/// The text PostgreSQL prints for a value.
fn text(node: &Node, raw: &[u8], texts: &mut Texts) -> Option<String> {
    match node {
        Node::Scalar(Scalar::Money) => texts.server(&Type::MONEY, raw),
        Node::Scalar(s) => text::scalar(*s, raw),
        Node::Special(s) => s.text(raw),
        Node::Array { elem, ty } if *ty == Type::INT2_VECTOR || *ty == Type::OID_VECTOR => {
            compound::vector_text(elem, raw, texts)
        }
        Node::Array { elem, ty } | Node::Range { elem, ty } | Node::Multirange { elem, ty }
            if elem.text_needs_server() =>
        {
            texts.server(ty, raw)
        }
        Node::Array { elem, .. } => {
            // box is the one built-in type whose array delimiter is not a comma.
            let delim = if **elem == Node::Special(Special::Box) { ';' } else { ',' };
            compound::array_text(elem, raw, delim, texts)
        }
        Node::Range { elem, .. } => compound::range_text(elem, raw, texts),
        Node::Multirange { elem, .. } => compound::multirange_text(elem, raw, texts),
        Node::Composite(fields) => compound::record_text(Some(fields), raw, texts),
        Node::Record => compound::record_text(None, raw, texts),
        Node::Server(ty) => texts.server(ty, raw),
        // Asked for as text instead (see `columns`); never sent in binary.
        Node::NoBinary => None,
    }
}
