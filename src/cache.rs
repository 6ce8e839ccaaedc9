//! Reads kept in memory, so that reading an unchanged item, store or tag,
//! a list of them or a public page again costs no database work.
//!
//! Correctness rests on the live-event stream, which every instance already
//! follows:
//! - every change to the catalogue belongs to one store and announces itself
//!   with an event naming that store. An entry says what it shows: one
//!   store's data (an item or tag shows its own store's name and tags, a
//!   store's page its items and tags) or data across stores (the home page,
//!   a list without a store filter). When this instance's listener receives
//!   an event, everything cached of that store, and everything across
//!   stores, is dropped before the event is handed to anyone else;
//! - a change made through this instance drops the store's entries as soon
//!   as the blocking task that committed it finishes, before the response is
//!   sent: the audit hook notes the store ([`note_change`]) and [`Db::run`]
//!   drops what was noted (read-your-writes without waiting for the event);
//! - a read fills the cache only if nothing was dropped between its start
//!   and its end (the cache's generation is unchanged), so a read that raced
//!   a change never stores what it saw before it;
//! - while the listener is not connected, events may be missed: the cache is
//!   then neither read nor filled, and it starts empty when the listener is
//!   back;
//! - who answers from it, and when, is for the callers to say: a request
//!   with credentials only once this instance has heard of every event
//!   committed before it began ([`Db::cache_for_reading`]), pages only for
//!   visitors who are not signed in.
//!
//! Memory is bounded by a byte budget (`read_cache_bytes`, `0` turns the
//! cache off); when it is full the oldest entries go first.
//!
//! [`Db::run`]: crate::db::Db::run
//! [`Db::cache_for_reading`]: crate::db::Db::cache_for_reading

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

/// What a cached representation is of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Item(i64),
    Store(i64),
    Tag(i64),
    /// A list or a page: the site, path and query it was asked for.
    Address(Arc<str>),
}

impl Key {
    /// A list or page by the site, path and query it was asked for.
    pub fn address(site_url: &str, uri: &impl std::fmt::Display) -> Key {
        Key::Address(format!("{site_url}{uri}").into())
    }
}

/// Whose changes make an entry out of date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// It shows the data of this store only.
    Store(i64),
    /// It shows data of any store: every change drops it.
    AllStores,
}

/// A representation as it is sent: its bytes, its media type, its entity
/// tag and the headers that go with it (a list's count and next page).
#[derive(Debug)]
pub struct Representation {
    pub body: Arc<[u8]>,
    pub content_type: rocket::http::ContentType,
    pub etag: String,
    pub headers: Vec<(&'static str, String)>,
    /// Where in `body` a page says which event it is current up to: the
    /// number is written in as the page is sent (see `web::remembered`).
    pub position_at: Option<usize>,
}

impl Representation {
    /// `body` of `content_type` with its entity tag, and `headers`.
    pub fn new(
        body: Vec<u8>,
        content_type: rocket::http::ContentType,
        headers: Vec<(&'static str, String)>,
    ) -> Self {
        let etag = etag_of_bytes(&body);
        Representation { body: body.into(), content_type, etag, headers, position_at: None }
    }
}

/// The strong entity tag of a body: a hash of its bytes.
pub fn etag_of_bytes(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Book-keeping bytes counted per entry on top of its body.
const ENTRY_OVERHEAD: usize = 160;

/// Leave to fill the cache, taken before the read it would store.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

struct Entry {
    scope: Scope,
    value: Arc<Representation>,
    seq: u64,
    size: usize,
}

#[derive(Default)]
struct Inner {
    /// Whether the listener is connected: entries are only used while it is.
    live: bool,
    /// Grows with every drop; see [`Ticket`].
    generation: u64,
    /// How often the listener came back and went away, for diagnosis.
    resumed: u64,
    suspended: u64,
    entries: HashMap<Key, Entry>,
    by_store: HashMap<i64, HashSet<Key>>,
    /// The entries of [`Scope::AllStores`].
    across_stores: HashSet<Key>,
    /// Entries in the order they came, for making room.
    order: BTreeMap<u64, Key>,
    next_seq: u64,
    bytes: usize,
}

impl Inner {
    fn remove(&mut self, key: &Key) {
        if let Some(entry) = self.entries.remove(key) {
            self.order.remove(&entry.seq);
            self.bytes -= entry.size;
            match entry.scope {
                Scope::Store(store_id) => {
                    if let Some(keys) = self.by_store.get_mut(&store_id) {
                        keys.remove(key);
                        if keys.is_empty() {
                            self.by_store.remove(&store_id);
                        }
                    }
                }
                Scope::AllStores => {
                    self.across_stores.remove(key);
                }
            }
        }
    }

    fn clear(&mut self) {
        self.generation += 1;
        self.entries.clear();
        self.by_store.clear();
        self.across_stores.clear();
        self.order.clear();
        self.bytes = 0;
    }
}

pub struct ReadCache {
    budget: usize,
    inner: RwLock<Inner>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("ReadCache");
        out.field("budget", &self.budget);
        if let Ok(inner) = self.inner.read() {
            out.field("live", &inner.live)
                .field("generation", &inner.generation)
                .field("resumed", &inner.resumed)
                .field("suspended", &inner.suspended)
                .field("entries", &inner.entries.len())
                .field("bytes", &inner.bytes);
        }
        out.finish()
    }
}

impl ReadCache {
    /// A cache of at most `budget` bytes; `0` makes one that keeps nothing.
    /// It is used once [`ReadCache::resume`] says events are followed.
    pub fn new(budget: usize) -> ReadCache {
        ReadCache { budget, inner: RwLock::new(Inner::default()) }
    }

