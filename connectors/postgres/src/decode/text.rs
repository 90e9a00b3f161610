//! The text PostgreSQL prints for scalar values, used where a value is part of a larger
//! canonical text (a range bound, a record field, an array element inside a record, a point's
//! coordinate). The connector pins `DateStyle = ISO`, `TimeZone = UTC`, `IntervalStyle =
//! iso_8601`, `bytea_output = hex` and `extra_float_digits = 1`, the settings these forms
//! assume.

use std::fmt::Write as _;

use super::wire::Reader;
use crate::datetime::{format_interval, pg_date, pg_time, pg_timestamp};
use crate::numeric::decode_numeric;
use crate::types::Scalar;

/// The text of a scalar; `None` for money, whose text depends on the server's `lc_monetary`
/// (the caller asks the server), and for malformed input.
pub(crate) fn scalar(s: Scalar, raw: &[u8]) -> Option<String> {
    let mut r = Reader::new(raw);
    let text = match s {
        Scalar::Bool => (if r.u8()? != 0 { "t" } else { "f" }).to_owned(),
        Scalar::Int2 => r.i16()?.to_string(),
        Scalar::Int4 => r.i32()?.to_string(),
        Scalar::Int8 => r.i64()?.to_string(),
        Scalar::Oid => r.u32()?.to_string(),
        Scalar::Float4 => float4(f32::from_bits(r.u32()?)),
        Scalar::Float8 => float8(r.f64()?),
        Scalar::Numeric => decode_numeric(r.rest())?,
        Scalar::Money => return None,
        Scalar::Text => String::from_utf8(r.rest().to_vec()).ok()?,
        Scalar::Char => char_text(r.u8()?),
        Scalar::Bytea => {
            let bytes = r.rest();
            let mut out = String::with_capacity(2 + 2 * bytes.len());
            out.push_str("\\x");
            for b in bytes {
                let _ = write!(out, "{b:02x}");
            }
            out
        }
        Scalar::Uuid => uuid::Uuid::from_bytes(r.take(16)?.try_into().ok()?).hyphenated().to_string(),
        Scalar::Json => String::from_utf8(r.rest().to_vec()).ok()?,
        Scalar::Jsonb => jsonb(r.rest())?,
        Scalar::Date => pg_date(r.i32()?),
        Scalar::Time => pg_time(r.i64()?),
        Scalar::Timestamp => pg_timestamp(r.i64()?, false),
        Scalar::TimestampTz => pg_timestamp(r.i64()?, true),
        Scalar::Interval => {
            let usecs = r.i64()?;
            let days = r.i32()?;
            format_interval(r.i32()?, days, usecs)
        }
        Scalar::Inet => inet(r.rest())?,
        Scalar::Void => String::new(),
    };
    r.done().then_some(text)
}

/// jsonb's binary form: a version byte (1), then the canonical text `jsonb_out` prints.
pub(crate) fn jsonb(raw: &[u8]) -> Option<String> {
    match raw.split_first()? {
        (1, body) => String::from_utf8(body.to_vec()).ok(),
        _ => None,
    }
}

/// The one-byte `"char"` as `charout` prints it: NUL is the empty string, bytes with the high
/// bit set are `\ooo` octal escapes (they are not characters on their own).
pub(crate) fn char_text(b: u8) -> String {
    match b {
        0 => String::new(),
        0x80.. => format!("\\{b:03o}"),
        _ => char::from(b).to_string(),
    }
}

/// inet / cidr: family, prefix bits, is-cidr flag, address length, address; printed the way
/// PostgreSQL prints them (inet omits a full-length prefix, cidr always shows it).
pub(crate) fn inet(raw: &[u8]) -> Option<String> {
    let mut r = Reader::new(raw);
    let (family, bits, is_cidr, len) = (r.u8()?, r.u8()?, r.u8()?, r.u8()?);
    let addr = r.rest();
    if usize::from(len) != addr.len() {
        return None;
    }
    let (ip, full) = match family {
        2 => (std::net::Ipv4Addr::from(<[u8; 4]>::try_from(addr).ok()?).to_string(), 32),
        3 => (ipv6(<[u8; 16]>::try_from(addr).ok()?), 128),
        _ => return None,
    };
    Some(if is_cidr == 0 && bits == full { ip } else { format!("{ip}/{bits}") })
}

