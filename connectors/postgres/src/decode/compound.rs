//! Arrays, ranges, multiranges and records: binary layouts of other values, printed with the
//! quoting rules of PostgreSQL's own output functions (`array_out`, `range_out`,
//! `multirange_out`, `record_out`).

use sluice_core::execute::Value;
use tokio_postgres::types::{Kind, Type};

use super::plan::{Node, plan};
use super::server::Texts;
use super::wire::Reader;
use super::{json, text};

/// A binary array: dimensions, null flag, element OID, (length, lower bound) per dimension, then
/// length-prefixed elements in row-major order.
struct Array<'a> {
    dims: Vec<(usize, i32)>,
    elems: Vec<Option<&'a [u8]>>,
}

fn parse_array(raw: &[u8]) -> Option<Array<'_>> {
    let mut r = Reader::new(raw);
    let ndim = r.count()?;
    let _has_nulls = r.i32()?;
    let _elem_oid = r.u32()?;
    let dims = (0..ndim).map(|_| Some((r.count()?, r.i32()?))).collect::<Option<Vec<_>>>()?;
    let total =
        if ndim == 0 { 0 } else { dims.iter().try_fold(1usize, |acc, &(d, _)| acc.checked_mul(d))? };
    // Each element takes at least its 4-byte length, so a count beyond that is malformed.
    if total > raw.len() / 4 {
        return None;
    }
    let elems = (0..total).map(|_| r.field()).collect::<Option<Vec<_>>>()?;
    r.done().then_some(Array { dims, elems })
}

/// An array as a JSON array (nested for several dimensions; lower bounds are not kept).
pub(crate) fn array_json(elem: &Node, raw: &[u8], texts: &mut Texts) -> Option<Value> {
    let array = parse_array(raw)?;
    if array.dims.is_empty() {
        return Some(Value::Array(Vec::new()));
    }
    let values = array
        .elems
        .into_iter()
        .map(|e| match e {
            None => Some(Value::Null),
            Some(bytes) => json(elem, bytes, texts),
        })
        .collect::<Option<Vec<_>>>()?;
    let lengths: Vec<usize> = array.dims.iter().map(|&(n, _)| n).collect();
    Some(nest(&lengths, &mut values.into_iter()))
}

fn nest(dims: &[usize], flat: &mut impl Iterator<Item = Value>) -> Value {
    match dims.split_first() {
        None => flat.next().unwrap_or(Value::Null),
        Some((&n, [])) => Value::Array(flat.take(n).collect()),
        Some((&n, rest)) => Value::Array((0..n).map(|_| nest(rest, flat)).collect()),
    }
}

/// An array as `array_out` prints it: `{1,NULL,"a b"}`, `{{1,2},{3,4}}`, `[0:1]={1,2}` when a
/// lower bound is not 1, elements separated by the element type's delimiter.
pub(crate) fn array_text(elem: &Node, raw: &[u8], delim: char, texts: &mut Texts) -> Option<String> {
    let array = parse_array(raw)?;
    if array.dims.is_empty() {
        return Some("{}".into());
    }
    let mut out = String::new();
    if array.dims.iter().any(|&(_, lower)| lower != 1) {
        for &(n, lower) in &array.dims {
            let upper = i64::from(lower) + i64::try_from(n).ok()? - 1;
            out.push_str(&format!("[{lower}:{upper}]"));
        }
        out.push('=');
    }
    let texts = array
        .elems
        .into_iter()
        .map(|e| match e {
            None => Some("NULL".to_owned()),
            Some(bytes) => text(elem, bytes, texts).map(|t| quote_array_element(&t, delim)),
        })
        .collect::<Option<Vec<_>>>()?;
    let lengths: Vec<usize> = array.dims.iter().map(|&(n, _)| n).collect();
    nest_text(&lengths, &mut texts.into_iter(), delim, &mut out);
    Some(out)
}

/// int2vector / oidvector as their output functions print them: elements separated by spaces,
/// no braces (their binary input refuses some values their binary output sends, such as the
/// empty vector, so the server cannot print them for us).
pub(crate) fn vector_text(elem: &Node, raw: &[u8], texts: &mut Texts) -> Option<String> {
    let array = parse_array(raw)?;
    let items = array.elems.into_iter().map(|e| text(elem, e?, texts)).collect::<Option<Vec<_>>>()?;
    Some(items.join(" "))
}

fn nest_text(dims: &[usize], flat: &mut impl Iterator<Item = String>, delim: char, out: &mut String) {
    out.push('{');
    match dims.split_first() {
        None => {}
        Some((&n, [])) => {
            for i in 0..n {
                if i > 0 {
                    out.push(delim);
                }
                out.push_str(&flat.next().unwrap_or_default());
            }
        }
        Some((&n, rest)) => {
            for i in 0..n {
                if i > 0 {
                    out.push(delim);
                }
                nest_text(rest, flat, delim, out);
            }
        }
    }
    out.push('}');
}