    pub fn is_enabled(&self) -> bool {
        self.budget > 0
    }

    /// The cached representation of `key`, if there is one to trust.
    pub fn get(&self, key: &Key) -> Option<Arc<Representation>> {
        let inner = self.inner.read().ok()?;
        if !inner.live {
            return None;
        }
        inner.entries.get(key).map(|entry| Arc::clone(&entry.value))
    }

    /// Leave to store what a read is about to fetch; `None` when the cache
    /// is off or not in use.
    pub fn ticket(&self) -> Option<Ticket> {
        let inner = self.inner.read().ok()?;
        (self.is_enabled() && inner.live).then_some(Ticket(inner.generation))
    }

    /// Stores `value` as `key`, showing what `scope` says, unless anything
    /// was dropped since `ticket` was taken.
    pub fn insert(&self, ticket: Ticket, key: Key, scope: Scope, value: Arc<Representation>) {
        let headers: usize = value.headers.iter().map(|(name, value)| name.len() + value.len()).sum();
        let size = value.body.len() + value.etag.len() + headers + ENTRY_OVERHEAD;
        if size > self.budget {
            return;
        }
        let Ok(mut inner) = self.inner.write() else { return };
        if !inner.live || inner.generation != ticket.0 {
            return;
        }
        inner.remove(&key);
        while inner.bytes + size > self.budget {
            let Some((_, oldest)) = inner.order.first_key_value() else { break };
            let oldest = oldest.clone();
            inner.remove(&oldest);
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.order.insert(seq, key.clone());
        match scope {
            Scope::Store(store_id) => inner.by_store.entry(store_id).or_default().insert(key.clone()),
            Scope::AllStores => inner.across_stores.insert(key.clone()),
        };
        inner.bytes += size;
        inner.entries.insert(key, Entry { scope, value, seq, size });
    }

    /// Drops everything of the given stores, and everything across stores.
    pub fn forget_stores(&self, store_ids: impl IntoIterator<Item = i64>) {
        let Ok(mut inner) = self.inner.write() else { return };
        inner.generation += 1;
        for key in std::mem::take(&mut inner.across_stores) {
            inner.remove(&key);
        }
        for store_id in store_ids {
            for key in inner.by_store.remove(&store_id).unwrap_or_default() {
                inner.remove(&key);
            }
        }
    }

    /// The listener follows events again: start afresh.
    pub fn resume(&self) {
        if let Ok(mut inner) = self.inner.write() {
            inner.clear();
            inner.live = true;
            inner.resumed += 1;
        }
    }

    /// The listener lost its connection: events may be missed from now on.
    pub fn suspend(&self) {
        if let Ok(mut inner) = self.inner.write() {
            inner.clear();
            inner.live = false;
            inner.suspended += 1;
        }
    }

    /// Bytes held, book-keeping included, and the number of entries.
    pub fn usage(&self) -> (usize, usize) {
        self.inner.read().map_or((0, 0), |inner| (inner.bytes, inner.entries.len()))
    }
}

thread_local! {
    /// Stores changed by the blocking task running on this thread.
    static CHANGED: RefCell<Vec<i64>> = const { RefCell::new(Vec::new()) };
}

/// Notes that the work on this thread changes store `store_id`: called by
/// the audit hook with every change to the catalogue.
pub fn note_change(store_id: i64) {
    CHANGED.with(|changed| changed.borrow_mut().push(store_id));
}

/// Drops from `cache` the stores changed by the work done on this thread
/// since the last call, and forgets the notes. Returns whether there were
/// any.
pub fn forget_changes(cache: Option<&ReadCache>) -> bool {
    let changed = CHANGED.with(|changed| std::mem::take(&mut *changed.borrow_mut()));
    let any = !changed.is_empty();
    if let (Some(cache), true) = (cache, any) {
        cache.forget_stores(changed);
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(len: usize) -> Arc<Representation> {
        Arc::new(Representation {
            body: vec![b'x'; len].into(),
            content_type: rocket::http::ContentType::JSON,
            etag: "\"e\"".into(),
            headers: Vec::new(),
            position_at: None,
        })
    }

    fn live(budget: usize) -> ReadCache {
        let cache = ReadCache::new(budget);
        cache.resume();
        cache
    }

    #[test]
    fn nothing_is_used_until_events_are_followed() {
        let cache = ReadCache::new(10_000);
        assert!(cache.ticket().is_none());
        cache.resume();
        let ticket = cache.ticket().expect("a ticket once live");
        cache.insert(ticket, Key::Item(1), Scope::Store(7), value(10));
        assert!(cache.get(&Key::Item(1)).is_some());
        cache.suspend();
        assert!(cache.get(&Key::Item(1)).is_none());
        assert!(cache.ticket().is_none());
        cache.resume();
        assert!(cache.get(&Key::Item(1)).is_none(), "emptied on reconnection");
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_stored() {
        let cache = live(10_000);
        let ticket = cache.ticket().unwrap();
        cache.forget_stores([99]);
        cache.insert(ticket, Key::Item(1), Scope::Store(7), value(10));
        assert!(cache.get(&Key::Item(1)).is_none());
        let before_outage = cache.ticket().unwrap();
        cache.suspend();
        cache.resume();
        cache.insert(before_outage, Key::Item(1), Scope::Store(7), value(10));
        assert!(cache.get(&Key::Item(1)).is_none());
    }

    #[test]
    fn a_change_drops_its_store_only() {
        let cache = live(10_000);
        for (key, store) in [(Key::Item(1), 7), (Key::Tag(2), 7), (Key::Store(7), 7), (Key::Item(3), 8)] {
            cache.insert(cache.ticket().unwrap(), key, Scope::Store(store), value(10));
        }
        cache.forget_stores([7]);
        assert!(cache.get(&Key::Item(1)).is_none());
        assert!(cache.get(&Key::Tag(2)).is_none());
        assert!(cache.get(&Key::Store(7)).is_none());
        assert!(cache.get(&Key::Item(3)).is_some());
        assert_eq!(cache.usage().1, 1);
    }

    #[test]
    fn what_shows_every_store_goes_with_any_change() {
        let cache = live(10_000);
        let home = Key::Address("http://shop/".into());
        let list = Key::Address("http://shop/api/items?store_id=8".into());
        cache.insert(cache.ticket().unwrap(), home.clone(), Scope::AllStores, value(10));
        cache.insert(cache.ticket().unwrap(), list.clone(), Scope::Store(8), value(10));
        cache.forget_stores([7]);
        assert!(cache.get(&home).is_none());
        assert!(cache.get(&list).is_some());
        assert_eq!(cache.usage().1, 1);
        cache.forget_stores([8]);
        assert_eq!(cache.usage(), (0, 0));
    }

    #[test]
    fn the_budget_holds_and_the_oldest_go_first() {
        let size = 100 + 3 + ENTRY_OVERHEAD;
        let cache = live(size * 3);
        for id in 1..=5 {
            cache.insert(cache.ticket().unwrap(), Key::Item(id), Scope::Store(id), value(100));
            assert!(cache.usage().0 <= size * 3);
        }
        assert_eq!(cache.usage(), (size * 3, 3));
        assert!(cache.get(&Key::Item(1)).is_none() && cache.get(&Key::Item(2)).is_none());
        assert!((3..=5).all(|id| cache.get(&Key::Item(id)).is_some()));
        // Replacing an entry counts it once.
        cache.insert(cache.ticket().unwrap(), Key::Item(5), Scope::Store(5), value(100));
        assert_eq!(cache.usage(), (size * 3, 3));
        // Dropped entries give their room back.
        cache.forget_stores([3, 4, 5]);
        assert_eq!(cache.usage(), (0, 0));
    }

    #[test]
    fn an_entry_larger_than_the_budget_is_not_kept_and_off_keeps_nothing() {
        let cache = live(200);
        cache.insert(cache.ticket().unwrap(), Key::Item(1), Scope::Store(1), value(500));
        assert_eq!(cache.usage(), (0, 0));
        let off = live(0);
        assert!(!off.is_enabled());
        assert!(off.ticket().is_none());
    }

    #[test]
    fn changes_noted_on_a_thread_are_dropped_once() {
        let cache = live(10_000);
        cache.insert(cache.ticket().unwrap(), Key::Store(4), Scope::Store(4), value(10));
        note_change(4);
        forget_changes(Some(&cache));
        assert!(cache.get(&Key::Store(4)).is_none());
        cache.insert(cache.ticket().unwrap(), Key::Store(4), Scope::Store(4), value(10));
        forget_changes(Some(&cache));
        assert!(cache.get(&Key::Store(4)).is_some());
    }
}
