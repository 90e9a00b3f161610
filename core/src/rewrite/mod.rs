//! Query rewriting for row filters and column masks (see "The rewrite model" in the
//! architecture map).
//!
//! Only the leaf is here so far: [`mask`] renders each built-in mask as a type-preserving SQL
//! expression per dialect. The rewrite engine that wraps protected tables in derived tables
//! (`(SELECT c1, <mask>(c2) AS c2, … FROM t WHERE <filter>) AS t`) will call it.

pub mod mask;

pub use mask::{ColumnType, MaskDialect, MaskError, render_mask};
