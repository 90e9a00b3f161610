//! INSERT, UPDATE and DELETE: targets are written (and read, where a WHERE or an upsert reads
//! them), every other relation is read.

use sqlparser::ast::{
    Assignment, AssignmentTarget, Delete, FromTable, Insert, ObjectName, OnConflictAction, OnInsert,
    SelectItem, TableFactor, TableObject, Update, UpdateTableFromKind,
};

use super::scope::{Source, Target};
use super::{Resolver, restrict};
use crate::analyse::{Access, AnalyseError, ColumnUsage, Dialect, RelationName, StatementKind};

fn unsupported<T>(what: &str) -> Result<T, AnalyseError> {
    Err(AnalyseError::Unsupported(what.into()))
}

/// MySQL's modifiers in the order its grammar takes are carried beside the statement (see
/// `analyse::modifiers`); one left in a table's place is out of order (`UPDATE IGNORE
/// LOW_PRIORITY t`, a syntax error in MySQL). The words are reserved in MySQL, so it is refused
/// by name rather than as an unknown table. Other dialects have no modifiers: there the word is
/// a table's name.
fn refuse_modifier(dialect: Dialect, name: &ObjectName) -> Result<(), AnalyseError> {
    if !dialect.has_dml_modifiers() {
        return Ok(());
    }
    match name.0.as_slice() {
        [part] => match part.as_ident() {
            Some(ident)
                if ident.quote_style.is_none()
                    && ["low_priority", "ignore", "quick"]
                        .iter()
                        .any(|m| ident.value.eq_ignore_ascii_case(m)) =>
            {
                Err(AnalyseError::Unsupported(format!(
                    "the {} modifier of UPDATE / DELETE",
                    ident.value.to_ascii_uppercase()
                )))
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

impl Resolver {
    /// INSERT: the target is written; its source query is walked in its own scope, since it
    /// cannot see the target. An upsert also reads the conflicting row.
    pub(crate) fn insert(&mut self, insert: &Insert) -> Result<(), AnalyseError> {
        self.record_effect(StatementKind::Insert);
        if insert.partitioned.is_some() || !insert.after_columns.is_empty() || insert.overwrite {
            return unsupported("Hive INSERT clauses");
        }
        if insert.output.is_some() || insert.settings.is_some() || insert.format_clause.is_some() {
            return unsupported("INSERT OUTPUT/SETTINGS/FORMAT");
        }
        let TableObject::TableName(name) = &insert.table else {
            return unsupported("INSERT INTO a table function");
        };
        let relation = self.relation_name(name)?;
        self.record_target(name);
        self.record_relation(relation.clone(), Access::Write);
        for column in &insert.columns {
            if let Some(ident) = column.0.last().and_then(|part| part.as_ident()) {
                let column = self.dialect.normalise_column_ident(ident);
                self.record_column(Some(relation.clone()), column, ColumnUsage::Assignment);
            }
        }
        if let Some(source) = &insert.source {
            self.scopes.push_frame();
            self.query(source)?;
            self.scopes.pop_frame();
        }
        self.scopes.push_frame();
        let alias = insert.table_alias.as_ref().map(|a| self.dialect.normalise_relation_ident(&a.alias));
        self.scopes.add_source(Source::base(relation.clone(), alias));
        // The proposed row: PostgreSQL's and SQLite's EXCLUDED, MySQL's row alias.
        self.scopes.add_source(Source::implicit("excluded".into()));
        if let Some(row) = &insert.insert_alias {
            let name = self.relation_parts(&row.row_alias)?.pop().unwrap_or_default();
            self.scopes.add_source(Source::implicit(name));
        }
        self.assignments(&insert.assignments, Some(&relation))?;
        match &insert.on {
            None => {}
            Some(OnInsert::DuplicateKeyUpdate(assignments)) => {
                self.record_relation(relation.clone(), Access::Read);
                self.assignments(assignments, Some(&relation))?;
            }
            Some(OnInsert::OnConflict(conflict)) => {
                self.walk_exprs(&conflict.conflict_target, ColumnUsage::Filter)?;
                if let OnConflictAction::DoUpdate(update) = &conflict.action {
                    self.record_relation(relation.clone(), Access::Read);
                    self.assignments(&update.assignments, Some(&relation))?;
                    self.walk_exprs(&update.selection, ColumnUsage::Filter)?;
                }
            }
            Some(_) => return unsupported("INSERT ... ON"),
        }
        self.returning(insert.returning.as_deref())?;
        self.scopes.pop_frame();
        Ok(())
    }

    /// UPDATE: the target is written and read. In MySQL's multi-table form every joined table
    /// an assignment may reach is written too.
    pub(crate) fn update(&mut self, update: &Update) -> Result<(), AnalyseError> {
        self.record_effect(StatementKind::Update);
        if let TableFactor::Table { name, .. } = &update.table.relation {
            refuse_modifier(self.dialect, name)?;
        }
        if update.on_cluster.is_some() || update.output.is_some() || update.settings.is_some() {
            return unsupported("UPDATE ON CLUSTER/OUTPUT/SETTINGS");
        }
        self.scopes.push_frame();
        let (relation, alias) = self.target_table(&update.table.relation)?;
        self.record_relation(relation.clone(), Access::Write);
        self.record_relation(relation.clone(), Access::Read);
        let mark = self.scopes.mark();
        let mut qualifiers = vec![relation.name.clone()];
        qualifiers.extend(alias.clone());
        self.scopes.add_source(Source::base(relation.clone(), alias));
        let multi_table = !update.table.joins.is_empty();
        if multi_table {
            self.scopes.pop_frame();
            self.scopes.push_frame();
            self.table_with_joins(&update.table)?;
        }
        match &update.from {
            None => {}
            Some(UpdateTableFromKind::BeforeSet(items) | UpdateTableFromKind::AfterSet(items)) => {
                for item in items {
                    self.table_with_joins(item)?;
                }
            }
        }
        if !restrict::restricts(update.selection.as_ref(), &qualifiers, self.dialect) {
            self.unrestricted_writes.insert(relation.clone());
        }
        if multi_table {
            for written in self.multi_table_targets(&update.assignments, mark) {
                if !restrict::restricts(update.selection.as_ref(), &qualifiers, self.dialect) {
                    self.unrestricted_writes.insert(written.clone());
                }
                self.record_relation(written, Access::Write);
            }
        }
        self.assignments(&update.assignments, (!multi_table).then_some(&relation))?;
        self.walk_exprs(&update.selection, ColumnUsage::Filter)?;
        self.walk_exprs(&update.order_by, ColumnUsage::Ordering)?;
        self.walk_exprs(&update.limit, ColumnUsage::Filter)?;
        self.returning(update.returning.as_deref())?;
        self.scopes.pop_frame();
        Ok(())
    }

    /// The tables a multi-table UPDATE writes: those its assignment targets name, or all of the
    /// join tree when a target is unqualified (only the catalog could tell which).
    fn multi_table_targets(&self, assignments: &[Assignment], mark: usize) -> Vec<RelationName> {
        let all = self.scopes.bases_since(mark);
        let mut written = Vec::new();
        for assignment in assignments {
            let names = match &assignment.target {
                AssignmentTarget::ColumnName(name) => std::slice::from_ref(name),
                AssignmentTarget::Tuple(names) => names.as_slice(),
            };
            for name in names {
                let parts: Vec<String> = name
                    .0
                    .iter()
                    .filter_map(|p| p.as_ident())
                    .map(|i| self.dialect.normalise_relation_ident(i))
                    .collect();
                let qualifier = parts.split_last().map(|(_, q)| q).unwrap_or_default();
                match self.scopes.lookup(qualifier).map(|s| &s.target) {
                    Some(Target::Base(relation)) if !qualifier.is_empty() => written.push(relation.clone()),
                    _ => written.extend(all.iter().cloned()),
                }
            }
        }
        written
    }

    /// DELETE: the target is written and read; USING and joined tables are read. MySQL's
    /// multi-table form names its targets (tables or aliases) before FROM.
    pub(crate) fn delete(&mut self, delete: &Delete) -> Result<(), AnalyseError> {
        self.record_effect(StatementKind::Delete);
        if delete.on_cluster.is_some() || delete.output.is_some() || delete.settings.is_some() {
            return unsupported("DELETE ON CLUSTER/OUTPUT/SETTINGS");
        }
        for name in &delete.tables {
            refuse_modifier(self.dialect, name)?;
        }
        self.scopes.push_frame();
        let from = match &delete.from {
            FromTable::WithFromKeyword(items) | FromTable::WithoutKeyword(items) => items,
        };
        let mut targets = Vec::new();
        let mut qualifiers = Vec::new();
        for item in from {
            if delete.tables.is_empty() {
                let (relation, alias) = self.target_table(&item.relation)?;
                qualifiers.push(relation.name.clone());
                qualifiers.extend(alias);
                targets.push(relation);
            }
            self.table_with_joins(item)?;
        }
        for item in delete.using.iter().flatten() {
            self.table_with_joins(item)?;
        }
        for name in &delete.tables {
            let qualifier = self.relation_parts(name)?;
            qualifiers.extend(qualifier.last().cloned());
            match self.scopes.lookup(&qualifier).map(|s| &s.target) {
                Some(Target::Base(relation)) => targets.push(relation.clone()),
                Some(Target::Opaque) => return unsupported("DELETE from a derived table"),
                None => targets.push(self.relation_name(name)?),
            }
        }
        let restricted = restrict::restricts(delete.selection.as_ref(), &qualifiers, self.dialect);
        for relation in targets {
            if !restricted {
                self.unrestricted_writes.insert(relation.clone());
            }
            self.record_relation(relation.clone(), Access::Read);
            self.record_relation(relation, Access::Write);
        }
        self.walk_exprs(&delete.selection, ColumnUsage::Filter)?;
        self.walk_exprs(&delete.order_by, ColumnUsage::Ordering)?;
        self.walk_exprs(&delete.limit, ColumnUsage::Filter)?;
        self.returning(delete.returning.as_deref())?;
        self.scopes.pop_frame();
        Ok(())
    }

    /// SET targets belong to `target` when unqualified (the statement's only written table);
    /// both targets and values are recorded as assignments.
    fn assignments(
        &mut self,
        assignments: &[Assignment],
        target: Option<&RelationName>,
    ) -> Result<(), AnalyseError> {
        for assignment in assignments {
            let names = match &assignment.target {
                AssignmentTarget::ColumnName(name) => std::slice::from_ref(name),
                AssignmentTarget::Tuple(names) => names.as_slice(),
            };
            for name in names {
                match (name.0.as_slice(), target) {
                    ([part], Some(relation)) => {
                        if let Some(ident) = part.as_ident() {
                            let column = self.dialect.normalise_column_ident(ident);
                            self.record_column(Some(relation.clone()), column, ColumnUsage::Assignment);
                        }
                    }
                    _ => self.column_name_ref(name, ColumnUsage::Assignment),
                }
            }
            self.walk_exprs(&assignment.value, ColumnUsage::Assignment)?;
        }
        Ok(())
    }

    fn returning(&mut self, items: Option<&[SelectItem]>) -> Result<(), AnalyseError> {
        for item in items.unwrap_or_default() {
            self.select_item(item, ColumnUsage::Projection)?;
        }
        Ok(())
    }
}
