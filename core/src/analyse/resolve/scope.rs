//! The names in force at a point of a statement: CTEs (per query) and FROM items (per SELECT).

use crate::analyse::RelationName;

/// What a FROM item's name stands for.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A base table or view.
    Base(RelationName),
    /// A CTE, derived table, table function or join alias: not a base relation.
    Opaque,
}

/// One FROM item as columns can refer to it.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// The name columns qualify with: the alias if there is one, else the table's own name.
    pub(crate) name: String,
    /// The schema written with an unaliased table, so that `schema.t.col` matches it too.
    pub(crate) schema: Option<String>,
    /// Whether an alias hides the table's own name.
    pub(crate) aliased: bool,
    /// Reachable only by qualification (PostgreSQL's `EXCLUDED`, MySQL's insert row alias):
    /// it never makes an unqualified column ambiguous.
    pub(crate) implicit: bool,
    pub(crate) target: Target,
}

impl Source {
    /// A FROM item that is not a base relation, visible as `alias` if it has one.
    pub(crate) fn opaque(alias: Option<String>) -> Option<Self> {
        alias.map(|name| Source {
            name,
            schema: None,
            aliased: true,
            implicit: false,
            target: Target::Opaque,
        })
    }

    /// The proposed row of an upsert, reachable only as `name.column`.
    pub(crate) fn implicit(name: String) -> Self {
        Source { name, schema: None, aliased: true, implicit: true, target: Target::Opaque }
    }

    /// A base relation, visible as `alias` or as its own name.
    pub(crate) fn base(relation: RelationName, alias: Option<String>) -> Self {
        match alias {
            Some(name) => {
                Source { name, schema: None, aliased: true, implicit: false, target: Target::Base(relation) }
            }
            None => Source {
                name: relation.name.clone(),
                schema: relation.schema.clone(),
                aliased: false,
                implicit: false,
                target: Target::Base(relation),
            },
        }
    }
}

/// The FROM items of one SELECT (or DML statement).
#[derive(Debug, Default)]
struct Frame {
    sources: Vec<Source>,
    /// Unqualified names here denote output columns (ORDER BY over a set operation), which
    /// belong to no single base relation.
    opaque: bool,
}

/// The stack of scopes; the innermost is last.
#[derive(Debug, Default)]
pub(crate) struct Scopes {
    ctes: Vec<Vec<String>>,
    frames: Vec<Frame>,
    /// Output-column aliases that ORDER BY / GROUP BY may name instead of columns.
    output_aliases: Vec<String>,
}

impl Scopes {
    pub(crate) fn push_ctes(&mut self) {
        self.ctes.push(Vec::new());
    }

    pub(crate) fn pop_ctes(&mut self) {
        self.ctes.pop();
    }

    /// Makes a CTE name visible in the innermost WITH.
    pub(crate) fn add_cte(&mut self, name: String) {
        if let Some(frame) = self.ctes.last_mut() {
            frame.push(name);
        }
    }

    /// An inner WITH shadows an outer one, but either way the name is a CTE, not a table.
    pub(crate) fn is_cte(&self, name: &str) -> bool {
        self.ctes.iter().any(|frame| frame.iter().any(|cte| cte == name))
    }

    pub(crate) fn push_frame(&mut self) {
        self.frames.push(Frame::default());
    }

    pub(crate) fn push_opaque_frame(&mut self) {
        self.frames.push(Frame { sources: Vec::new(), opaque: true });
    }

    pub(crate) fn pop_frame(&mut self) {
        self.frames.pop();
    }

    pub(crate) fn add_source(&mut self, source: Source) {
        if let Some(frame) = self.frames.last_mut() {
            frame.sources.push(source);
        }
    }

    /// How many sources the innermost frame holds, to mark where a join tree starts.
    pub(crate) fn mark(&self) -> usize {
        self.frames.last().map_or(0, |frame| frame.sources.len())
    }

    /// The base relations of the innermost frame added since `mark`.
    pub(crate) fn bases_since(&self, mark: usize) -> Vec<RelationName> {
        self.frames
            .last()
            .and_then(|frame| frame.sources.get(mark..))
            .unwrap_or_default()
            .iter()
            .filter_map(|source| match &source.target {
                Target::Base(relation) => Some(relation.clone()),
                Target::Opaque => None,
            })
            .collect()
    }

    pub(crate) fn set_output_aliases(&mut self, aliases: Vec<String>) -> Vec<String> {
        std::mem::replace(&mut self.output_aliases, aliases)
    }

    pub(crate) fn is_output_alias(&self, column: &str) -> bool {
        self.output_aliases.iter().any(|alias| alias == column)
    }

    /// The FROM item a qualifier (`t` or `schema.t`) names, innermost scope first.
    pub(crate) fn lookup(&self, qualifier: &[String]) -> Option<&Source> {
        self.frames.iter().rev().find_map(|frame| {
            frame.sources.iter().find(|source| match qualifier {
                [name] => &source.name == name,
                [schema, name] => {
                    !source.aliased
                        && &source.name == name
                        && source.schema.as_ref().is_none_or(|s| s == schema)
                }
                _ => false,
            })
        })
    }

    /// The relation an unqualified column belongs to: the only FROM item of the innermost
    /// scope that has any, when that is a base relation; otherwise unknown without the catalog.
    pub(crate) fn unqualified(&self) -> Option<RelationName> {
        let explicit = |frame: &&Frame| frame.sources.iter().filter(|s| !s.implicit).count();
        let frame = self.frames.iter().rev().find(|f| f.opaque || explicit(f) > 0)?;
        let mut sources = frame.sources.iter().filter(|s| !s.implicit);
        match (sources.next(), sources.next()) {
            (Some(Source { target: Target::Base(relation), .. }), None) if !frame.opaque => {
                Some(relation.clone())
            }
            _ => None,
        }
    }

    /// Every base relation of the innermost frame, for `SELECT *`.
    pub(crate) fn innermost_bases(&self) -> Vec<RelationName> {
        self.bases_since(0)
    }
}
