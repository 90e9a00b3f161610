//! Row-filter predicates from plugins: parsed, checked, and bound with parameters.
//!
//! A predicate is SQL text such as `tenant_id = :tenant`. It is parsed in the datasource's
//! dialect (never spliced), and only a small grammar is accepted: the relation's own columns,
//! literals, the plugin's declared `:name` parameters, comparisons, boolean logic, `IN` lists,
//! `BETWEEN`, `IS [NOT] NULL`, `LIKE` with a literal pattern and a few pure functions.
//! Subqueries are refused: a filter that reads other relations could itself leak, and nothing
//! has needed one yet. Parameters are bound as query parameters (see `bind`), so a principal
//! attribute is never part of the SQL text.

use sqlparser::ast::{BinaryOperator, Expr, Ident, UnaryOperator, Value};
use sqlparser::parser::{Parser, ParserOptions};
use sqlparser::tokenizer::Token;

use crate::analyse::Dialect;
use crate::auth::Principal;
use crate::policy::{ParamSource, RowFilter};

use super::bind::{Binder, Origin};
use super::error::RewriteError;
use super::protect::{Protected, same_column};

/// Deep enough for any real filter; keeps a hostile one from exhausting the stack.
const MAX_DEPTH: usize = 32;

/// Functions a row filter may call: pure, and unable to raise errors that depend on data.
const FILTER_FUNCTIONS: &[&str] = &["lower", "upper", "coalesce", "trim", "length"];

/// The filters of `protected`, checked and bound, each as an expression over its columns.
/// `qualifier` prefixes every column (a DML target's alias); `None` leaves them unqualified.
pub(crate) fn compile_all(
    dialect: Dialect,
    protected: &Protected,
    principal: &Principal,
    binder: &mut Binder,
    qualifier: Option<&Ident>,
) -> Result<Vec<Expr>, RewriteError> {
    protected
        .filters
        .iter()
        .map(|filter| {
            let mut compiler = Compiler { dialect, protected, filter, principal, binder, qualifier };
            let mut expr = parse_expr(dialect, &filter.predicate).map_err(|r| compiler.bad(r))?;
            compiler.check(&mut expr, 0)?;
            Ok(Expr::Nested(Box::new(expr)))
        })
        .collect()
}

/// Parses `text` as exactly one expression.
pub(crate) fn parse_expr(dialect: Dialect, text: &str) -> Result<Expr, String> {
    let options = ParserOptions::new().with_unescape(false);
    let mut parser = Parser::new(dialect.parser_dialect())
        .with_recursion_limit(MAX_DEPTH)
        .with_options(options)
        .try_with_sql(text)
        .map_err(|e| format!("does not parse: {e}"))?;
    let expr = parser.parse_expr().map_err(|e| format!("does not parse: {e}"))?;
    match parser.peek_token().token {
        Token::EOF => Ok(expr),
        _ => Err("has text after the expression".into()),
    }
}

/// The equalities a filter requires of a row, `column = value`, when the filter is nothing but
/// a conjunction of such equalities (`tenant_id = :tenant AND region = 'eu'`); `None` otherwise.
/// This is what a new or changed row can be checked against without running the filter.
pub(crate) fn required_values(
    dialect: Dialect,
    filter: &RowFilter,
    principal: &Principal,
) -> Option<Vec<(String, String)>> {
    let expr = parse_expr(dialect, &filter.predicate).ok()?;
    let mut out = Vec::new();
    conjuncts(&expr, &mut |term| {
        let Expr::BinaryOp { left, op: BinaryOperator::Eq, right } = term else {
            return false;
        };
        let (c, value) = match (left.as_ref(), right.as_ref()) {
            (Expr::Identifier(c), Expr::Value(v)) | (Expr::Value(v), Expr::Identifier(c)) => (c, &v.value),
            _ => return false,
        };
        let value = match value {
            Value::Placeholder(name) => match param_value(filter, principal, name) {
                Ok((v, _)) => v,
                Err(_) => return false,
            },
            Value::SingleQuotedString(s) if !s.contains(['\'', '\\']) => s.clone(),
            Value::Number(n, _) => n.clone(),
            _ => return false,
        };
        out.push((dialect.normalise_column_ident(c), value));
        true
    })
    .then_some(out)
}

/// Calls `term` on each conjunct of `expr`; false if any call does.
fn conjuncts(expr: &Expr, term: &mut impl FnMut(&Expr) -> bool) -> bool {
    match expr {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            conjuncts(left, term) && conjuncts(right, term)
        }
        Expr::Nested(inner) => conjuncts(inner, term),
        other => term(other),
    }
}

/// Why a placeholder has no value.
enum Unbound {
    /// The filter is malformed (undeclared parameter, other placeholder style).
    Filter(String),
    /// The principal lacks the attribute the parameter is bound to.
    Attribute(String),
}

