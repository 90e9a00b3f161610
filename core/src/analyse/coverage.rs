//! The resolver walk must have judged every query and every name-bearing expression of the
//! statement.
//!
//! The walk is explicit over clauses, because only there do names get their meaning; a clause
//! it does not know would pass unjudged, and policy would never see what it reads (a subquery
//! inside `TABLESAMPLE (...)` was such a blind spot). This check walks the whole AST with
//! sqlparser's generic visitor, which reaches every node, and refuses the statement when it
//! meets a query the resolver did not walk, or a name inside an expression the resolver did
//! not visit. It does not depend on knowing which clauses exist, so a parser upgrade that adds
//! one cannot add a blind spot silently.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Ident, Query, Statement, Visit, Visitor};

use super::AnalyseError;
use super::resolve::Visited;

/// Refuses `statement` if it holds a query, or (where `exprs` is set) a name inside an
/// expression, that the resolver walk did not visit. DDL passes `exprs = false`: column
/// defaults and constraints hold names of the table being defined, which no data read reaches.
pub(crate) fn check(statement: &Statement, visited: &Visited, exprs: bool) -> Result<(), AnalyseError> {
    let mut coverage = Coverage { visited, exprs, unvisited_depth: 0 };
    match statement.visit(&mut coverage) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(error) => Err(error),
    }
}

struct Coverage<'a> {
    visited: &'a Visited,
    exprs: bool,
    /// How many unvisited expressions enclose the current node.
    unvisited_depth: usize,
}

fn blind_spot(what: &str) -> ControlFlow<AnalyseError> {
    ControlFlow::Break(AnalyseError::Unsupported(format!("{what} in a clause Sluice does not analyse")))
}

impl Visitor for Coverage<'_> {
    type Break = AnalyseError;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<AnalyseError> {
        if self.visited.queries.contains(&std::ptr::from_ref(query).addr()) {
            ControlFlow::Continue(())
        } else {
            blind_spot("a subquery")
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<AnalyseError> {
        if !self.visited.exprs.contains(&std::ptr::from_ref(expr).addr()) {
            self.unvisited_depth += 1;
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &Expr) -> ControlFlow<AnalyseError> {
        if !self.visited.exprs.contains(&std::ptr::from_ref(expr).addr()) {
            self.unvisited_depth = self.unvisited_depth.saturating_sub(1);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_ident(&mut self, _ident: &Ident) -> ControlFlow<AnalyseError> {
        if self.exprs && self.unvisited_depth > 0 { blind_spot("a name") } else { ControlFlow::Continue(()) }
    }
}
