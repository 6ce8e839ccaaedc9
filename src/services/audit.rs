//! The one hook every change goes through, in the same transaction as the
//! change: it writes the audit record and, for the catalogue (stores, items,
//! tags and their links), the event that announces the change to every
//! instance and client once the transaction commits (never if it rolls back).
//! It also reads the log back, for the admin panel's histories and front page.

use std::collections::HashMap;

use diesel::PgConnection;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::Error;
pub use crate::models::{Action, Entity};
use crate::models::{AuditEntry, EventKind, Item, NewAuditEntry, NewEvent, Role, Store, Tag, User};
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
    fn event(self, action: Action, actor: &Actor) -> Option<NewEvent> {
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
        let actor_id = Some(actor.user_id);
        Some(NewEvent { kind, entity_id: self.id, store_id: self.store_id?, object, actor_id })
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
    record_all(conn, actor, action, vec![(subject, changes)])
}

/// [`record`] for many changes of one kind at once: their audit records and
/// events in a statement a thousand, however many there are.
pub fn record_all(
    conn: &mut PgConnection,
    actor: &Actor,
    action: Action,
    changes: Vec<(Subject, Changes)>,
) -> Result<(), Error> {
    let mut entries = Vec::with_capacity(changes.len());
    let mut events = Vec::with_capacity(changes.len());
    for (subject, changes) in changes {
        entries.push(NewAuditEntry {
            actor_id: Some(actor.user_id),
            via: actor.via,
            action,
            entity: subject.entity,
            entity_id: subject.id,
            changes: Value::Object(changes.0),
        });
        events.extend(subject.event(action, actor));
    }
    NewAuditEntry::insert_all(conn, &entries)?;
    NewEvent::insert_all(conn, &events)?;
    let stores: std::collections::BTreeSet<i64> = events.iter().map(|event| event.store_id).collect();
    stores.into_iter().for_each(crate::cache::note_change);
    Ok(())
}

/// An audit entry as people read it: who made it (`None` once they are
/// deleted), what it was made to by name, and its changes with names for
/// the ids they hold (`tag_ids` become `tags`, `owner_id` the owner's email).
pub struct Recorded {
    pub entry: AuditEntry,
    pub actor_email: Option<String>,
    pub actor_role: Option<Role>,
    /// The object's name now, or as it was when it was deleted.
    pub subject: Option<String>,
}

/// The history of one object, newest first: at most `limit` entries.
pub fn history_of(
    conn: &mut PgConnection,
    entity: Entity,
    id: i64,
    limit: i64,
) -> Result<Vec<Recorded>, Error> {
    let entries = AuditEntry::of(conn, entity, id, limit)?;
    with_names(conn, entries)
}

/// The latest `limit` changes anywhere, newest first.
pub fn recent(conn: &mut PgConnection, limit: i64) -> Result<Vec<Recorded>, Error> {
    let entries = AuditEntry::recent(conn, limit)?;
    with_names(conn, entries)
}