/// The value bound to `:name` for this principal, and where it comes from.
fn param_value(
    filter: &RowFilter,
    principal: &Principal,
    placeholder: &str,
) -> Result<(String, Origin), Unbound> {
    let name = placeholder
        .strip_prefix(':')
        .ok_or_else(|| Unbound::Filter("uses a placeholder style other than :name".into()))?;
    let (_, source) = filter
        .params
        .iter()
        .find(|(n, _)| n == name)
        .ok_or_else(|| Unbound::Filter(format!("uses :{name}, which it does not declare")))?;
    match source {
        ParamSource::Literal(value) => Ok((value.clone(), Origin::Literal(value.clone()))),
        ParamSource::Attribute(attribute) => principal
            .attributes
            .get(attribute)
            .map(|value| (value.clone(), Origin::Attribute(attribute.clone())))
            .ok_or_else(|| Unbound::Attribute(attribute.clone())),
    }
}

struct Compiler<'a> {
    dialect: Dialect,
    protected: &'a Protected,
    filter: &'a RowFilter,
    principal: &'a Principal,
    binder: &'a mut Binder,
    qualifier: Option<&'a Ident>,
}

impl Compiler<'_> {
    fn bad(&self, reason: impl Into<String>) -> RewriteError {
        RewriteError::BadFilter {
            plugin: self.filter.plugin.clone(),
            relation: self.protected.relation.to_string(),
            reason: reason.into(),
        }
    }

    /// Checks `expr` against the accepted grammar, qualifying columns and binding parameters
    /// in place.
    fn check(&mut self, expr: &mut Expr, depth: usize) -> Result<(), RewriteError> {
        if depth > MAX_DEPTH {
            return Err(self.bad("is nested too deeply"));
        }
        let depth = depth + 1;
        match expr {
            Expr::Identifier(ident) => {
                let name = self.dialect.normalise_column_ident(ident);
                if !self.protected.columns.iter().any(|c| same_column(self.dialect, &c.name, &name)) {
                    return Err(self.bad(format!("names {name:?}, which is not a column of the relation")));
                }
                if let Some(qualifier) = self.qualifier {
                    *expr = Expr::CompoundIdentifier(vec![qualifier.clone(), ident.clone()]);
                }
                Ok(())
            }
            Expr::Value(value) => match &value.value {
                Value::Placeholder(name) => {
                    let bound = param_value(self.filter, self.principal, name).map_err(|e| match e {
                        Unbound::Attribute(attribute) => {
                            RewriteError::MissingAttribute { plugin: self.filter.plugin.clone(), attribute }
                        }
                        Unbound::Filter(reason) => self.bad(reason),
                    })?;
                    *expr = self.binder.push(bound.0, bound.1);
                    Ok(())
                }
                Value::Number(..) | Value::SingleQuotedString(_) | Value::Boolean(_) | Value::Null => Ok(()),
                _ => Err(self.bad("uses a literal of a kind filters do not accept")),
            },
            Expr::BinaryOp { left, op, right } => {
                use BinaryOperator as B;
                if !matches!(
                    op,
                    B::Eq
                        | B::NotEq
                        | B::Lt
                        | B::LtEq
                        | B::Gt
                        | B::GtEq
                        | B::And
                        | B::Or
                        | B::Plus
                        | B::Minus
                ) {
                    return Err(self.bad(format!("uses the operator {op}, which filters do not accept")));
                }
                self.check(left, depth)?;
                self.check(right, depth)
            }
            Expr::UnaryOp { op: UnaryOperator::Not | UnaryOperator::Minus, expr } | Expr::Nested(expr) => {
                self.check(expr, depth)
            }
            Expr::IsNull(e) | Expr::IsNotNull(e) | Expr::IsTrue(e) | Expr::IsFalse(e) => self.check(e, depth),
            Expr::In { expr, target: sqlparser::ast::InTarget::List(list), .. } => {
                self.check(expr, depth)?;
                list.iter_mut().try_for_each(|e| self.check(e, depth))
            }
            Expr::Between { expr, low, high, .. } => {
                self.check(expr, depth)?;
                self.check(low, depth)?;
                self.check(high, depth)
            }
            Expr::Like { expr, pattern, escape_char: None, any: false, .. } => {
                if !matches!(pattern.as_ref(), Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_)))
                {
                    return Err(self.bad("uses LIKE with a pattern that is not a string literal"));
                }
                self.check(expr, depth)
            }
            Expr::Function(function) => {
                let name = function.name.to_string().to_lowercase();
                if !FILTER_FUNCTIONS.contains(&name.as_str()) {
                    return Err(self.bad(format!("calls {name}, which filters may not call")));
                }
                let sqlparser::ast::FunctionArguments::List(list) = &mut function.args else {
                    return Err(self.bad(format!("calls {name} in a form filters do not accept")));
                };
                if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
                    return Err(self.bad(format!("calls {name} in a form filters do not accept")));
                }
                if function.filter.is_some() || function.over.is_some() || !function.within_group.is_empty() {
                    return Err(self.bad(format!("calls {name} in a form filters do not accept")));
                }
                for arg in &mut list.args {
                    match arg {
                        sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(e)) => {
                            self.check(e, depth)?;
                        }
                        _ => {
                            return Err(
                                self.bad(format!("calls {name} with arguments filters do not accept"))
                            );
                        }
                    }
                }
                Ok(())
            }
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::In { .. } => {
                Err(self.bad("uses a subquery, which filters may not"))
            }
            _ => Err(self.bad("uses an expression filters do not accept")),
        }
    }
}
