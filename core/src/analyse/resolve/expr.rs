//! Expressions: columns and functions are recorded, nested queries go back to the scope walk.

use std::ops::ControlFlow;

use sqlparser::ast::{
    ArrayElemTypeDef, DataType, Expr, Ident, ObjectName, Query, Statement, TableFactor, TypedString, Visit,
    Visitor,
};

use super::Resolver;
use super::scope::Target;
use crate::analyse::{AnalyseError, ColumnUsage};

impl Resolver {
    /// Walks any AST node that holds expressions, recording its column uses as `usage`.
    ///
    /// Table references may only occur inside nested queries: one met anywhere else is a
    /// construct this walk does not understand, and is refused.
    pub(crate) fn walk_exprs<V: Visit>(&mut self, node: &V, usage: ColumnUsage) -> Result<(), AnalyseError> {
        let mut walker = ExprWalker { resolver: self, usage, depth: 0 };
        match node.visit(&mut walker) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(error) => Err(error),
        }
    }

    /// Marks the expressions in `node` as judged without recording names: for clauses whose
    /// words name nothing the statement reads (EXPLAIN's `FORMAT JSON`). See [`super::Visited`].
    pub(crate) fn judged_without_names<V: Visit>(&mut self, node: &V) {
        struct Mark<'v>(&'v mut super::Visited);
        impl Visitor for Mark<'_> {
            type Break = ();
            fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
                self.0.exprs.insert(std::ptr::from_ref(expr).addr());
                ControlFlow::Continue(())
            }
        }
        let _ = node.visit(&mut Mark(&mut self.visited));
    }

    /// Records a column reference written as `parts` (`col`, `t.col`, `schema.t.col`).
    pub(crate) fn column_ref(&mut self, parts: &[Ident], usage: ColumnUsage) {
        let Some((column, qualifier)) = parts.split_last() else {
            return;
        };
        // `SET c = DEFAULT`, `VALUES (DEFAULT)`: the keyword, not a column (one named so must be
        // quoted in every dialect here).
        if qualifier.is_empty()
            && column.quote_style.is_none()
            && column.value.eq_ignore_ascii_case("default")
        {
            return;
        }
        let column = self.dialect.normalise_column_ident(column);
        let relation = if qualifier.is_empty() {
            if matches!(usage, ColumnUsage::Ordering | ColumnUsage::Grouping)
                && self.scopes.is_output_alias(&column)
            {
                return;
            }
            self.scopes.unqualified()
        } else {
            let qualifier: Vec<String> =
                qualifier.iter().map(|i| self.dialect.normalise_relation_ident(i)).collect();
            match self.scopes.lookup(&qualifier).map(|source| &source.target) {
                Some(Target::Base(relation)) => Some(relation.clone()),
                Some(Target::Opaque) | None => None,
            }
        };
        self.record_column(relation, column, usage);
    }

    /// Records a column named by an object name (`UPDATE ... SET t.col`, `USING (col)`).
    pub(crate) fn column_name_ref(&mut self, name: &ObjectName, usage: ColumnUsage) {
        let parts: Vec<Ident> = name.0.iter().filter_map(|p| p.as_ident().cloned()).collect();
        self.column_ref(&parts, usage);
    }
}

struct ExprWalker<'r> {
    resolver: &'r mut Resolver,
    usage: ColumnUsage,
    /// How deep inside a nested query the visitor is; that query was already walked with its
    /// own scopes, so nothing under it is recorded again here.
    depth: usize,
}

/// The name of `data_type` when casting to it is a catalog lookup (arrays of such types too).
fn catalog_lookup(dialect: crate::analyse::Dialect, data_type: &DataType) -> Option<String> {
    let name = match data_type {
        DataType::Regclass => "regclass".to_owned(),
        DataType::Custom(name, _) => name.0.last()?.as_ident()?.value.to_lowercase(),
        DataType::Array(
            ArrayElemTypeDef::AngleBracket(inner) | ArrayElemTypeDef::SquareBracket(inner, _),
        )
        | DataType::Array(ArrayElemTypeDef::Parenthesis(inner)) => return catalog_lookup(dialect, inner),
        _ => return None,
    };
    dialect.is_catalog_lookup_type(&name).then_some(name)
}

fn refuse(what: &str) -> ControlFlow<AnalyseError> {
    ControlFlow::Break(AnalyseError::Unsupported(format!("{what} inside an expression")))
}

impl Visitor for ExprWalker<'_> {
    type Break = AnalyseError;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Self::Break> {
        if self.depth == 0
            && let Err(error) = self.resolver.query(query)
        {
            return ControlFlow::Break(error);
        }
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<Self::Break> {
        self.depth = self.depth.saturating_sub(1);
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Self::Break> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        self.resolver.visited.exprs.insert(std::ptr::from_ref(expr).addr());
        match expr {
            Expr::Identifier(ident) => self.resolver.column_ref(std::slice::from_ref(ident), self.usage),
            Expr::CompoundIdentifier(parts) => self.resolver.column_ref(parts, self.usage),
            Expr::Function(function) => self.resolver.record_function(&function.name),
            Expr::Cast { data_type, .. } | Expr::TypedString(TypedString { data_type, .. }) => {
                if let Some(name) = catalog_lookup(self.resolver.dialect, data_type) {
                    return ControlFlow::Break(AnalyseError::Unsupported(format!(
                        "a cast to {name}, which looks names up in the system catalog"
                    )));
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, _factor: &TableFactor) -> ControlFlow<Self::Break> {
        if self.depth == 0 { refuse("a table reference") } else { ControlFlow::Continue(()) }
    }

    fn pre_visit_relation(&mut self, _relation: &ObjectName) -> ControlFlow<Self::Break> {
        if self.depth == 0 { refuse("a relation name") } else { ControlFlow::Continue(()) }
    }

    fn pre_visit_statement(&mut self, _statement: &Statement) -> ControlFlow<Self::Break> {
        if self.depth == 0 { refuse("a statement") } else { ControlFlow::Continue(()) }
    }
}
