//! This instance's fan-out: its listener publishes each committed event once,
//! and every open stream reads it from a shared ring of bounded size.
//! Publishing never waits for a stream, and a stream that falls a whole ring
//! behind learns it missed events (and tells its client to reload) instead
//! of holding anyone up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket::tokio::sync::{broadcast, watch};

use crate::models::{EventKind, StoredEvent};
use crate::views::EventView;

/// A committed event, serialized once for every stream that sends it.
#[derive(Debug)]
pub struct Published {
    pub id: i64,
    pub kind: EventKind,
    pub store_id: i64,
    /// The primary's WAL position its change is before (`0`: unknown).
    pub wal: i64,
    /// The `data:` line: the event as [`EventView`].
    pub data: String,
}

impl From<StoredEvent> for Published {
    fn from(event: StoredEvent) -> Published {
        let (id, kind, store_id, wal) = (event.id, event.kind, event.store_id, event.lsn.unwrap_or(0));
        let data = serde_json::to_string(&EventView::from(event)).unwrap_or_else(|_| "{}".to_owned());
        Published { id, kind, store_id, wal, data }
    }
}

/// No event delivered yet: the listener has not caught up once.
const NOT_STARTED: i64 = -1;

pub struct Hub {
    sender: broadcast::Sender<Arc<Published>>,
    newest: AtomicI64,
    /// The same as `newest`, for those who wait for it to reach an id.
    reached: watch::Sender<i64>,
    /// The primary's WAL position that every change this instance has
    /// announced is before; see [`Hub::announced_wal`].
    announced_wal: AtomicI64,
    open_streams: AtomicUsize,
    max_streams: usize,
    /// Open streams by client address, each at most `max_per_client`.
    by_client: Mutex<HashMap<String, usize>>,
    max_per_client: usize,
    /// A change was committed through this instance since the listener last
    /// woke the sequencer.
    wrote: AtomicBool,
}

/// Why a stream was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The instance serves as many streams as it may.
    Full,
    /// This client holds as many as one client may.
    ClientFull,
}

impl Hub {
    /// A hub whose streams may fall `backlog` events behind, serving at most
    /// `max_streams` at once, and `max_per_client` to any one client.
    pub fn new(backlog: usize, max_streams: usize, max_per_client: usize) -> Hub {
        let (sender, _) = broadcast::channel(backlog.max(1));
        Hub {
            sender,
            newest: AtomicI64::new(NOT_STARTED),
            reached: watch::Sender::new(NOT_STARTED),
            announced_wal: AtomicI64::new(0),
            open_streams: AtomicUsize::new(0),
            max_streams,
            by_client: Mutex::new(HashMap::new()),
            max_per_client,
            wrote: AtomicBool::new(false),
        }
    }

    /// Events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.sender.subscribe()
    }

    /// The id of the newest event this instance has published, once its
    /// listener has started. Every event up to it is committed and visible.
    pub fn newest(&self) -> Option<i64> {
        Some(self.newest.load(Ordering::Acquire)).filter(|&id| id != NOT_STARTED)
    }

    /// The primary's WAL position that every change this instance has
    /// announced (by publishing its event, or as already done when its
    /// listener started) is before. A replica that has replayed this far
    /// shows nothing older than what this instance's streams, pages and
    /// read cache have shown.
    pub fn announced_wal(&self) -> i64 {
        self.announced_wal.load(Ordering::Acquire)
    }

    /// Whether this instance has published every event up to `id`, waiting
    /// at most `wait` for its listener to get there.
    pub async fn reached(&self, id: i64, wait: Duration) -> bool {
        if self.newest.load(Ordering::Acquire) >= id {
            return true;
        }
        let mut newest = self.reached.subscribe();
        let waited = rocket::tokio::time::timeout(wait, newest.wait_for(|&newest| newest >= id)).await;
        matches!(waited, Ok(Ok(_)))
    }

    /// A change to the catalogue was committed through this instance: its
    /// listener wakes the sequencer (see `sequencer`).
    pub fn note_write(&self) {
        self.wrote.store(true, Ordering::Release);
    }

    /// Whether changes were committed since the last call.
    pub(super) fn take_writes(&self) -> bool {
        self.wrote.swap(false, Ordering::AcqRel)
    }

    /// Where the listener starts: events up to `id` are not published, and
    /// their changes are before `wal` in the primary's WAL.
    pub(super) fn start_after(&self, id: i64, wal: i64) {
        if self.newest.compare_exchange(NOT_STARTED, id, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            self.announced_wal.fetch_max(wal, Ordering::AcqRel);
            self.reached.send_replace(id);
        }
    }

    /// Hands `event` to every stream. Events must come in id order.
    pub(super) fn publish(&self, event: Published) {
        self.announced_wal.fetch_max(event.wal, Ordering::AcqRel);
        self.newest.store(event.id, Ordering::Release);
        self.reached.send_replace(event.id);
        // No receivers is not an error: nobody is listening right now.
        let _ = self.sender.send(Arc::new(event));
    }

    /// A place among the open streams for `client`, unless all are taken or
    /// the client holds its share. The place is given back when the
    /// returned value is dropped.
    pub fn admit(self: &Arc<Hub>, client: &str) -> Result<StreamSlot, Refusal> {
        let mut by_client = self.by_client.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let held = by_client.get(client).copied().unwrap_or(0);
        if held >= self.max_per_client {
            return Err(Refusal::ClientFull);
        }
        let taken = self.open_streams.fetch_add(1, Ordering::AcqRel);
        if taken >= self.max_streams {
            self.open_streams.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::Full);
        }
        by_client.insert(client.to_owned(), held + 1);
        Ok(StreamSlot { hub: Arc::clone(self), client: client.to_owned() })
    }

    pub fn open_streams(&self) -> usize {
        self.open_streams.load(Ordering::Acquire)
    }
}

