//! Built-in column masks rendered as SQL expressions, one dialect at a time.
//!
//! [`render_mask`] turns a [`MaskKind`] and its arguments into an expression over one column that
//! the rewrite engine places in a derived table's select list. Three promises hold for every mask:
//!
//! * **Type preservation.** The expression has the column's type class: text masks return text,
//!   `round` and `bucket` keep the numeric type, `truncate-date` keeps date / timestamp, and
//!   `null`, `constant` and `default-for-type` are written as `CASE WHEN 1 = 0 THEN <column> …`
//!   so that the database itself resolves the result to the column's exact type (width, scale
//!   and all). Masked values keep flowing into WHERE / JOIN / ORDER BY without type errors.
//! * **NULL stays NULL**, except for three masks that choose a value for every row: `null`
//!   (always NULL), `constant` and `default-for-type` (the value replaces NULL too, so that the
//!   mask does not reveal which rows were NULL).
//! * **No raw splicing.** Arguments are parsed (numbers, units, dates, JSON) and rendered from the
//!   parsed value; strings become escaped literals for the dialect (`sql::string_literal`).
//!   The datasource secret of `keyed-hash` appears only inside the rendered SQL, never in a
//!   [`MaskError`] (no variant can carry it).
//!
//! `column_sql` must be a column reference (qualified and quoted as the caller needs) or a
//! parenthesised expression: it is repeated verbatim inside larger expressions.

pub(crate) mod dates;
mod sql;
mod text;
mod value;

#[cfg(test)]
mod tests;

use crate::policy::MaskKind;

/// The SQL dialect a mask is rendered for: a handle on its database's `MaskRules`, which
/// live in that database's dialect file (see [`crate::dialect`]). Kept apart from
/// [`Dialect`](crate::dialect::Dialect) only until SQL Server, which masks already cover, has a
/// connector and a dialect of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaskDialect {
    /// PostgreSQL (11 or later: `sha256()` is built in).
    Postgres,
    /// MySQL and MariaDB (`NO_BACKSLASH_ESCAPES` off, the default).
    MySql,
    /// SQLite (3.38 or later for the JSON functions).
    Sqlite,
    /// SQL Server / T-SQL (2022 or later for `DATETRUNC`).
    MsSql,
}

impl MaskDialect {
    /// The dialect's name, for messages.
    pub fn name(self) -> &'static str {
        self.rules().name()
    }

    /// The only place that names each database: its mask rules.
    pub(crate) fn rules(self) -> &'static dyn MaskRules {
        use crate::dialect::rules;
        match self {
            MaskDialect::Postgres => &rules::Postgres,
            MaskDialect::MySql => &rules::MySql,
            MaskDialect::Sqlite => &rules::Sqlite,
            MaskDialect::MsSql => &rules::MsSql,
        }
    }
}

/// One database's building blocks for masks. Every method is required, so a new database
/// renders every mask deliberately or refuses it; column expressions `c` are repeated verbatim.
pub(crate) trait MaskRules: Sync {
    /// The database's name, for messages.
    fn name(&self) -> &'static str;

    /// `raw` as a string literal; `doubled` is `raw` with its single quotes doubled (it holds
    /// no NUL).
    fn string_literal(&self, raw: &str, doubled: &str) -> String;

    /// The number of characters in `c`, trailing spaces included.
    fn char_len(&self, c: &str) -> String;

    /// `n` asterisks, `n` an integer expression.
    fn stars(&self, n: &str) -> String;

    /// The first `n` characters of `c`.
    fn left(&self, c: &str, n: u32) -> String;

    /// The last `n` characters of `c` (none for `n = 0`).
    fn right(&self, c: &str, n: u32) -> String;

    /// The characters of `c` after its first `@`.
    fn after_at(&self, c: &str) -> String;

    /// String concatenation of `parts`.
    fn concat(&self, parts: &[&str]) -> String;

    /// An empty byte string.
    fn empty_bytes(&self) -> &'static str;

    /// The constant `canonical` (see `value::canonical_value`) of class `class`, as the `ELSE`
    /// of a `CASE` typed after the column; `quoted` is it as a string literal.
    fn constant(&self, class: ColumnType, canonical: &str, quoted: &str) -> String;

