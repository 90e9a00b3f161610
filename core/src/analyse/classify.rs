//! Which statements Sluice forwards at all, and what kind each is. Deny by default: only the
//! variants matched here are walked; every other statement is refused by name.

use sqlparser::ast::{CommentObject, CreateTableLikeKind, ObjectName, ObjectType, Statement};

use super::resolve::Resolver;
use super::{Access, AnalyseError, StatementKind};

/// Walks `statement` with `resolver` and returns its kind.
pub(crate) fn walk_statement(
    resolver: &mut Resolver,
    statement: &Statement,
) -> Result<StatementKind, AnalyseError> {
    let outer = match statement {
        Statement::Query(query) => {
            resolver.query(query)?;
            StatementKind::Read
        }
        Statement::Insert(insert) => {
            resolver.insert(insert)?;
            StatementKind::Insert
        }
        Statement::Update(update) => {
            resolver.update(update)?;
            StatementKind::Update
        }
        Statement::Delete(delete) => {
            resolver.delete(delete)?;
            StatementKind::Delete
        }
        Statement::Explain { statement: inner, analyze, options, .. } => {
            let kind = walk_statement(resolver, inner)?;
            // Options (`FORMAT JSON`) are words, not names of anything the statement reads.
            resolver.judged_without_names(options);
            // EXPLAIN ANALYZE runs the statement, so it is whatever the statement is.
            let runs =
                *analyze || options.iter().flatten().any(|o| o.name.value.eq_ignore_ascii_case("analyze"));
            return Ok(if runs { kind } else { StatementKind::Other });
        }
        Statement::ExplainTable { table_name, .. } => {
            written(resolver, [table_name], Access::Read)?;
            StatementKind::Other
        }
        Statement::ShowCreate { obj_name, .. } => {
            written(resolver, [obj_name], Access::Read)?;
            StatementKind::Other
        }
        Statement::ShowColumns { show_options, .. } => {
            let table = show_options.show_in.as_ref().and_then(|s| s.parent_name.as_ref());
            written(resolver, table, Access::Read)?;
            StatementKind::Other
        }
        Statement::ShowTables { .. }
        | Statement::ShowViews { .. }
        | Statement::ShowDatabases { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowFunctions { .. }
        | Statement::ShowCollation { .. }
        | Statement::ShowCharset(_)
        | Statement::ShowVariable { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowStatus { .. } => StatementKind::Other,
        _ => ddl(resolver, statement)?,
    };
    resolver.effective_kind(outer)
}

/// Schema changes write the objects they name; a query inside (CREATE TABLE AS, CREATE VIEW)
/// is walked as a read.
fn ddl(resolver: &mut Resolver, statement: &Statement) -> Result<StatementKind, AnalyseError> {
    match statement {
        Statement::CreateTable(create) => {
            written(resolver, [&create.name], Access::Write)?;
            if let Some(query) = &create.query {
                resolver.query(query)?;
            }
            let like = create.like.as_ref().map(|like| match like {
                CreateTableLikeKind::Parenthesized(l) | CreateTableLikeKind::Plain(l) => &l.name,
            });
            written(resolver, like, Access::Read)?;
            written(resolver, &create.clone, Access::Read)?;
            written(resolver, create.inherits.iter().flatten(), Access::Read)?;
            written(resolver, &create.partition_of, Access::Write)?;
        }
        Statement::CreateView(create) => {
            if create.to.is_some() {
                return Err(AnalyseError::Unsupported("CREATE VIEW ... TO".into()));
            }
            written(resolver, [&create.name], Access::Write)?;
            resolver.query(&create.query)?;
        }
        Statement::CreateIndex(create) => written(resolver, [&create.table_name], Access::Write)?,
        Statement::CreateVirtualTable { name, .. } => written(resolver, [name], Access::Write)?,
        Statement::AlterTable(alter) => written(resolver, [&alter.name], Access::Write)?,
        Statement::AlterView(alter) => written(resolver, [&alter.name], Access::Write)?,
        Statement::AlterIndex { .. } => {}
        Statement::RefreshMaterializedView(refresh) => written(resolver, [&refresh.name], Access::Write)?,
        Statement::Truncate(truncate) => {
            written(resolver, truncate.table_names.iter().map(|t| &t.name), Access::Write)?;
        }
        Statement::RenameTable(renames) => {
            for rename in renames {
                written(resolver, [&rename.old_name, &rename.new_name], Access::Write)?;
            }
        }
        Statement::Drop { object_type, names, table, .. } => match object_type {
            ObjectType::Table | ObjectType::View | ObjectType::MaterializedView => {
                written(resolver, names, Access::Write)?;
            }
            ObjectType::Index => written(resolver, table, Access::Write)?,
            ObjectType::Schema | ObjectType::Database | ObjectType::Sequence | ObjectType::Type => {}
            other => return Err(AnalyseError::NotAllowed(format!("DROP {other}"))),
        },
        Statement::Comment { object_type, object_name, .. } => match object_type {
            CommentObject::Table | CommentObject::View | CommentObject::MaterializedView => {
                written(resolver, [object_name], Access::Write)?;
            }
            CommentObject::Column => {
                let parts = object_name.0.split_last().map(|(_, t)| t.to_vec()).unwrap_or_default();
                written(resolver, [&ObjectName(parts)], Access::Write)?;
            }
            _ => {}
        },
        Statement::CreateSchema { .. }
        | Statement::CreateDatabase { .. }
        | Statement::CreateSequence { .. }
        | Statement::CreateType { .. }
        | Statement::CreateDomain(_)
        | Statement::DropDomain(_)
        | Statement::AlterSchema(_)
        | Statement::AlterType(_) => {}
        Statement::Merge(_) => return Err(AnalyseError::NotAllowed("MERGE".into())),
        other => return Err(AnalyseError::NotAllowed(statement_name(other))),
    }
    Ok(StatementKind::Ddl)
}

fn written<'a>(
    resolver: &mut Resolver,
    names: impl IntoIterator<Item = &'a ObjectName>,
    access: Access,
) -> Result<(), AnalyseError> {
    for name in names {
        let relation = resolver.relation_name(name)?;
        resolver.record_unwrappable(relation.clone());
        resolver.record_relation(relation, access);
    }
    Ok(())
}

/// The statement's kind in words (`START TRANSACTION`, `LOAD DATA`), from its AST variant,
/// so that a refusal names what was refused without echoing the caller's text.
pub(crate) fn statement_name(statement: &Statement) -> String {
    let debug = format!("{statement:?}");
    let variant: String = debug.chars().take_while(char::is_ascii_alphanumeric).collect();
    let mut name = String::new();
    let mut previous_lower = false;
    for c in variant.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            name.push(' ');
        }
        previous_lower = c.is_ascii_lowercase();
        name.push(c.to_ascii_uppercase());
    }
    name
}
