//! PostgreSQL's text output -> the JSON Sluice documents for it. Only the documented
//! normalisations: `t`/`f` to booleans, numbers, `\x` hex to base64, ISO 8601 dates and times
//! (`T` separator, six fraction digits when nonzero, 1 BC as year 0000, `Z` / `+HH:MM`
//! offsets), array literals to JSON arrays. Every other type's text is the JSON string as is.

use base64::Engine as _;
use serde_json::{Value, json};

/// How a type's text becomes JSON.
#[derive(Debug, Clone, Copy)]
pub enum Form {
    /// The text itself.
    Text,
    Bool,
    /// int2, int4: a JSON number.
    Int,
    /// float4, float8: a JSON number, or the words NaN / Infinity / -Infinity.
    Float,
    Bytea,
    Date,
    Time,
    Timetz,
    Timestamp,
    Timestamptz,
    /// An array of elements of the inner form, with its delimiter.
    Array(&'static Form, char),
    /// int2vector / oidvector: space-separated, no braces; a JSON array.
    Vector(&'static Form),
}

impl Form {
    /// The JSON for one value's text (`None`: SQL NULL).
    pub fn expect(self, text: Option<&str>) -> Value {
        let Some(t) = text else { return Value::Null };
        match self {
            Form::Text => json!(t),
            Form::Bool => json!(t == "t"),
            Form::Int => json!(t.parse::<i64>().unwrap()),
            Form::Float => match t {
                "NaN" | "Infinity" | "-Infinity" => json!(t),
                _ => json!(t.parse::<f64>().unwrap()),
            },
            Form::Bytea => {
                let hex = t.strip_prefix("\\x").unwrap();
                let bytes: Vec<u8> = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            Form::Date => json!(iso_date(t)),
            Form::Time => json!(iso_time(t)),
            Form::Timetz => {
                let at = t.rfind(['+', '-']).unwrap();
                json!(format!("{}{}", iso_time(&t[..at]), iso_offset(&t[at..])))
            }
            Form::Timestamp => json!(iso_timestamp(t, false)),
            Form::Timestamptz => json!(iso_timestamp(t, true)),
            Form::Array(elem, delim) => array_json(&parse_array(t, delim), *elem),
            Form::Vector(elem) => Value::Array(t.split_whitespace().map(|e| elem.expect(Some(e))).collect()),
        }
    }
}

/// `2024-02-29`, `0001-12-31 BC` -> `0000-12-31`, `10000-01-01` -> `+10000-01-01`.
fn iso_date(t: &str) -> String {
    if t.ends_with("infinity") {
        return t.into();
    }
    let (body, bc) = match t.strip_suffix(" BC") {
        Some(body) => (body, true),
        None => (t, false),
    };
    let (year, rest) = body.split_once('-').unwrap();
    let year: i64 = year.parse().unwrap();
    let year = if bc { 1 - year } else { year };
    match year {
        0..=9999 => format!("{year:04}-{rest}"),
        10000.. => format!("+{year}-{rest}"),
        _ => format!("-{:04}-{rest}", -year),
    }
}

/// `13:45:59.5` -> `13:45:59.500000`.
fn iso_time(t: &str) -> String {
    match t.split_once('.') {
        Some((hms, frac)) => format!("{hms}.{frac:0<6}"),
        None => t.into(),
    }
}

/// `+02` -> `+02:00`, `-03:30:15` stays.
fn iso_offset(t: &str) -> String {
    if t.len() == 3 { format!("{t}:00") } else { t.into() }
}

/// `2024-01-02 03:04:05.5+00 BC` -> `-0001...T03:04:05.500000Z` style.
fn iso_timestamp(t: &str, tz: bool) -> String {
    if t.ends_with("infinity") {
        return t.into();
    }
    let (body, bc) = match t.strip_suffix(" BC") {
        Some(body) => (body, true),
        None => (t, false),
    };
    let body = if tz { body.strip_suffix("+00").unwrap() } else { body };
    let (date, time) = body.split_once(' ').unwrap();
    let date = if bc { format!("{date} BC") } else { date.to_string() };
    format!("{}T{}{}", iso_date(&date), iso_time(time), if tz { "Z" } else { "" })
}

/// A parsed array literal: elements (NULL as `None`) or nested lists.
#[derive(Debug)]
pub enum Elem {
    Leaf(Option<String>),
    List(Vec<Elem>),
}

/// Parses `array_out`'s text: an optional `[l:u]...=` prefix, braces, quoted elements with
/// backslash escapes, unquoted `NULL`.
pub fn parse_array(t: &str, delim: char) -> Elem {
    let t = if t.starts_with('[') { &t[t.find('=').unwrap() + 1..] } else { t };
    let chars: Vec<char> = t.chars().collect();
    let mut at = 0;
    let elem = list(&chars, &mut at, delim);
    assert_eq!(at, chars.len(), "trailing text in {t}");
    elem
}

fn list(c: &[char], at: &mut usize, delim: char) -> Elem {
    assert_eq!(c[*at], '{');
    *at += 1;
    let mut items = Vec::new();
    if c[*at] == '}' {
        *at += 1;
        return Elem::List(items);
    }
    loop {
        items.push(match c[*at] {
            '{' => list(c, at, delim),
            '"' => {
                *at += 1;
                let mut s = String::new();
                while c[*at] != '"' {
                    if c[*at] == '\\' {
                        *at += 1;
                    }
                    s.push(c[*at]);
                    *at += 1;
                }
                *at += 1;
                Elem::Leaf(Some(s))
            }
            _ => {
                let start = *at;
                while c[*at] != delim && c[*at] != '}' {
                    *at += 1;
                }
                let s: String = c[start..*at].iter().collect();
                Elem::Leaf(if s == "NULL" { None } else { Some(s) })
            }
        });
        let next = c[*at];
        *at += 1;
        if next == '}' {
            return Elem::List(items);
        }
        assert_eq!(next, delim);
    }
}

fn array_json(e: &Elem, form: Form) -> Value {
    match e {
        Elem::Leaf(t) => form.expect(t.as_deref()),
        Elem::List(items) => Value::Array(items.iter().map(|i| array_json(i, form)).collect()),
    }
}

#[test]
fn normalisations() {
    assert_eq!(iso_date("0001-12-31 BC"), "0000-12-31");
    assert_eq!(iso_date("4713-11-24 BC"), "-4712-11-24");
    assert_eq!(iso_date("5874897-12-31"), "+5874897-12-31");
    assert_eq!(iso_timestamp("0044-03-15 12:00:00.5 BC", false), "-0043-03-15T12:00:00.500000");
    assert_eq!(iso_timestamp("2024-01-02 03:04:05+00", true), "2024-01-02T03:04:05Z");
    assert_eq!(Form::Timetz.expect(Some("10:00:00.25-03:30")), json!("10:00:00.250000-03:30"));
    assert_eq!(
        Form::Array(&Form::Text, ',').expect(Some(r#"[0:1]={"a \"b","NULL",NULL}"#)),
        json!(["a \"b", "NULL", null])
    );
    assert_eq!(Form::Array(&Form::Int, ',').expect(Some("{{1,2},{3,4}}")), json!([[1, 2], [3, 4]]));
}