    /// `c` (a decimal or float column of class `class`) rounded to `places`, keeping its type.
    fn round(&self, class: ColumnType, c: &str, places: u16) -> String;

    /// `floor(c / width) * width` for a decimal or float column, `width` a positive decimal.
    fn floor_to(&self, c: &str, width: &str) -> String;

    /// HMAC-SHA256 of text `c` as lower-case hex, from the padded keys as hex; or why the
    /// database cannot compute it.
    fn keyed_hash(&self, c: &str, ipad: &str, opad: &str) -> Result<String, &'static str>;

    /// `c` truncated to the start of `unit`, keeping its type (`date` tells a date column from
    /// a timestamp).
    fn truncate(&self, unit: dates::Unit, c: &str, date: bool) -> String;

    /// JSON document `c` without its top-level `keys`, NULL staying NULL; `jsonb` for
    /// PostgreSQL's `jsonb`.
    fn json_redact(&self, m: &Mask<'_>, keys: &[String], jsonb: bool) -> Result<String, MaskError>;
}

/// A column's coarse type class, as catalog introspection reports it. Enough to pick a mask's
/// rendering; the exact type (`int4` vs `int8`, `varchar(20)`) is preserved by the rendering
/// itself where the dialect allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// Character strings (`text`, `varchar`, `char`, `nvarchar`, …).
    Text,
    /// Exact integers of any width.
    Integer,
    /// Exact decimals (`numeric`, `decimal`, `money`-like).
    Decimal,
    /// Binary floating point (`real`, `double precision`, `float`).
    Float,
    /// Calendar dates.
    Date,
    /// Date and time, with or without time zone.
    Timestamp,
    /// JSON documents stored as JSON text (PostgreSQL `json`, MySQL `JSON`, SQLite / SQL Server
    /// text holding JSON).
    Json,
    /// PostgreSQL `jsonb` (other dialects treat it as [`ColumnType::Json`]). Kept apart because
    /// `json` and `jsonb` do not convert implicitly, so a mask must return the right one.
    Jsonb,
    /// Booleans (`bool`, MySQL `tinyint(1)`, SQL Server `bit`).
    Bool,
    /// Byte strings (`bytea`, `blob`, `varbinary`).
    Bytes,
    /// Anything else (arrays, intervals, uuid, geometry…): only `null` applies.
    Other,
}

impl ColumnType {
    /// The class's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
            ColumnType::Decimal => "decimal",
            ColumnType::Float => "float",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Json => "json",
            ColumnType::Jsonb => "jsonb",
            ColumnType::Bool => "bool",
            ColumnType::Bytes => "bytes",
            ColumnType::Other => "other",
        }
    }
}

/// Why a mask cannot be rendered. The rewrite engine must refuse the statement (fail closed):
/// leaving the column unmasked is never an option. No variant holds the datasource secret, so
/// logging an error cannot leak it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaskError {
    /// The arguments do not fit the mask (count, number syntax, unit, literal).
    #[error("mask {}: {reason}", kind_name(*kind))]
    Arguments {
        /// The mask.
        kind: MaskKind,
        /// What is wrong, without echoing the argument (it may be sensitive).
        reason: String,
    },
    /// The mask does not apply to a column of this type (e.g. `round` on text).
    #[error("mask {} does not apply to a {} column", kind_name(*kind), column_type.name())]
    TypeMismatch {
        /// The mask.
        kind: MaskKind,
        /// The column's type class.
        column_type: ColumnType,
    },
    /// The dialect has no safe rendering of this mask (e.g. `keyed-hash` on SQLite, which has
    /// no hash function built in).
    #[error("mask {} is not supported on {}: {reason}", kind_name(*kind), dialect.name())]
    Unsupported {
        /// The mask.
        kind: MaskKind,
        /// The dialect.
        dialect: MaskDialect,
        /// Why.
        reason: &'static str,
    },
    /// `keyed-hash` needs a datasource secret and none (or an empty one) is configured.
    #[error("mask keyed-hash needs a non-empty secret configured on the datasource")]
    MissingSecret,
}