/// One open stream's place; see [`Hub::admit`].
pub struct StreamSlot {
    hub: Arc<Hub>,
    client: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut by_client = self.hub.by_client.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(held) = by_client.get_mut(&self.client) {
            *held -= 1;
            if *held == 0 {
                by_client.remove(&self.client);
            }
        }
        self.hub.open_streams.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64) -> Published {
        Published {
            id,
            kind: EventKind::ItemUpdated,
            store_id: 1,
            wal: id * 100,
            data: format!("{{\"id\":{id}}}"),
        }
    }

    #[test]
    fn admits_up_to_the_cap_and_frees_places_on_drop() {
        let hub = Arc::new(Hub::new(4, 2, 10));
        let first = hub.admit("a");
        let second = hub.admit("b");
        assert!(first.is_ok() && second.is_ok());
        assert_eq!(hub.admit("c").err(), Some(Refusal::Full));
        drop(first);
        assert!(hub.admit("c").is_ok());
        assert_eq!(hub.open_streams(), 1);
    }

    #[test]
    fn one_client_holds_at_most_its_share() {
        let hub = Arc::new(Hub::new(4, 10, 2));
        let (first, _second) = (hub.admit("a"), hub.admit("a"));
        assert_eq!(hub.admit("a").err(), Some(Refusal::ClientFull));
        assert!(hub.admit("b").is_ok());
        drop(first);
        assert!(hub.admit("a").is_ok());
        assert_eq!(hub.by_client.lock().unwrap().len(), 1, "clients without streams are forgotten");
    }

    #[test]
    fn a_stream_that_falls_a_ring_behind_is_told_so() {
        let hub = Hub::new(2, 10, 10);
        let mut fast = hub.subscribe();
        let mut slow = hub.subscribe();
        hub.start_after(0, 0);
        for id in 1..=3 {
            hub.publish(event(id));
            assert_eq!(fast.try_recv().map(|e| e.id).ok(), Some(id));
        }
        assert_eq!(hub.newest(), Some(3));
        assert!(matches!(slow.try_recv(), Err(broadcast::error::TryRecvError::Lagged(1))));
        assert_eq!(slow.try_recv().map(|e| e.id).ok(), Some(2));
    }

    #[rocket::async_test]
    async fn waiting_for_an_id_ends_when_it_is_published_or_the_wait_is_over() {
        let hub = Arc::new(Hub::new(4, 10, 10));
        assert!(!hub.reached(0, Duration::from_millis(10)).await, "not started");
        hub.start_after(5, 500);
        assert!(hub.reached(5, Duration::ZERO).await);
        let waiting = {
            let hub = Arc::clone(&hub);
            rocket::tokio::spawn(async move { hub.reached(7, Duration::from_secs(10)).await })
        };
        hub.publish(event(6));
        hub.publish(event(7));
        assert!(waiting.await.unwrap());
        assert_eq!(hub.announced_wal(), 700, "the newest published event's position");
        assert!(!hub.reached(8, Duration::from_millis(20)).await);
    }

    #[test]
    fn newest_is_unknown_until_the_listener_starts() {
        let hub = Hub::new(2, 10, 10);
        assert_eq!(hub.newest(), None);
        assert_eq!(hub.announced_wal(), 0);
        hub.start_after(41, 4100);
        hub.start_after(7, 700);
        assert_eq!(hub.newest(), Some(41));
        assert_eq!(hub.announced_wal(), 4100);
    }
}
