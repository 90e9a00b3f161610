//! Writes to protected relations.
//!
//! * DELETE and UPDATE get the row filters ANDed into WHERE, so they reach only rows the caller
//!   may see ([`statements`]).
//! * New rows (INSERT values, UPDATE SET of a filtered column) must satisfy the filter. That is
//!   checked before the statement runs, for literals and bound parameters against filters that
//!   are conjunctions of `column = value`; anything that cannot be checked is refused
//!   ([`rows`]).
//! * A write whose target has masks sees that target only through its unmasked columns: the
//!   statement may name the target only as itself or as the qualifier of an unmasked column,
//!   and a masked column nowhere ([`names`]). Masked columns are not writable unless the
//!   operator lists them in `writable_masked_columns`.
//! * Upserts (ON CONFLICT, ON DUPLICATE KEY, REPLACE) are refused: their conflict path reads and
//!   changes a row the filter may hide. Multi-table UPDATE / DELETE over protected relations,
//!   and writes that copy values read from masked relations, are refused too.

mod names;
mod rows;
mod statements;

pub(crate) use statements::{WriteContext, relation_of, rewrite};
