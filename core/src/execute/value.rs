//! Result data as connectors hand it to the encoder.

/// One result value. Each variant fixes its JSON form (see `encode`), so connectors decide
/// exactness once: a type whose values may not fit an IEEE double travels as a string.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL -> `null`.
    Null,
    /// -> `true` / `false`.
    Bool(bool),
    /// An integer of at most 32 bits (int2, int4, MySQL YEAR...) -> JSON number.
    Int(i64),
    /// A 64-bit integer -> decimal string, since JSON numbers lose precision past 2^53.
    Int8(i64),
    /// An unsigned 64-bit integer (MySQL BIGINT UNSIGNED) -> decimal string.
    UInt8(u64),
    /// float4 / float8 -> JSON number; NaN and infinities -> `"NaN"`, `"Infinity"`, `"-Infinity"`.
    Float(f64),
    /// numeric / decimal / money, exact -> string as the database printed it.
    Decimal(String),
    /// A string: character data, or the canonical text the database prints for a type JSON has
    /// no natural form for (a range, a point, a bit string...; the column's type names it).
    Text(String),
    /// Binary data -> standard base64 string.
    Bytes(Vec<u8>),
    /// -> canonical hyphenated lowercase string.
    Uuid(String),
    /// json / jsonb -> a JSON *string* holding the JSON text exactly as the database produced it
    /// (never parsed, so no number is rounded and JSON `null` stays distinct from SQL NULL).
    Json(String),
    /// -> `YYYY-MM-DD`.
    Date(String),
    /// -> `HH:MM:SS[.ffffff]`.
    Time(String),
    /// A timestamp without time zone -> `YYYY-MM-DDTHH:MM:SS[.ffffff]`.
    Timestamp(String),
    /// A point in time -> RFC 3339 in UTC, `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`.
    TimestampTz(String),
    /// An interval -> ISO 8601 duration string.
    Interval(String),
    /// An array -> JSON array of its elements' forms.
    Array(Vec<Value>),
}

/// Column metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name as the database reports it.
    pub name: String,
    /// Sluice's normalised type name, the same across databases: `bool`, `int2`, `int4`, `int8`,
    /// `float4`, `float8`, `numeric`, `money`, `text`, `bytes`, `uuid`, `json`, `date`, `time`,
    /// `timestamp`, `timestamptz`, `interval`, and `T[]` for arrays of `T`. Types with no
    /// normalised name (ranges, geometric types, bit strings...) keep the database's own name
    /// and travel as its canonical text.
    pub type_name: String,
}

/// What a statement produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultSet {
    /// Result columns; empty for statements that return no rows.
    pub columns: Vec<Column>,
    /// At most `Limits::max_rows` rows, each as long as `columns`.
    pub rows: Vec<Vec<Value>>,
    /// True when the database had more rows than `Limits::max_rows`.
    pub truncated: bool,
    /// The command tag (`SELECT`, `INSERT`, `UPDATE`, `DELETE`, ...).
    pub command: String,
    /// Rows inserted, updated or deleted; `None` for reads.
    pub rows_affected: Option<u64>,
}