/// Whitespace as PostgreSQL's array and record output functions see it (ASCII only).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// `array_out`'s quoting: quoted when empty, `NULL` in any case, or holding a brace, the
/// delimiter, a quote, a backslash or whitespace; `"` and `\` escaped with a backslash.
fn quote_array_element(s: &str, delim: char) -> String {
    let needs = s.is_empty()
        || s.eq_ignore_ascii_case("NULL")
        || s.chars().any(|c| matches!(c, '"' | '\\' | '{' | '}') || c == delim || is_space(c));
    if !needs {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `record_out`'s and `range_out`'s quoting: quoted when empty or holding a quote, a backslash,
/// a parenthesis, a comma or whitespace (ranges also brackets); `"` and `\` doubled.
fn quote_doubling(s: &str, brackets: bool) -> String {
    let needs = s.is_empty()
        || s.chars().any(|c| {
            matches!(c, '"' | '\\' | '(' | ')' | ',') || (brackets && matches!(c, '[' | ']')) || is_space(c)
        });
    if !needs {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('"');
    out
}

const RANGE_EMPTY: u8 = 0x01;
const RANGE_LB_INC: u8 = 0x02;
const RANGE_UB_INC: u8 = 0x04;
const RANGE_LB_INF: u8 = 0x08;
const RANGE_UB_INF: u8 = 0x10;
const RANGE_LB_NULL: u8 = 0x20;
const RANGE_UB_NULL: u8 = 0x40;

/// A range: a flags byte, then the bounds it has, length-prefixed. Printed as `range_out`
/// does: `empty`, or `[` / `(`, the bounds (absent when infinite), `]` / `)`.
pub(crate) fn range_text(elem: &Node, raw: &[u8], texts: &mut Texts) -> Option<String> {
    let mut r = Reader::new(raw);
    let flags = r.u8()?;
    if flags & RANGE_EMPTY != 0 {
        return r.done().then(|| "empty".into());
    }
    let mut bound = |absent: u8, r: &mut Reader<'_>| -> Option<String> {
        if flags & absent != 0 {
            return Some(String::new());
        }
        let bytes = r.field()??;
        Some(quote_doubling(&text(elem, bytes, texts)?, true))
    };
    let lower = bound(RANGE_LB_INF | RANGE_LB_NULL, &mut r)?;
    let upper = bound(RANGE_UB_INF | RANGE_UB_NULL, &mut r)?;
    let open = if flags & RANGE_LB_INC != 0 { '[' } else { '(' };
    let close = if flags & RANGE_UB_INC != 0 { ']' } else { ')' };
    r.done().then(|| format!("{open}{lower},{upper}{close}"))
}

/// A multirange: a count, then length-prefixed ranges; printed `{[1,3),[5,7)}`.
pub(crate) fn multirange_text(elem: &Node, raw: &[u8], texts: &mut Texts) -> Option<String> {
    let mut r = Reader::new(raw);
    let n = r.count()?;
    let mut ranges = Vec::with_capacity(n.min(raw.len()));
    for _ in 0..n {
        ranges.push(range_text(elem, r.field()??, texts)?);
    }
    r.done().then(|| format!("{{{}}}", ranges.join(",")))
}

/// A record: a field count, then per field its type OID and a length-prefixed value. Printed as
/// `record_out` does: `(1,,"a b")`, NULL fields empty. `fields` are a named composite's
/// decoders; an anonymous record's fields are decoded by the OIDs the value carries.
pub(crate) fn record_text(fields: Option<&[Node]>, raw: &[u8], texts: &mut Texts) -> Option<String> {
    let mut r = Reader::new(raw);
    let n = r.count()?;
    if fields.is_some_and(|f| f.len() != n) {
        return None;
    }
    let mut out = String::from("(");
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        let oid = r.u32()?;
        let Some(bytes) = r.field()? else { continue };
        let value = match fields {
            Some(fields) => text(fields.get(i)?, bytes, texts)?,
            None => text(&node_for_oid(oid)?, bytes, texts)?,
        };
        out.push_str(&quote_doubling(&value, false));
    }
    out.push(')');
    r.done().then_some(out)
}

/// The decoder for a field of an anonymous record: built-in types by their OID; any other type
/// is printed by the server, which knows it by that OID.
fn node_for_oid(oid: u32) -> Option<Node> {
    match Type::from_oid(oid) {
        Some(ty) => plan(&ty).ok().map(|(node, _)| node),
        None => Some(Node::Server(Type::new(format!("oid {oid}"), oid, Kind::Simple, String::new()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_follows_postgres() {
        assert_eq!(quote_array_element("a b", ','), "\"a b\"");
        assert_eq!(quote_array_element("null", ','), "\"null\"");
        assert_eq!(quote_array_element("", ','), "\"\"");
        assert_eq!(quote_array_element("a\"\\", ','), "\"a\\\"\\\\\"");
        assert_eq!(quote_array_element("(1,2)", ','), "\"(1,2)\"");
        assert_eq!(quote_array_element("1,2", ';'), "1,2");
        assert_eq!(quote_doubling("a\"b", false), "\"a\"\"b\"");
        assert_eq!(quote_doubling("[x]", false), "[x]");
        assert_eq!(quote_doubling("[x]", true), "\"[x]\"");
    }
}
