//! How each result column is decoded: a [`Node`] tree built from the column's type before the
//! statement runs, and the type name the response reports.

use tokio_postgres::types::{Kind, Type};

use super::special::Special;
use crate::types::Scalar;

/// How to decode one value of a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// A type with a JSON form of its own (numbers, booleans, ISO dates, JSON text...).
    Scalar(Scalar),
    /// A type decoded natively into the text PostgreSQL prints for it.
    Special(Special),
    /// An array; `ty` is the array type, for asking the server when the elements need it.
    Array { elem: Box<Node>, ty: Type },
    /// A range over `elem`.
    Range { elem: Box<Node>, ty: Type },
    /// A multirange of ranges over `elem`.
    Multirange { elem: Box<Node>, ty: Type },
    /// A named composite type: its fields, in order.
    Composite(Vec<Node>),
    /// An anonymous record: each value names its fields' types.
    Record,
    /// A type only the server can print (it needs the catalog, a locale, or is not built in):
    /// its text is asked for with `format('%s', $1)` in the statement's own transaction.
    Server(Type),
    /// A type the server cannot send in binary (`aclitem`, `gtsvector`), nor take back to
    /// print: a column holding one is asked for as text instead (`crate::astext`), so this node
    /// is never decoded.
    NoBinary,
}

/// Why a type cannot be returned at all.
pub(crate) struct Refused;

/// Types with no binary output function: the server cannot send them in the binary format
/// `tokio-postgres` asks for, and with no binary input function it cannot take them back to
/// print them either.
const NO_BINARY_FORM: &[&str] = &["aclitem", "gtsvector"];

/// The node and response type name for `ty`, seeing through domains.
pub(crate) fn plan(ty: &Type) -> Result<(Node, String), Refused> {
    match ty.kind() {
        Kind::Domain(base) => plan(base),
        Kind::Array(elem) => {
            let (node, name) = plan(elem)?;
            Ok((Node::Array { elem: Box::new(node), ty: ty.clone() }, format!("{name}[]")))
        }
        Kind::Range(elem) => {
            let (node, _) = plan(elem)?;
            Ok((Node::Range { elem: Box::new(node), ty: ty.clone() }, ty.name().to_owned()))
        }
        Kind::Multirange(elem) => {
            let (node, _) = plan(elem)?;
            Ok((Node::Multirange { elem: Box::new(node), ty: ty.clone() }, ty.name().to_owned()))
        }
        Kind::Enum(_) => Ok((Node::Scalar(Scalar::Text), "text".into())),
        Kind::Composite(fields) => {
            let nodes = fields.iter().map(|f| plan(f.type_()).map(|(n, _)| n)).collect::<Result<_, _>>()?;
            Ok((Node::Composite(nodes), ty.name().to_owned()))
        }
        Kind::Pseudo => match *ty {
            Type::RECORD => Ok((Node::Record, "record".into())),
            Type::RECORD_ARRAY => {
                Ok((Node::Array { elem: Box::new(Node::Record), ty: ty.clone() }, "record[]".into()))
            }
            Type::VOID => Ok((Node::Scalar(Scalar::Void), "text".into())),
            Type::CSTRING => Ok((Node::Scalar(Scalar::Text), "text".into())),
            _ => Err(Refused),
        },
        _ => simple(ty),
    }
}

fn simple(ty: &Type) -> Result<(Node, String), Refused> {
    if let Some(s) = scalar(ty) {
        return Ok((Node::Scalar(s), s.name().to_owned()));
    }
    if let Some(s) = Special::of(ty) {
        return Ok((Node::Special(s), ty.name().to_owned()));
    }
    if NO_BINARY_FORM.contains(&ty.name()) && ty.schema() == "pg_catalog" {
        return Ok((Node::NoBinary, ty.name().to_owned()));
    }
    // citext is an extension type with no fixed OID; its binary form is text's.
    if ty.name() == "citext" {
        return Ok((Node::Scalar(Scalar::Text), "text".into()));
    }
    // The reg* types, tsquery, and every type not built in (extension types, user-defined
    // multiranges, which `tokio-postgres` does not recognise as such).
    Ok((Node::Server(ty.clone()), ty.name().to_owned()))
}

/// The scalar types decoded by [`super::scalar`], by type.
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
        (Type::REFCURSOR, Scalar::Text),
        (Type::PG_NODE_TREE, Scalar::Text),
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
    ];
    TABLE.iter().find(|(t, _)| t == ty).map(|(_, s)| *s)
}

impl Node {
    /// Whether decoding a value may ask the server for text: decided per column before any row
    /// is read, so columns that never do are decoded in one pass.
    pub(crate) fn may_ask_server(&self) -> bool {
        self.asks(false)
    }

    /// Whether a value has money at the top or inside an array, where its JSON form is a
    /// decimal whose scale is the server's `lc_monetary` fraction digits.
    pub(crate) fn has_money(&self) -> bool {
        match self {
            Node::Scalar(s) => *s == Scalar::Money,
            Node::Array { elem, .. } => elem.has_money(),
            _ => false,
        }
    }

    /// `nested`: inside a value printed as PostgreSQL text, where money needs the server (its
    /// text depends on `lc_monetary`); at the top, money has a JSON form of its own.
    fn asks(&self, nested: bool) -> bool {
        match self {
            Node::Scalar(s) => nested && *s == Scalar::Money,
            Node::Special(_) => false,
            Node::Array { elem, .. } => elem.asks(nested),
            Node::Range { elem, .. } | Node::Multirange { elem, .. } => elem.asks(true),
            Node::Composite(fields) => fields.iter().any(|f| f.asks(true)),
            Node::Record | Node::Server(_) => true,
            Node::NoBinary => false,
        }
    }

    /// Whether a value holds, at some level, a type the server cannot send in binary: then
    /// its column is asked for as text.
    pub(crate) fn lacks_binary_form(&self) -> bool {
        match self {
            Node::NoBinary => true,
            Node::Array { elem, .. } | Node::Range { elem, .. } | Node::Multirange { elem, .. } => {
                elem.lacks_binary_form()
            }
            Node::Composite(fields) => fields.iter().any(Node::lacks_binary_form),
            Node::Scalar(_) | Node::Special(_) | Node::Record | Node::Server(_) => false,
        }
    }

    /// Whether this type's PostgreSQL text needs the server at this level: then a container
    /// of it (an array, a range) is printed by the server as a whole, since only the
    /// container's own type can be sent back.
    pub(crate) fn text_needs_server(&self) -> bool {
        match self {
            Node::Scalar(s) => *s == Scalar::Money,
            Node::Server(_) => true,
            Node::Array { elem, .. } | Node::Range { elem, .. } | Node::Multirange { elem, .. } => {
                elem.text_needs_server()
            }
            Node::Special(_) | Node::Composite(_) | Node::Record | Node::NoBinary => false,
        }
    }
}
