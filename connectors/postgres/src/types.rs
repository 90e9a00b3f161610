//! The PostgreSQL scalar types Sluice encodes parameters of and decodes into JSON forms of
//! their own (row decoding handles more types; see `decode`).

use tokio_postgres::types::{Kind, Type};

/// A PostgreSQL scalar type Sluice can encode and decode exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    Money,
    /// text, varchar, bpchar, name, citext, unknown, xml, enums: UTF-8 on the wire.
    Text,
    /// The one-byte `"char"` type.
    Char,
    Bytea,
    Uuid,
    Json,
    Jsonb,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
    Inet,
    /// The result of a `void` function: always NULL, reported as text.
    Void,
}

/// How a column or parameter type is shaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    Scalar(Scalar),
    Array(Scalar),
}

/// Classifies `ty`, seeing through domains; `None` for types Sluice does not handle.
pub(crate) fn shape(ty: &Type) -> Option<Shape> {
    match ty.kind() {
        Kind::Domain(base) => shape(base),
        Kind::Array(elem) => match shape(elem)? {
            Shape::Scalar(s) => Some(Shape::Array(s)),
            Shape::Array(_) => None,
        },
        Kind::Enum(_) => Some(Shape::Scalar(Scalar::Text)),
        _ => scalar(ty).map(Shape::Scalar),
    }
}

fn scalar(ty: &Type) -> Option<Scalar> {
    const TABLE: &[(Type, Scalar)] = &[
        (Type::BOOL, Scalar::Bool),
        (Type::INT2, Scalar::Int2),
        (Type::INT4, Scalar::Int4),
        (Type::INT8, Scalar::Int8),
        (Type::OID, Scalar::Oid),
        (Type::FLOAT4, Scalar::Float4),
        (Type::FLOAT8, Scalar::Float8),
        (Type::NUMERIC, Scalar::Numeric),
        (Type::MONEY, Scalar::Money),
        (Type::TEXT, Scalar::Text),
        (Type::VARCHAR, Scalar::Text),
        (Type::BPCHAR, Scalar::Text),
        (Type::NAME, Scalar::Text),
        (Type::UNKNOWN, Scalar::Text),
        (Type::XML, Scalar::Text),
        (Type::CHAR, Scalar::Char),
        (Type::BYTEA, Scalar::Bytea),
        (Type::UUID, Scalar::Uuid),
        (Type::JSON, Scalar::Json),
        (Type::JSONB, Scalar::Jsonb),
        (Type::DATE, Scalar::Date),
        (Type::TIME, Scalar::Time),
        (Type::TIMESTAMP, Scalar::Timestamp),
        (Type::TIMESTAMPTZ, Scalar::TimestampTz),
        (Type::INTERVAL, Scalar::Interval),
        (Type::INET, Scalar::Inet),
        (Type::CIDR, Scalar::Inet),
        (Type::VOID, Scalar::Void),
    ];
    if let Some((_, s)) = TABLE.iter().find(|(t, _)| t == ty) {
        return Some(*s);
    }
    // citext is an extension type with no fixed OID; its binary form is text's.
    (ty.name() == "citext").then_some(Scalar::Text)
}

impl Scalar {
    /// Sluice's normalised type name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scalar::Bool => "bool",
            Scalar::Int2 => "int2",
            Scalar::Int4 => "int4",
            Scalar::Int8 | Scalar::Oid => "int8",
            Scalar::Float4 => "float4",
            Scalar::Float8 => "float8",
            Scalar::Numeric => "numeric",
            Scalar::Money => "money",
            Scalar::Text | Scalar::Char | Scalar::Inet | Scalar::Void => "text",
            Scalar::Bytea => "bytes",
            Scalar::Uuid => "uuid",
            Scalar::Json | Scalar::Jsonb => "json",
            Scalar::Date => "date",
            Scalar::Time => "time",
            Scalar::Timestamp => "timestamp",
            Scalar::TimestampTz => "timestamptz",
            Scalar::Interval => "interval",
        }
    }
}
