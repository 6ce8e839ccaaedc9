//! Tags: a store's labels for its items, and the links between them.

use diesel::prelude::*;

use super::audit::{self, Action, Changes, Subject};
use super::items::{tag_ids_of, ItemDetail};
use super::{not_found_as, unique_or};
use crate::error::{Error, FieldErrors};
use crate::models::{tag, Item, ItemTag, NewTag, PageRequest, Store, Tag, TagRef};
use crate::policy::{self, Actor};
use crate::text;

/// How many tags one request may link at once.
pub const MAX_LINKS_PER_REQUEST: usize = 100;

pub use crate::models::TagDetail;

/// One tag with its store's name and item count, in one statement.
pub fn detail(conn: &mut PgConnection, id: i64) -> Result<TagDetail, Error> {
    let (tag, store_name, item_count) =
        Tag::find_with_store_name_and_count(conn, id).map_err(not_found_as("tag"))?;
    Ok(TagDetail { tag, store_name, item_count })
}

/// A tag as the panel opens it: for whoever may manage its store (403
/// else); staff without looking the store up.
pub fn detail_managed(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<TagDetail, Error> {
    let detail = detail(conn, id)?;
    if policy::panel_scope(actor).is_some() {
        let store = Store::find(conn, detail.tag.store_id)?;
        policy::open_in_panel(actor, &store)?;
    }
    Ok(detail)
}

/// Tag names across the stores, each once, by name: the first `limit`, for
/// the search form to suggest.
pub fn names_for_suggestions(conn: &mut PgConnection, limit: i64) -> Result<Vec<String>, Error> {
    Ok(Tag::distinct_names(conn, limit)?)
}

/// A page of a store's tags, each with how many items carry it.
pub struct StoreTags {
    pub store: Store,
    pub tags: Vec<(Tag, i64)>,
    /// All the store's tags, not only this page's.
    pub total: i64,
}

pub fn list_in_store(conn: &mut PgConnection, store_id: i64, page: PageRequest) -> Result<StoreTags, Error> {
    let store = Store::find(conn, store_id).map_err(not_found_as("store"))?;
    let tags = Tag::page_in_store(conn, store_id, page)?;
    let total = Tag::count_in_store(conn, store_id)?;
    Ok(StoreTags { store, tags, total })
}

/// A tag's name as entered, checked and normalised.
fn valid_name(raw: &str) -> Result<String, Error> {
    let mut errors = FieldErrors::new();
    let name = text::required_line("name", raw, text::TAG_NAME_MAX, &mut errors);
    Error::check(errors)?;
    Ok(name.unwrap_or_default())
}

/// A 409 when saving `name` hit the store's unique tag names, else `error`.
fn name_taken_or(error: diesel::result::Error, name: &str) -> Error {
    unique_or(error, tag::NAME_KEY, || {
        Error::Conflict(format!("This store already has a tag named \u{201c}{name}\u{201d}."))
    })
}

pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    store_id: i64,
    raw_name: &str,
) -> Result<TagDetail, Error> {
    crate::db::transaction(conn, |conn| {
        let store = Store::find(conn, store_id).map_err(not_found_as("store"))?;
        policy::manage_store(actor, &store)?;
        let name = valid_name(raw_name)?;
        let tag = NewTag { store_id, name: &name }.insert(conn).map_err(|e| name_taken_or(e, &name))?;
        let changes =
            Changes::new().field("name", None, Some(&tag.name)).field("store_id", None, Some(store_id));
        let detail = TagDetail { tag, store_name: store.name, item_count: 0 };
        audit::record(conn, actor, Action::Create, Subject::tag(&detail), changes)?;
        Ok(detail)
    })
}

/// Renames a tag. `precondition` sees the current tag, locked, and may
/// refuse the change (a stale version).
pub fn rename(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    raw_name: &str,
    precondition: impl FnOnce(&Tag) -> Result<(), Error>,
) -> Result<Tag, Error> {
    crate::db::transaction(conn, |conn| {
        let current = Tag::lock(conn, id).map_err(not_found_as("tag"))?;
        let store = Store::find(conn, current.store_id)?;
        policy::manage_store(actor, &store)?;
        let name = valid_name(raw_name)?;
        precondition(&current)?;
        let tag = Tag::rename(conn, id, &name).map_err(|e| name_taken_or(e, &name))?;
        let changes = Changes::new().field("name", Some(&current.name), Some(&tag.name));
        let item_count = ItemTag::count_for_tag(conn, id)?;
        let detail = TagDetail { tag, store_name: store.name, item_count };
        audit::record(conn, actor, Action::Update, Subject::tag(&detail), changes)?;
        Ok(detail.tag)
    })
}

