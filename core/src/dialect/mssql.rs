//! SQL Server (T-SQL). Only its mask rendering exists yet: the connector and the rest of its
//! rules come with SQL Server support.

use super::{ColumnType, Mask, MaskError, MaskRules, Unit};

/// SQL Server's rules.
pub(crate) struct MsSql;

impl MaskRules for MsSql {
    fn name(&self) -> &'static str {
        "mssql"
    }

    fn string_literal(&self, _: &str, doubled: &str) -> String {
        // `N'…'` so non-ASCII text survives the server's code page.
        format!("N'{doubled}'")
    }

    fn char_len(&self, c: &str) -> String {
        // `LEN` ignores trailing spaces: append a sentinel character and subtract it.
        format!("(LEN({c} + N'x') - 1)")
    }

    fn stars(&self, n: &str) -> String {
        // Without the cast REPLICATE stops at 4000 characters.
        format!("REPLICATE(CAST(N'*' AS NVARCHAR(MAX)), {n})")
    }

    fn left(&self, c: &str, n: u32) -> String {
        format!("LEFT({c}, {n})")
    }

    fn right(&self, c: &str, n: u32) -> String {
        format!("RIGHT({c}, {n})")
    }

    fn after_at(&self, c: &str) -> String {
        format!("SUBSTRING({c}, CHARINDEX('@', {c}) + 1, LEN({c} + N'x'))")
    }

    fn concat(&self, parts: &[&str]) -> String {
        // `+` would also add numbers; `CONCAT` says what is meant.
        format!("CONCAT({})", parts.join(", "))
    }

    fn empty_bytes(&self) -> &'static str {
        "0x"
    }

    fn constant(&self, class: ColumnType, canonical: &str, quoted: &str) -> String {
        match class {
            ColumnType::Integer | ColumnType::Decimal | ColumnType::Float => canonical.to_owned(),
            ColumnType::Date => format!("CAST({quoted} AS DATE)"),
            ColumnType::Timestamp => format!("CAST({quoted} AS DATETIME2)"),
            ColumnType::Bool => format!("CAST({} AS BIT)", if canonical == "true" { 1 } else { 0 }),
            ColumnType::Text
            | ColumnType::Json
            | ColumnType::Jsonb
            | ColumnType::Bytes
            | ColumnType::Other => quoted.to_owned(),
        }
    }

    fn round(&self, _: ColumnType, c: &str, places: u16) -> String {
        format!("ROUND({c}, {places})")
    }

    fn floor_to(&self, c: &str, width: &str) -> String {
        format!("(FLOOR({c} / {width}) * {width})")
    }

    fn keyed_hash(&self, c: &str, ipad: &str, opad: &str) -> Result<String, &'static str> {
        // Hashes the column's own bytes, UTF-16 for `nvarchar`.
        Ok(format!(
            "LOWER(CONVERT(VARCHAR(64), HASHBYTES('SHA2_256', 0x{opad} + HASHBYTES('SHA2_256', \
             0x{ipad} + CAST({c} AS VARBINARY(MAX)))), 2))"
        ))
    }

    fn truncate(&self, unit: Unit, c: &str, date: bool) -> String {
        match unit {
            // DATEFROMPARTS works on every version and returns a date.
            Unit::Year if date => format!("DATEFROMPARTS(YEAR({c}), 1, 1)"),
            Unit::Quarter if date => {
                format!("DATEFROMPARTS(YEAR({c}), (DATEPART(quarter, {c}) - 1) * 3 + 1, 1)")
            }
            Unit::Month if date => format!("DATEFROMPARTS(YEAR({c}), MONTH({c}), 1)"),
            Unit::Day | Unit::Hour | Unit::Minute if date => c.to_string(),
            // DATETRUNC (SQL Server 2022) returns the input's own type: datetime2 stays
            // datetime2, datetimeoffset keeps its offset. Weeks are ISO weeks (Monday).
            Unit::Week => format!("DATETRUNC(iso_week, {c})"),
            _ => format!("DATETRUNC({}, {c})", unit.keyword()),
        }
    }

    fn json_redact(&self, m: &Mask<'_>, keys: &[String], _: bool) -> Result<String, MaskError> {
        let paths = crate::rewrite::mask::dates::json_paths(m, keys)?;
        // In lax mode (the default) setting a member to NULL deletes it.
        Ok(paths.iter().fold(m.column().to_string(), |doc, path| format!("JSON_MODIFY({doc}, {path}, NULL)")))
    }
}
