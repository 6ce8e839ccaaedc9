//! The one hook every change goes through, in the same transaction as the
//! change: it writes the audit record and, for the catalogue (stores, items,
//! tags and their links), the event that announces the change to every
//! instance and client once the transaction commits (never if it rolls back).
//! It also reads the log back, for the admin panel's histories and front page.

use diesel::PgConnection;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::Error;
pub use crate::models::{Action, Entity};
use crate::models::{AuditEntry, EventKind, Item, NewAuditEntry, NewEvent, Store, Tag, User};
use crate::policy::Actor;
use crate::services::items::ItemDetail;
use crate::services::tags::TagDetail;
use crate::views::{ItemView, StoreView, TagView};

/// Which fields a change touched, each with its value before and after.
#[derive(Debug, Default)]
pub struct Changes(Map<String, Value>);

impl Changes {
    pub fn new() -> Changes {
        Changes::default()
    }

    /// Records `field` going from `from` to `to`; `None` on either side means
    /// the object did not exist before or does not after. Unchanged fields of
    /// an update are left out.
    pub fn field<T: Serialize + PartialEq>(mut self, field: &str, from: Option<T>, to: Option<T>) -> Changes {
        if from.is_some() && to.is_some() && from == to {
            return self;
        }
        let mut entry = Map::new();
        if let Some(from) = from {
            entry.insert("from".into(), serde_json::to_value(from).unwrap_or(Value::Null));
        }
        if let Some(to) = to {
            entry.insert("to".into(), serde_json::to_value(to).unwrap_or(Value::Null));
        }
        self.0.insert(field.to_owned(), Value::Object(entry));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a change was made to: the thing, the store it belongs to, and how
/// the API shows it after the change.
pub struct Subject {
    entity: Entity,
    id: i64,
    store_id: Option<i64>,
    object: Option<Value>,
}

impl Subject {
    pub fn store(store: &Store) -> Subject {
        let object = serde_json::to_value(StoreView::from(store.clone())).ok();
        Subject { entity: Entity::Store, id: store.id, store_id: Some(store.id), object }
    }

    pub fn item(detail: &ItemDetail) -> Subject {
        let object = serde_json::to_value(ItemView::from(detail)).ok();
        Subject { entity: Entity::Item, id: detail.item.id, store_id: Some(detail.item.store_id), object }
    }

    pub fn tag(detail: &TagDetail) -> Subject {
        let object = serde_json::to_value(TagView::from(detail.clone())).ok();
        Subject { entity: Entity::Tag, id: detail.tag.id, store_id: Some(detail.tag.store_id), object }
    }

    /// An item being deleted: only which one, and from where.
    pub fn deleted_item(item: &Item) -> Subject {
        Subject { entity: Entity::Item, id: item.id, store_id: Some(item.store_id), object: None }
    }

    /// A tag being deleted.
    pub fn deleted_tag(tag: &Tag) -> Subject {
        Subject { entity: Entity::Tag, id: tag.id, store_id: Some(tag.store_id), object: None }
    }

    /// An account: audited, never published.
    pub fn user(id: i64) -> Subject {
        Subject { entity: Entity::User, id, store_id: None, object: None }
    }

    /// The event announcing `action` on this subject, if it is published.
    fn event(self, action: Action) -> Option<NewEvent> {
        use Action::{Create, Delete, Link, Unlink, Update};
        let kind = match (self.entity, action) {
            (Entity::Store, Create) => EventKind::StoreCreated,
            (Entity::Store, Update) => EventKind::StoreUpdated,
            (Entity::Store, Delete) => EventKind::StoreDeleted,
            (Entity::Item, Create) => EventKind::ItemCreated,
            (Entity::Item, Update) => EventKind::ItemUpdated,
            (Entity::Item, Link | Unlink) => EventKind::ItemTagsChanged,
            (Entity::Item, Delete) => EventKind::ItemDeleted,
            (Entity::Tag, Create) => EventKind::TagCreated,
            (Entity::Tag, Update) => EventKind::TagUpdated,
            (Entity::Tag, Delete) => EventKind::TagDeleted,
            (Entity::Store | Entity::Tag, Link | Unlink) | (Entity::User, _) => return None,
        };
        let object = if action == Delete { None } else { self.object };
        Some(NewEvent { kind, entity_id: self.id, store_id: self.store_id?, object })
    }
}

/// Writes the audit record of a change and, for the catalogue, its event.
pub fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    action: Action,
    subject: Subject,
    changes: Changes,
) -> Result<(), Error> {
    NewAuditEntry {
        actor_id: Some(actor.user_id),
        via: actor.via,
        action,
        entity: subject.entity,
        entity_id: subject.id,
        changes: Value::Object(changes.0),
    }
    .insert(conn)?;
    if let Some(event) = subject.event(action) {
        event.insert(conn)?;
        crate::cache::note_change(event.store_id);
    }
    Ok(())
}

/// An audit entry with the email of who made it (`None` once they are deleted).
pub struct Recorded {
    pub entry: AuditEntry,
    pub actor_email: Option<String>,
}

/// The history of one object, newest first: at most `limit` entries.
pub fn history_of(
    conn: &mut PgConnection,
    entity: Entity,
    id: i64,
    limit: i64,
) -> Result<Vec<Recorded>, Error> {
    let entries = AuditEntry::of(conn, entity, id, limit)?;
    with_actors(conn, entries)
}

/// The latest `limit` changes anywhere, newest first.
pub fn recent(conn: &mut PgConnection, limit: i64) -> Result<Vec<Recorded>, Error> {
    let entries = AuditEntry::recent(conn, limit)?;
    with_actors(conn, entries)
}

fn with_actors(conn: &mut PgConnection, entries: Vec<AuditEntry>) -> Result<Vec<Recorded>, Error> {
    let ids: Vec<i64> = entries.iter().filter_map(|e| e.actor_id).collect();
    let emails = User::emails(conn, &ids)?;
    Ok(entries
        .into_iter()
        .map(|entry| {
            let actor_email = entry.actor_id.and_then(|id| emails.get(&id).cloned());
            Recorded { entry, actor_email }
        })
        .collect())
}
