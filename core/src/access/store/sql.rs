//! What the store's logic needs of a database: run a statement, read rows, in one transaction.
//!
//! The store's SQL is written once, in the subset SQLite and PostgreSQL read alike: `?N`
//! placeholders (the PostgreSQL backend numbers them `$N`), `BIGINT` for every integer (times
//! are milliseconds; PostgreSQL's `INTEGER` is 32 bits) and 0/1 integers for flags. Values cross
//! as [`Value`], so no backend type leaks into the logic.

use super::AccessError;

/// One value bound to or read from a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// An integer (a flag is 0 or 1; PostgreSQL's booleans read as one too).
    Int(i64),
    /// Text.
    Text(String),
}

/// A Rust value that binds as a [`Value`].
pub trait ToValue {
    /// The value.
    fn to_value(&self) -> Value;
}

impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
}

impl ToValue for u32 {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}

impl ToValue for u64 {
    fn to_value(&self) -> Value {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

/// `values![a, b]`: the statement parameters `?1, ?2`, each taken by reference.
macro_rules! values {
    ($($value:expr),* $(,)?) => {
        [$($crate::access::store::sql::ToValue::to_value(&$value)),*]
    };
}
pub(crate) use values;

/// A Rust value read from a [`Value`].
pub trait FromValue: Sized {
    /// The value, or `None` when `value` is of another kind.
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromValue for u32 {
    fn from_value(value: &Value) -> Option<Self> {
        i64::from_value(value).and_then(|i| u32::try_from(i).ok())
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Option<Self> {
        i64::from_value(value).map(|i| i != 0)
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// One row of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row(pub Vec<Value>);

impl Row {
    /// Column `index` as a `T`.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`] when the column is missing or of another kind: the store
    /// holds something this Sluice did not write.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, AccessError> {
        self.0
            .get(index)
            .and_then(T::from_value)
            .ok_or_else(|| AccessError::Unavailable(format!("stored column {index} has an unexpected type")))
    }
}

/// A transaction on the store's database.
pub trait Sql {
    /// Runs one statement; the number of rows it changed.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, AccessError>;

    /// Runs one query; its rows.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, AccessError>;

    /// Runs several statements without parameters (a migration).
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    fn batch(&mut self, sql: &str) -> Result<(), AccessError>;
}

impl dyn Sql + '_ {
    /// The first row of a query, if any.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, AccessError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first row of a query that always returns one.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`], also when it returned none.
    pub fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row, AccessError> {
        self.query_opt(sql, params)?.ok_or_else(|| AccessError::Unavailable("a query returned no row".into()))
    }
}

/// A database holding a store.
pub trait Backend: Send + Sync {
    /// Runs `f` in one transaction, committed when it returns `Ok` and rolled back otherwise.
    /// Write transactions (`write`) run one at a time across every process sharing the store,
    /// which is what makes a one-time grant's use exact: whoever reads it unused and marks it
    /// used does both before anyone else reads it.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`] when the database cannot be reached, and whatever `f` returns.
    fn transaction(
        &self,
        write: bool,
        f: &mut dyn FnMut(&mut dyn Sql) -> Result<(), AccessError>,
    ) -> Result<(), AccessError>;

    /// The schema version the store is at (0 for a new store), inside a write transaction.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    fn schema_version(&self, sql: &mut dyn Sql) -> Result<usize, AccessError>;

    /// Records the schema version, inside the write transaction that migrated to it.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    fn set_schema_version(&self, sql: &mut dyn Sql, version: usize) -> Result<(), AccessError>;
}
