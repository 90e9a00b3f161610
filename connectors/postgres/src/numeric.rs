//! NUMERIC and MONEY, exactly: decoded from the binary wire form into decimal strings (no
//! fixed-precision decimal type can hold PostgreSQL's up to 131072 digits), and decimal
//! parameters checked before they are sent in text form.

use std::fmt::Write as _;

const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;

fn u16_at(raw: &[u8], at: usize) -> Option<u16> {
    let bytes = raw.get(at..at + 2)?;
    Some(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]))
}

/// Decodes PostgreSQL's binary NUMERIC (ndigits, weight, sign, dscale, then base-10000 digits)
/// into the string PostgreSQL itself would print: `NaN`, `Infinity`, `-Infinity`, or digits with
/// exactly `dscale` fraction digits.
pub(crate) fn decode_numeric(raw: &[u8]) -> Option<String> {
    let ndigits = usize::from(u16_at(raw, 0)?);
    let weight = i64::from(u16_at(raw, 2)?.cast_signed());
    let sign = u16_at(raw, 4)?;
    let dscale = usize::from(u16_at(raw, 6)?);
    match sign {
        NUMERIC_NAN => return Some("NaN".into()),
        NUMERIC_PINF => return Some("Infinity".into()),
        NUMERIC_NINF => return Some("-Infinity".into()),
        0 | NUMERIC_NEG => {}
        _ => return None,
    }
    let digits: Vec<u16> = (0..ndigits).map(|i| u16_at(raw, 8 + 2 * i)).collect::<Option<_>>()?;
    let digit = |i: i64| usize::try_from(i).ok().and_then(|i| digits.get(i)).copied().unwrap_or(0);

    let mut out = String::new();
    if sign == NUMERIC_NEG {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for i in 0..=weight {
            let _ = if i == 0 { write!(out, "{}", digit(i)) } else { write!(out, "{:04}", digit(i)) };
        }
    }
    if dscale > 0 {
        out.push('.');
        let start = out.len();
        let mut i = weight + 1;
        while out.len() - start < dscale {
            let _ = write!(out, "{:04}", digit(i));
            i += 1;
        }
        out.truncate(start + dscale);
    }
    Some(out)
}

/// MONEY is an int8 count of the currency's minor unit; `digits` is how many fraction digits
/// the server's `lc_monetary` gives it (the scale of `money::numeric`, 0 to 10).
pub(crate) fn decode_money(units: i64, digits: u32) -> String {
    let abs = units.unsigned_abs();
    let sign = if units < 0 { "-" } else { "" };
    match 10u64.checked_pow(digits) {
        Some(scale) if digits > 0 => {
            format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = digits as usize)
        }
        _ => format!("{sign}{abs}"),
    }
}

/// Checks that `s` is a decimal PostgreSQL's `numeric_in` accepts without surprises: optional
/// sign, digits with at most one point, optional exponent; or NaN / Infinity.
pub(crate) fn is_decimal(s: &str, allow_special: bool) -> bool {
    let special = matches!(
        s.to_ascii_lowercase().as_str(),
        "nan" | "infinity" | "+infinity" | "-infinity" | "inf" | "+inf" | "-inf"
    );
    if special {
        return allow_special;
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits_ok(int) && digits_ok(frac) && !(int.is_empty() && frac.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.len() <= 6 && digits_ok(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(ndigits: &[u16], weight: i16, sign: u16, dscale: u16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend((ndigits.len() as u16).to_be_bytes());
        v.extend(weight.to_be_bytes());
        v.extend(sign.to_be_bytes());
        v.extend(dscale.to_be_bytes());
        for d in ndigits {
            v.extend(d.to_be_bytes());
        }
        v
    }

    #[test]
    fn numerics() {
        assert_eq!(decode_numeric(&encode(&[1, 2345], 1, 0, 0)).unwrap(), "12345");
        assert_eq!(decode_numeric(&encode(&[12, 3400], 0, NUMERIC_NEG, 3)).unwrap(), "-12.340");
        assert_eq!(decode_numeric(&encode(&[5], -1, 0, 5)).unwrap(), "0.00050");
        assert_eq!(decode_numeric(&encode(&[], 0, 0, 2)).unwrap(), "0.00");
        assert_eq!(decode_numeric(&encode(&[1], 2, 0, 0)).unwrap(), "100000000");
        assert_eq!(decode_numeric(&encode(&[], 0, NUMERIC_NAN, 0)).unwrap(), "NaN");
        assert_eq!(decode_money(-1234, 2), "-12.34");
        assert_eq!(decode_money(i64::MIN, 2), "-92233720368547758.08");
        assert_eq!(decode_money(1000, 0), "1000");
        assert_eq!(decode_money(-5, 3), "-0.005");
    }

    #[test]
    fn decimals() {
        for ok in ["1", "-1.5", ".5", "5.", "1e10", "+3E-2", "NaN"] {
            assert!(is_decimal(ok, true), "{ok}");
        }
        for bad in ["", ".", "1.2.3", "1e", "abc", "1 ", "0x10", "1e1000000"] {
            assert!(!is_decimal(bad, true), "{bad}");
        }
        assert!(!is_decimal("Infinity", false));
    }
}