/// Makes `tag_ids` exactly the tags of the item (of store `store_id`):
/// links the new ones and removes the others. Part of an item's creation or
/// update, which audits it; 422 when a tag is unknown or of another store.
/// Returns the item's tags.
pub(super) fn replace_links(
    conn: &mut PgConnection,
    item_id: i64,
    store_id: i64,
    tag_ids: &[i64],
) -> Result<Vec<TagRef>, Error> {
    let mut wanted = tag_ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.len() > MAX_LINKS_PER_REQUEST {
        return Err(Error::invalid("tag_ids", format!("may list at most {MAX_LINKS_PER_REQUEST} tags")));
    }
    let found = Tag::ids_in_store(conn, store_id, &wanted)?;
    if found.len() != wanted.len() {
        return Err(Error::invalid("tag_ids", "may only name tags of the item's store"));
    }
    let before = current_tag_ids(conn, item_id)?;
    for &old in before.iter().filter(|id| !wanted.contains(id)) {
        ItemTag::unlink(conn, item_id, old)?;
    }
    if !wanted.is_empty() {
        ItemTag::link(conn, item_id, store_id, &wanted)?;
    }
    Ok(ItemTag::tags_of(conn, &[item_id])?.remove(&item_id).unwrap_or_default())
}

/// Deletes a tag that no item carries.
pub fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<(), Error> {
    crate::db::transaction(conn, |conn| {
        let tag = Tag::lock(conn, id).map_err(not_found_as("tag"))?;
        let store = Store::find(conn, tag.store_id)?;
        policy::manage_store(actor, &store)?;
        let linked = ItemTag::count_for_tag(conn, id)?;
        if linked > 0 {
            let items = if linked == 1 { "1 item".to_owned() } else { format!("{linked} items") };
            return Err(Error::Conflict(format!("The tag is still on {items}; remove it from them first.")));
        }
        Tag::delete(conn, id)?;
        let changes = Changes::new().field("name", Some(&tag.name), None);
        audit::record(conn, actor, Action::Delete, Subject::deleted_tag(&tag), changes)?;
        Ok(())
    })
}

/// Links the item to all the tags or, if any is unknown or of another store,
/// to none. Linking twice is harmless. Returns the item's tags.
pub fn link(
    conn: &mut PgConnection,
    actor: &Actor,
    item_id: i64,
    tag_ids: &[i64],
) -> Result<Vec<TagRef>, Error> {
    let mut wanted: Vec<i64> = tag_ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return Err(Error::invalid("tag_ids", "must list at least one tag"));
    }
    if wanted.len() > MAX_LINKS_PER_REQUEST {
        return Err(Error::invalid("tag_ids", format!("must list at most {MAX_LINKS_PER_REQUEST} tags")));
    }
    crate::db::transaction(conn, |conn| {
        let item = Item::lock(conn, item_id).map_err(not_found_as("item"))?;
        let store = Store::find(conn, item.store_id)?;
        policy::manage_store(actor, &store)?;
        let found = Tag::ids_in_store(conn, item.store_id, &wanted)?;
        let unknown: Vec<String> =
            wanted.iter().filter(|id| !found.contains(id)).map(i64::to_string).collect();
        if !unknown.is_empty() {
            return Err(Error::invalid(
                "tag_ids",
                format!("not tags of this item's store: {}", unknown.join(", ")),
            ));
        }
        let before: Vec<i64> = current_tag_ids(conn, item_id)?;
        let added = ItemTag::link(conn, item_id, item.store_id, &wanted)?;
        let tags = ItemTag::tags_of(conn, &[item_id])?.remove(&item_id).unwrap_or_default();
        if added > 0 {
            let changes = Changes::new().field("tag_ids", Some(before), Some(tag_ids_of(&tags)));
            let detail =
                ItemDetail { item: Item::bump_version(conn, item_id)?, store_name: store.name, tags };
            audit::record(conn, actor, Action::Link, Subject::item(&detail), changes)?;
            return Ok(detail.tags);
        }
        Ok(tags)
    })
}

fn current_tag_ids(conn: &mut PgConnection, item_id: i64) -> Result<Vec<i64>, Error> {
    Ok(tag_ids_of(&ItemTag::tags_of(conn, &[item_id])?.remove(&item_id).unwrap_or_default()))
}

/// Removes one link; 404 when the item does not carry the tag.
pub fn unlink(conn: &mut PgConnection, actor: &Actor, item_id: i64, tag_id: i64) -> Result<(), Error> {
    crate::db::transaction(conn, |conn| {
        let item = Item::lock(conn, item_id).map_err(not_found_as("item"))?;
        let store = Store::find(conn, item.store_id)?;
        policy::manage_store(actor, &store)?;
        let before = current_tag_ids(conn, item_id)?;
        if ItemTag::unlink(conn, item_id, tag_id)? == 0 {
            return Err(Error::NotFound("link between this item and tag"));
        }
        let tags = ItemTag::tags_of(conn, &[item_id])?.remove(&item_id).unwrap_or_default();
        let changes = Changes::new().field("tag_ids", Some(before), Some(tag_ids_of(&tags)));
        let detail = ItemDetail { item: Item::bump_version(conn, item_id)?, store_name: store.name, tags };
        audit::record(conn, actor, Action::Unlink, Subject::item(&detail), changes)?;
        Ok(())
    })
}