/// Names everything the entries refer to by id, in at most six statements
/// however many entries there are.
fn with_names(conn: &mut PgConnection, entries: Vec<AuditEntry>) -> Result<Vec<Recorded>, Error> {
    let ids_of = |entity: Entity| -> Vec<i64> {
        entries.iter().filter(|e| e.entity == entity).map(|e| e.entity_id).collect()
    };
    let mut user_ids: Vec<i64> = entries.iter().filter_map(|e| e.actor_id).collect();
    user_ids.extend(ids_of(Entity::User));
    let mut tag_ids = ids_of(Entity::Tag);
    let mut store_ids = ids_of(Entity::Store);
    let sides = |change: &Value| -> Vec<i64> {
        ["from", "to"].iter().filter_map(|side| change.get(side)?.as_i64()).collect()
    };
    for entry in &entries {
        if let Some(change) = entry.changes.get("owner_id") {
            user_ids.extend(sides(change));
        }
        if let Some(change) = entry.changes.get("store_id") {
            store_ids.extend(sides(change));
        }
        if let Some(change) = entry.changes.get("tag_ids") {
            for side in ["from", "to"] {
                let listed = change.get(side).and_then(Value::as_array).into_iter().flatten();
                tag_ids.extend(listed.filter_map(Value::as_i64));
            }
        }
    }
    let identities = User::identities(conn, &user_ids)?;
    let emails: HashMap<i64, String> =
        identities.iter().map(|(&id, (email, _))| (id, email.clone())).collect();
    let tags = Tag::names_of(conn, &tag_ids)?;
    let stores = Store::names_of(conn, &store_ids)?;
    let items = Item::names_of(conn, &ids_of(Entity::Item))?;
    Ok(entries
        .into_iter()
        .map(|mut entry| {
            let actor = entry.actor_id.and_then(|id| identities.get(&id));
            let (actor_email, actor_role) =
                (actor.map(|(email, _)| email.clone()), actor.map(|(_, role)| *role));
            let named = match entry.entity {
                Entity::Store => stores.get(&entry.entity_id),
                Entity::Item => items.get(&entry.entity_id),
                Entity::Tag => tags.get(&entry.entity_id),
                Entity::User => emails.get(&entry.entity_id),
            };
            // A deleted object is named by its last recorded name.
            let subject = named.cloned().or_else(|| {
                let last = entry.changes.get("name").or_else(|| entry.changes.get("email"))?;
                Some(last.get("from").or_else(|| last.get("to"))?.as_str()?.to_owned())
            });
            name_ids(&mut entry.changes, &Names { tags: &tags, emails: &emails, stores: &stores });
            Recorded { entry, actor_email, actor_role, subject }
        })
        .collect())
}

/// The names of the ids an audit entry's changes may hold.
struct Names<'a> {
    tags: &'a HashMap<i64, String>,
    emails: &'a HashMap<i64, String>,
    stores: &'a HashMap<i64, String>,
}

/// Puts names in place of the ids of tags, owners and stores in `changes`:
/// `tag_ids` become `tags`, `owner_id` the `owner` and `store_id` the `store`.
/// An id no longer found is written as "tag 9", "user 7" or "store 3".
fn name_ids(changes: &mut Value, names: &Names<'_>) {
    let Value::Object(fields) = changes else { return };
    let name = |id: &Value, known: &HashMap<i64, String>, what: &str| match id.as_i64() {
        Some(id) => Value::String(known.get(&id).cloned().unwrap_or_else(|| format!("{what} {id}"))),
        None => id.clone(),
    };
    if let Some(mut change) = fields.remove("tag_ids") {
        for side in ["from", "to"] {
            if let Some(Value::Array(ids)) = change.get_mut(side) {
                let mut named: Vec<Value> = ids.iter().map(|id| name(id, names.tags, "tag")).collect();
                named.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                *ids = named;
            }
        }
        fields.insert("tags".to_owned(), change);
    }
    for (field, renamed, known, what) in
        [("owner_id", "owner", names.emails, "user"), ("store_id", "store", names.stores, "store")]
    {
        if let Some(mut change) = fields.remove(field) {
            for side in ["from", "to"] {
                if let Some(value) = change.get_mut(side) {
                    *value = name(value, known, what);
                }
            }
            fields.insert(renamed.to_owned(), change);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_changes_become_names() {
        let tags = HashMap::from([(1, "salty".to_owned()), (2, "sweet".to_owned())]);
        let emails = HashMap::from([(7, "carol@example.org".to_owned())]);
        let stores = HashMap::from([(3, "Corner Books".to_owned())]);
        let mut changes = serde_json::json!({
            "tag_ids": {"from": [2], "to": [2, 1, 9]},
            "owner_id": {"from": 7, "to": null},
            "store_id": {"from": null, "to": 3},
            "name": {"from": "a", "to": "b"},
        });
        name_ids(&mut changes, &Names { tags: &tags, emails: &emails, stores: &stores });
        assert_eq!(
            changes,
            serde_json::json!({
                "tags": {"from": ["sweet"], "to": ["salty", "sweet", "tag 9"]},
                "owner": {"from": "carol@example.org", "to": null},
                "store": {"from": null, "to": "Corner Books"},
                "name": {"from": "a", "to": "b"},
            })
        );
    }
}
