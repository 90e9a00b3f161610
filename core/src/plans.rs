//! Cached plans: what a datasource has already worked out for a statement text.
//!
//! Two caches, both bounded by an estimate of their memory and evicting the least recently
//! used entry first:
//!
//! - **Analyses**, by statement text. Analysis is a pure function of the text and the
//!   datasource's dialect, so an entry never goes stale.
//! - **Rewrites of reads**, by statement text and the chain's row filters and masks as decided
//!   (which plugin, which relation, the predicate text, where each parameter comes from). The
//!   rewritten text depends on those and on the catalog only: the principal's attribute values
//!   and the caller's parameters are bound afresh for every request from
//!   [`Rewritten::origins`]. An entry remembers the catalog it was built against and is used
//!   only while that catalog is current, so a schema change or a reload rebuilds it; a plugin
//!   that decides differently produces another key.
//!
//! Plugins still judge every request: their input includes the principal and the time. Writes
//! are never cached: their rewrite also checks the written values against the filters.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;

use crate::analyse::{Analysis, RelationName};
use crate::execute::Catalog;
use crate::policy::{ChainOutcome, ColumnMask, RowFilter};
use crate::rewrite::Rewritten;

/// Fixed cost charged per entry for the map, the `Arc` and the facts' small allocations.
const ENTRY_OVERHEAD: usize = 1024;

/// Bytes of syntax tree and facts charged per byte of statement text. sqlparser 0.64's tree
/// measured 180 to 360 times its text (45- to 310-byte statements, counted by a global
/// allocator); charged at the top of that range so the budget errs towards holding less.
const TREE_PER_TEXT_BYTE: usize = 384;

/// What a cached rewrite was made for: the statement text and the chain's filters and masks.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RewriteKey {
    sql: Box<str>,
    filters: BTreeMap<RelationName, Vec<RowFilter>>,
    masks: BTreeMap<(RelationName, String), ColumnMask>,
}

impl RewriteKey {
    fn matches(&self, sql: &str, outcome: &ChainOutcome) -> bool {
        *self.sql == *sql && self.filters == outcome.row_filters && self.masks == outcome.column_masks
    }
}

/// A rewrite, what it was made for, and the catalog it was made against.
struct CachedRewrite {
    key: RewriteKey,
    catalog: Arc<Catalog>,
    rewritten: Arc<Rewritten>,
}

/// One datasource's cached analyses and rewrites.
pub struct PlanCache {
    analyses: Mutex<Bounded<Box<str>, Arc<Analysis>>>,
    /// By a keyed hash of the text, filters and masks, so a lookup copies none of them; the
    /// entry's own key is compared on a hit.
    rewrites: Mutex<Bounded<u64, CachedRewrite>>,
    hasher: RandomState,
}

impl PlanCache {
    /// Caches of about `bytes` each for analyses and rewrites; 0 caches nothing.
    pub fn new(bytes: usize) -> Self {
        PlanCache {
            analyses: Mutex::new(Bounded::new(bytes)),
            rewrites: Mutex::new(Bounded::new(bytes)),
            hasher: RandomState::new(),
        }
    }

    /// The analysis of `sql`, from the cache or from `analyse` (then cached when it succeeds;
    /// refusals are cheap to repeat and are not kept).
    ///
    /// # Errors
    /// `analyse`'s error.
    pub fn analysis<E>(
        &self,
        sql: &str,
        analyse: impl FnOnce() -> Result<Analysis, E>,
    ) -> Result<Arc<Analysis>, E> {
        if let Some(hit) = lock(&self.analyses).get(sql) {
            return Ok(Arc::clone(hit));
        }
        let analysis = Arc::new(analyse()?);
        let weight = ENTRY_OVERHEAD + TREE_PER_TEXT_BYTE * analysis.sql.len() + sql.len();
        lock(&self.analyses).put(sql.into(), Arc::clone(&analysis), weight);
        Ok(analysis)
    }

    /// The rewrite of the statement text `sql` under `outcome`'s filters and masks, if one was
    /// made against `catalog`.
    pub fn rewrite(
        &self,
        sql: &str,
        outcome: &ChainOutcome,
        catalog: &Arc<Catalog>,
    ) -> Option<Arc<Rewritten>> {
        let hash = self.hash(sql, outcome);
        let mut rewrites = lock(&self.rewrites);
        let entry = rewrites.get(&hash)?;
        (entry.key.matches(sql, outcome) && Arc::ptr_eq(&entry.catalog, catalog))
            .then(|| Arc::clone(&entry.rewritten))
    }

    /// Caches `rewritten`, the rewrite of `sql` under `outcome` made against `catalog`.
    pub fn keep_rewrite(
        &self,
        sql: &str,
        outcome: &ChainOutcome,
        catalog: &Arc<Catalog>,
        rewritten: Arc<Rewritten>,
    ) {
        let key = RewriteKey {
            sql: sql.into(),
            filters: outcome.row_filters.clone(),
            masks: outcome.column_masks.clone(),
        };
        let text = key.sql.len()
            + key.filters.values().flatten().map(|f| f.predicate.len()).sum::<usize>()
            + rewritten.sql.len();
        let weight = ENTRY_OVERHEAD + text + std::mem::size_of_val(rewritten.origins.as_slice());
        // Holding the catalog's `Arc` keeps its address from being reused by another catalog
        // while the entry lives, so pointer equality means "the same catalog".
        let entry = CachedRewrite { key, catalog: Arc::clone(catalog), rewritten };
        lock(&self.rewrites).put(self.hash(sql, outcome), entry, weight);
    }

    fn hash(&self, sql: &str, outcome: &ChainOutcome) -> u64 {
        self.hasher.hash_one((sql, &outcome.row_filters, &outcome.column_masks))
    }
}

/// A lock that a panicking holder cannot leave unusable: the caches hold no invariant a
/// half-finished `put` could break beyond a wrong weight total.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An LRU map whose entries carry a weight (estimated bytes), kept under a budget.
struct Bounded<K: Hash + Eq, V> {
    map: LruCache<K, (V, usize)>,
    weight: usize,
    budget: usize,
}

impl<K: Hash + Eq, V> Bounded<K, V> {
    fn new(budget: usize) -> Self {
        Bounded { map: LruCache::unbounded(), weight: 0, budget }
    }

    fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key).map(|(value, _)| value)
    }

    fn put(&mut self, key: K, value: V, weight: usize) {
        if weight > self.budget {
            return;
        }
        if let Some((_, old)) = self.map.put(key, (value, weight)) {
            self.weight -= old;
        }
        self.weight += weight;
        while self.weight > self.budget {
            match self.map.pop_lru() {
                Some((_, (_, evicted))) => self.weight -= evicted,
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Bounded;

    #[test]
    fn evicts_least_recently_used_within_budget() {
        let mut cache = Bounded::new(10);
        cache.put("a", 1, 4);
        cache.put("b", 2, 4);
        assert_eq!(cache.get("a"), Some(&1));
        cache.put("c", 3, 4);
        assert_eq!(cache.get("b"), None, "b was least recently used");
        assert_eq!(cache.get("a"), Some(&1));
        assert_eq!(cache.get("c"), Some(&3));
        cache.put("huge", 4, 11);
        assert_eq!(cache.get("huge"), None, "an entry over the whole budget is not kept");
        cache.put("a", 5, 2);
        assert_eq!(cache.weight, 6);
    }

    #[test]
    fn a_zero_budget_keeps_nothing() {
        let mut cache = Bounded::new(0);
        cache.put("a", 1, 1);
        assert_eq!(cache.get("a"), None);
    }
}
