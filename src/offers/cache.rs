//! Counts and facets of the public catalogue, cached per filter set and catalogue version.
//!
//! An exact `count(*)` costs several times the page query itself. Each instance keeps the
//! counts it computed, tagged with the catalogue version they were computed at; the version
//! lives in PostgreSQL and moves in the same transaction as any change to offers, so every
//! instance sees a change on its next request and recounts. Correctness never depends on the
//! cache: a miss only costs the count.

use super::model::{FacetRow, PublicFilter};
use std::{collections::HashMap, sync::Mutex};

const CAPACITY: usize = 2_000;

#[derive(Default)]
pub struct CatalogCache {
    entries: Mutex<HashMap<PublicFilter, Entry>>,
}

#[derive(Clone, Default)]
struct Entry {
    version: i64,
    total: Option<i64>,
    facets: Option<Vec<FacetRow>>,
}

impl CatalogCache {
    fn with_entry<T>(&self, f: impl FnOnce(&mut HashMap<PublicFilter, Entry>) -> T) -> T {
        // A poisoned lock only means another thread panicked mid-update of a cache.
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    pub fn total(&self, filter: &PublicFilter, version: i64) -> Option<i64> {
        self.with_entry(|m| {
            m.get(filter)
                .filter(|e| e.version == version)
                .and_then(|e| e.total)
        })
    }

    pub fn facets(&self, filter: &PublicFilter, version: i64) -> Option<Vec<FacetRow>> {
        self.with_entry(|m| {
            m.get(filter)
                .filter(|e| e.version == version)
                .and_then(|e| e.facets.clone())
        })
    }

    pub fn store(
        &self,
        filter: &PublicFilter,
        version: i64,
        total: Option<i64>,
        facets: Option<Vec<FacetRow>>,
    ) {
        self.with_entry(|m| {
            if m.len() >= CAPACITY && !m.contains_key(filter) {
                m.clear();
            }
            let entry = m.entry(filter.clone()).or_default();
            if entry.version != version {
                *entry = Entry {
                    version,
                    ..Entry::default()
                };
            }
            if total.is_some() {
                entry.total = total;
            }
            if facets.is_some() {
                entry.facets = facets;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_valid_only_for_their_version() {
        let cache = CatalogCache::default();
        let f = PublicFilter::default();
        cache.store(&f, 1, Some(10), None);
        assert_eq!(cache.total(&f, 1), Some(10));
        assert_eq!(cache.total(&f, 2), None);
        cache.store(&f, 2, None, Some(vec![]));
        assert_eq!(
            cache.total(&f, 2),
            None,
            "a new version forgets the old total"
        );
        assert!(cache.facets(&f, 2).is_some());
    }
}