/// An IPv6 address as PostgreSQL's `inet_net_ntop` prints it: the first longest run of two or
/// more zero groups as `::`, and the last 32 bits as IPv4 after six zero groups or after
/// `::ffff`. (Rust's `Ipv6Addr` prints `::1.2.3.4` as `::102:304`.)
fn ipv6(bytes: [u8; 16]) -> String {
    let words: Vec<u16> =
        bytes.chunks_exact(2).map(|p| p.iter().fold(0u16, |w, &b| (w << 8) | u16::from(b))).collect();
    let (mut best, mut run) = ((0usize, 0usize), (0usize, 0usize));
    for (i, &w) in words.iter().enumerate() {
        if w == 0 {
            run = if run.1 == 0 { (i, 1) } else { (run.0, run.1 + 1) };
            if run.1 > best.1 {
                best = run;
            }
        } else {
            run = (0, 0);
        }
    }
    if best.1 < 2 {
        best = (usize::MAX, 0);
    }
    let mut out = String::new();
    for (i, &w) in words.iter().enumerate() {
        if i >= best.0 && i < best.0 + best.1 {
            if i == best.0 {
                out.push(':');
            }
            continue;
        }
        if i != 0 {
            out.push(':');
        }
        let embedded_v4 = best.0 == 0 && (best.1 == 6 || (best.1 == 5 && words.get(5) == Some(&0xffff)));
        if i == 6 && embedded_v4 {
            let v4 = bytes.get(12..16).and_then(|b| <[u8; 4]>::try_from(b).ok()).unwrap_or_default();
            out.push_str(&std::net::Ipv4Addr::from(v4).to_string());
            break;
        }
        let _ = write!(out, "{w:x}");
    }
    if best.1 > 0 && best.0 + best.1 == words.len() {
        out.push(':');
    }
    out
}

/// float8 as `float8out` prints it with `extra_float_digits > 0`: the shortest decimal that
/// reads back exactly, in fixed notation for decimal exponents -4..14, else `d.ddde+XX`.
pub(crate) fn float8(f: f64) -> String {
    special(f.is_nan(), f.is_infinite(), f == 0.0, f.is_sign_negative())
        .unwrap_or_else(|| shortest(&format!("{f:e}"), 15))
}

/// float4 the same way, with fixed notation for exponents -4..5 (`float4out`).
pub(crate) fn float4(f: f32) -> String {
    special(f.is_nan(), f.is_infinite(), f == 0.0, f.is_sign_negative())
        .unwrap_or_else(|| shortest(&format!("{f:e}"), 6))
}

fn special(nan: bool, infinite: bool, zero: bool, negative: bool) -> Option<String> {
    Some(
        match (nan, infinite, zero, negative) {
            (true, ..) => "NaN",
            (_, true, _, false) => "Infinity",
            (_, true, _, true) => "-Infinity",
            (_, _, true, false) => "0",
            (_, _, true, true) => "-0",
            _ => return None,
        }
        .to_owned(),
    )
}

/// Reformats Rust's shortest scientific form (`-1.2345e-5`: the same digits PostgreSQL's Ryū
/// output chooses) the way PostgreSQL lays them out.
fn shortest(sci: &str, fixed_below: i32) -> String {
    let (negative, body) = match sci.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, sci),
    };
    let (mantissa, exponent) = body.split_once('e').unwrap_or((body, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exponent.parse().unwrap_or(0);
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    let n = digits.len();
    if (-4..fixed_below).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', exp.unsigned_abs() as usize - 1));
            out.push_str(&digits);
        } else {
            let int_len = exp.unsigned_abs() as usize + 1;
            if n <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - n));
            } else {
                out.push_str(digits.get(..int_len).unwrap_or_default());
                out.push('.');
                out.push_str(digits.get(int_len..).unwrap_or_default());
            }
        }
    } else {
        out.push_str(digits.get(..1).unwrap_or_default());
        if n > 1 {
            out.push('.');
            out.push_str(digits.get(1..).unwrap_or_default());
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_postgres_does() {
        for (f, text) in [
            (0.1, "0.1"),
            (1e100, "1e+100"),
            (1e15, "1e+15"),
            (1e14, "100000000000000"),
            (123456.789, "123456.789"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-1.5e-300, "-1.5e-300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (-0.0, "-0"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(float8(f), text);
        }
        assert_eq!(float4(0.1), "0.1");
        assert_eq!(float4(123456.0), "123456");
        assert_eq!(float4(1234567.0), "1.234567e+06");
        assert_eq!(float4(f32::MAX), "3.4028235e+38");
    }

    #[test]
    fn ipv6_prints_as_postgres_does() {
        let v6 = |s: &str| ipv6(s.parse::<std::net::Ipv6Addr>().unwrap().octets());
        for (addr, text) in [
            ("::", "::"),
            ("::1", "::1"),
            ("::2", "::2"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::ffff:0:0", "::ffff:0.0.0.0"),
            ("1::", "1::"),
            ("0:0:0:0:0:1:2:3", "::1:2:3"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"),
            ("2001:db8::ff00:42:8329", "2001:db8::ff00:42:8329"),
        ] {
            assert_eq!(v6(addr), text, "{addr}");
        }
    }

    #[test]
    fn chars_print_as_charout_does() {
        assert_eq!(char_text(0), "");
        assert_eq!(char_text(b'a'), "a");
        assert_eq!(char_text(0xe9), "\\351");
    }
}
