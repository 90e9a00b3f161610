//! Built-in types with fixed binary layouts and no JSON form of their own, decoded into the text
//! PostgreSQL prints for them: bit strings, MAC addresses, `timetz`, `pg_lsn`, `tid`,
//! transaction ids and snapshots, geometric types, `tsvector`, `jsonpath`.

use std::fmt::Write as _;

use sluice_core::execute::Value;
use tokio_postgres::types::Type;

use super::text::float8;
use super::wire::Reader;
use crate::datetime::{format_timetz, pg_timetz};

/// A type decoded by this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    /// bit and varbit: `0101`.
    Bit,
    /// macaddr and macaddr8: `08:00:2b:01:02:03`.
    Macaddr,
    /// Its JSON form is ISO 8601 (`13:45:59.500000+02:00`); its text PostgreSQL's.
    Timetz,
    PgLsn,
    Tid,
    /// xid, cid (32 bits) and xid8 (64 bits): decimal.
    Xid32,
    Xid64,
    /// txid_snapshot and pg_snapshot: `xmin:xmax:xip,...`.
    Snapshot,
    Point,
    Line,
    Lseg,
    Box,
    Path,
    Polygon,
    Circle,
    Tsvector,
    Jsonpath,
}

impl Special {
    /// The decoder for `ty`, if this module has one.
    pub(crate) fn of(ty: &Type) -> Option<Special> {
        const TABLE: &[(Type, Special)] = &[
            (Type::BIT, Special::Bit),
            (Type::VARBIT, Special::Bit),
            (Type::MACADDR, Special::Macaddr),
            (Type::MACADDR8, Special::Macaddr),
            (Type::TIMETZ, Special::Timetz),
            (Type::PG_LSN, Special::PgLsn),
            (Type::TID, Special::Tid),
            (Type::XID, Special::Xid32),
            (Type::CID, Special::Xid32),
            (Type::XID8, Special::Xid64),
            (Type::TXID_SNAPSHOT, Special::Snapshot),
            (Type::PG_SNAPSHOT, Special::Snapshot),
            (Type::POINT, Special::Point),
            (Type::LINE, Special::Line),
            (Type::LSEG, Special::Lseg),
            (Type::BOX, Special::Box),
            (Type::PATH, Special::Path),
            (Type::POLYGON, Special::Polygon),
            (Type::CIRCLE, Special::Circle),
            (Type::TS_VECTOR, Special::Tsvector),
            (Type::JSONPATH, Special::Jsonpath),
        ];
        TABLE.iter().find(|(t, _)| t == ty).map(|(_, s)| *s)
    }

    /// The value's JSON form: its PostgreSQL text, except `timetz` (ISO 8601, like `time`).
    pub(crate) fn json(self, raw: &[u8]) -> Option<Value> {
        if self == Special::Timetz {
            let mut r = Reader::new(raw);
            let (usecs, zone) = (r.i64()?, r.i32()?);
            return r.done().then(|| Value::Text(format_timetz(usecs, zone)));
        }
        self.text(raw).map(Value::Text)
    }

    /// The text PostgreSQL prints for the value.
    pub(crate) fn text(self, raw: &[u8]) -> Option<String> {
        let mut r = Reader::new(raw);
        let text = match self {
            Special::Bit => {
                let bits = r.count()?;
                let bytes = r.take(bits.div_ceil(8))?;
                (0..bits)
                    .map(|i| {
                        let byte = bytes.get(i / 8).copied().unwrap_or(0);
                        if byte & (0x80 >> (i % 8)) != 0 { '1' } else { '0' }
                    })
                    .collect()
            }
            Special::Macaddr => {
                let bytes = r.rest();
                if bytes.len() != 6 && bytes.len() != 8 {
                    return None;
                }
                bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
            }
            Special::Timetz => {
                let usecs = r.i64()?;
                pg_timetz(usecs, r.i32()?)
            }
            Special::PgLsn => {
                let lsn = r.u64()?;
                format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
            }
            Special::Tid => {
                let block = r.u32()?;
                format!("({block},{})", r.u16()?)
            }
            Special::Xid32 => r.u32()?.to_string(),
            Special::Xid64 => r.u64()?.to_string(),
            Special::Snapshot => {
                let n = r.count()?;
                let (xmin, xmax) = (r.u64()?, r.u64()?);
                let xips = (0..n).map(|_| r.u64().map(|x| x.to_string())).collect::<Option<Vec<_>>>()?;
                format!("{xmin}:{xmax}:{}", xips.join(","))
            }
            Special::Point => point(&mut r)?,
            Special::Line => {
                let (a, b, c) = (r.f64()?, r.f64()?, r.f64()?);
                format!("{{{},{},{}}}", float8(a), float8(b), float8(c))
            }
            Special::Lseg => format!("[{},{}]", point(&mut r)?, point(&mut r)?),
            Special::Box => format!("{},{}", point(&mut r)?, point(&mut r)?),
            Special::Path => {
                let closed = r.u8()? != 0;
                let points = points(&mut r)?;
                if closed { format!("({points})") } else { format!("[{points}]") }
            }
            Special::Polygon => format!("({})", points(&mut r)?),
            Special::Circle => {
                let center = point(&mut r)?;
                format!("<{center},{}>", float8(r.f64()?))
            }
            Special::Tsvector => tsvector(&mut r)?,
            Special::Jsonpath => match r.u8()? {
                1 => String::from_utf8(r.rest().to_vec()).ok()?,
                _ => return None,
            },
        };
        r.done().then_some(text)
    }
}

fn point(r: &mut Reader<'_>) -> Option<String> {
    let x = r.f64()?;
    Some(format!("({},{})", float8(x), float8(r.f64()?)))
}

/// An `int32` count, then that many points, comma-separated.
fn points(r: &mut Reader<'_>) -> Option<String> {
    let n = r.count()?;
    Some((0..n).map(|_| point(r)).collect::<Option<Vec<_>>>()?.join(","))
}

/// tsvector: lexeme count, then per lexeme its NUL-terminated text, a position count and
/// positions (weight in the top two bits). Printed as `tsvectorout` does: each lexeme quoted
/// with `'` and `\` doubled, positions after `:`, weights A-C as letters (D is not printed).
fn tsvector(r: &mut Reader<'_>) -> Option<String> {
    let n = r.count()?;
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push('\'');
        for c in r.cstr()?.chars() {
            if c == '\'' || c == '\\' {
                out.push(c);
            }
            out.push(c);
        }
        out.push('\'');
        let positions = r.u16()?;
        for p in 0..positions {
            out.push(if p == 0 { ':' } else { ',' });
            let entry = r.u16()?;
            let _ = write!(out, "{}", entry & 0x3FFF);
            match entry >> 14 {
                3 => out.push('A'),
                2 => out.push('B'),
                1 => out.push('C'),
                _ => {}
            }
        }
    }
    Some(out)
}