/// The kebab-case name plugins use for a mask kind.
pub fn kind_name(kind: MaskKind) -> &'static str {
    match kind {
        MaskKind::Null => "null",
        MaskKind::Constant => "constant",
        MaskKind::DefaultForType => "default-for-type",
        MaskKind::Redact => "redact",
        MaskKind::Partial => "partial",
        MaskKind::Email => "email",
        MaskKind::LastFour => "last-four",
        MaskKind::KeyedHash => "keyed-hash",
        MaskKind::Round => "round",
        MaskKind::Bucket => "bucket",
        MaskKind::TruncateDate => "truncate-date",
        MaskKind::JsonRedact => "json-redact",
    }
}

/// Renders mask `kind` with `args` over `column_sql` (a column of type class `column_type`) as
/// an SQL expression for `dialect`. `secret` is the datasource's keyed-hash secret; only
/// `keyed-hash` reads it. Argument shapes follow `policy::convert` (which already validated
/// plugin decisions); they are checked again here because the renderer must never trust text it
/// splices into SQL.
pub fn render_mask(
    dialect: MaskDialect,
    kind: MaskKind,
    args: &[String],
    column_sql: &str,
    column_type: ColumnType,
    secret: Option<&str>,
) -> Result<String, MaskError> {
    let m = Mask { dialect, kind, column: column_sql, column_type };
    match kind {
        MaskKind::Null => m.no_args(args).map(|()| value::null(&m)),
        MaskKind::Constant => value::constant(&m, one_arg(&m, args)?),
        MaskKind::DefaultForType => {
            m.no_args(args)?;
            value::default_for_type(&m)
        }
        MaskKind::Redact => {
            m.no_args(args)?;
            text::redact(&m)
        }
        MaskKind::Partial => {
            let (first, last) = match args {
                [first, last] => (m.small_int(first)?, m.small_int(last)?),
                _ => return Err(m.arguments("takes 2 arguments (keep first, keep last)")),
            };
            text::partial(&m, first, last)
        }
        MaskKind::Email => {
            m.no_args(args)?;
            text::email(&m)
        }
        MaskKind::LastFour => {
            m.no_args(args)?;
            text::partial(&m, 0, 4)
        }
        MaskKind::KeyedHash => {
            m.no_args(args)?;
            text::keyed_hash(&m, secret.filter(|s| !s.is_empty()).ok_or(MaskError::MissingSecret)?)
        }
        MaskKind::Round => {
            let places = m.small_int(one_arg(&m, args)?)?;
            value::round(&m, places)
        }
        MaskKind::Bucket => value::bucket(&m, one_arg(&m, args)?),
        MaskKind::TruncateDate => dates::truncate(&m, one_arg(&m, args)?),
        MaskKind::JsonRedact => dates::json_redact(&m, args),
    }
}

/// One rendering request, shared by the per-kind renderers.
pub(crate) struct Mask<'a> {
    dialect: MaskDialect,
    kind: MaskKind,
    column: &'a str,
    column_type: ColumnType,
}

impl Mask<'_> {
    /// The column expression being masked.
    pub(crate) fn column(&self) -> &str {
        self.column
    }

    fn arguments(&self, reason: impl Into<String>) -> MaskError {
        MaskError::Arguments { kind: self.kind, reason: reason.into() }
    }

    fn mismatch(&self) -> MaskError {
        MaskError::TypeMismatch { kind: self.kind, column_type: self.column_type }
    }

    /// The error for a mask this dialect cannot render safely.
    pub(crate) fn unsupported(&self, reason: &'static str) -> MaskError {
        MaskError::Unsupported { kind: self.kind, dialect: self.dialect, reason }
    }

    fn no_args(&self, args: &[String]) -> Result<(), MaskError> {
        if args.is_empty() { Ok(()) } else { Err(self.arguments("takes no arguments")) }
    }

    /// A count of characters or decimal places: the same `u16` range `policy::convert` accepts.
    fn small_int(&self, arg: &str) -> Result<u16, MaskError> {
        arg.trim().parse::<u16>().map_err(|_| self.arguments("expected a small non-negative integer"))
    }

    /// A string literal for this dialect, or an argument error.
    pub(crate) fn literal(&self, s: &str) -> Result<String, MaskError> {
        sql::string_literal(self.dialect, s).map_err(|reason| self.arguments(reason))
    }
}

fn one_arg<'a>(m: &Mask<'_>, args: &'a [String]) -> Result<&'a str, MaskError> {
    match args {
        [arg] => Ok(arg),
        _ => Err(m.arguments("takes 1 argument")),
    }
}
