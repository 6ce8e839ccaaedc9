//! Stores: listing, creating, renaming and deleting.

use diesel::prelude::*;

use super::audit::{self, Action, Changes, Subject};
use super::{not_found_as, unique_or};
use crate::error::{Error, FieldErrors};
use crate::models::{
    store, Item, ItemTag, ListQuery, ListSort, NewStore, PageRequest, SortKey, Store, Tag, TagRef, User,
};
use crate::policy::{self, Actor};
use crate::text;

pub fn list(conn: &mut PgConnection, page: PageRequest) -> Result<(Vec<Store>, i64), Error> {
    let stores = Store::page(conn, page)?;
    let total = Store::count(conn)?;
    Ok((stores, total))
}

/// A page of stores by name, each with its number of items, and how many stores there are.
pub fn directory(
    conn: &mut PgConnection,
    offset: i64,
    limit: i64,
) -> Result<(Vec<(Store, i64)>, i64), Error> {
    let stores = Store::by_name_with_item_counts(conn, offset, limit)?;
    let total = Store::count(conn)?;
    Ok((stores, total))
}

pub fn get(conn: &mut PgConnection, id: i64) -> Result<Store, Error> {
    Store::find(conn, id).map_err(not_found_as("store"))
}

/// The stores a user owns by name, each with its number of items: the
/// first `limit`, and how many they own.
pub fn owned_by(conn: &mut PgConnection, owner: i64, limit: i64) -> Result<(Vec<(Store, i64)>, i64), Error> {
    let query =
        ListQuery { search: None, sort: ListSort::ascending(SortKey::Name), offset: 0, limit, after: None };
    let (rows, total) = Store::admin_list(conn, &query, Some(owner))?;
    Ok((rows, total.count))
}

/// A store as the panel opens it: for whoever may manage it (403 else).
pub fn get_managed(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<Store, Error> {
    let store = get(conn, id)?;
    policy::open_in_panel(actor, &store)?;
    Ok(store)
}

/// Who owns the store, by email; `None` for a store without an owner.
pub fn owner_email(conn: &mut PgConnection, store: &Store) -> Result<Option<String>, Error> {
    let Some(owner) = store.owner_id else { return Ok(None) };
    Ok(User::emails(conn, &[owner])?.remove(&owner))
}

/// The store with its tags by name and its items counted up to one past
/// the exact limit, in one statement.
pub fn with_tags_and_item_count(
    conn: &mut PgConnection,
    id: i64,
) -> Result<(Store, Vec<TagRef>, i64), Error> {
    Store::find_with_tags_and_item_count(conn, id).map_err(not_found_as("store"))
}

fn valid_name(raw: &str) -> Result<String, Error> {
    let mut errors = FieldErrors::new();
    let name = text::required_line("name", raw, text::STORE_NAME_MAX, &mut errors);
    Error::check(errors)?;
    Ok(name.unwrap_or_default())
}

fn duplicate(name: &str) -> impl FnOnce() -> Error + '_ {
    move || Error::Conflict(format!("A store named \u{201c}{name}\u{201d} already exists."))
}

/// Opens a store owned by the actor.
pub fn create(conn: &mut PgConnection, actor: &Actor, raw_name: &str) -> Result<Store, Error> {
    policy::create_store(actor)?;
    let name = valid_name(raw_name)?;
    crate::db::transaction(conn, |conn| {
        let store = NewStore { name: &name, owner_id: Some(actor.user_id) }
            .insert(conn)
            .map_err(|e| unique_or(e, store::NAME_KEY, duplicate(&name)))?;
        let changes = Changes::new().field("name", None, Some(&store.name)).field(
            "owner_id",
            None,
            Some(store.owner_id),
        );
        audit::record(conn, actor, Action::Create, Subject::store(&store), changes)?;
        Ok(store)
    })
}

/// Renames a store. `precondition` sees the current store, locked, and may
/// refuse the change (a stale version or `If-Match`).
pub fn rename(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    raw_name: &str,
    precondition: impl FnOnce(&Store) -> Result<(), Error>,
) -> Result<Store, Error> {
    crate::db::transaction(conn, |conn| {
        let current = Store::lock(conn, id).map_err(not_found_as("store"))?;
        policy::manage_store(actor, &current)?;
        let name = valid_name(raw_name)?;
        precondition(&current)?;
        let store =
            Store::rename(conn, id, &name).map_err(|e| unique_or(e, store::NAME_KEY, duplicate(&name)))?;
        let changes = Changes::new().field("name", Some(&current.name), Some(&store.name));
        audit::record(conn, actor, Action::Update, Subject::store(&store), changes)?;
        Ok(store)
    })
}

/// What deleting a store takes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreContents {
    pub items: i64,
    pub tags: i64,
    /// Links between the store's items and tags.
    pub links: i64,
}

pub fn contents(conn: &mut PgConnection, id: i64) -> Result<StoreContents, Error> {
    Ok(StoreContents {
        items: Item::count_in_store(conn, id)?,
        tags: Tag::count_in_store(conn, id)?,
        links: ItemTag::count_in_store(conn, id)?,
    })
}

/// The first of a store's items and tags by name, and how many it has.
pub struct FirstContents {
    pub items: Vec<(i64, String)>,
    pub item_count: i64,
    pub tags: Vec<(i64, String)>,
    pub tag_count: i64,
}

pub fn first_contents(conn: &mut PgConnection, id: i64, limit: i64) -> Result<FirstContents, Error> {
    Ok(FirstContents {
        items: Item::names_in_store(conn, id, limit)?,
        item_count: Item::count_in_store(conn, id)?,
        tags: Tag::names_in_store(conn, id, limit)?,
        tag_count: Tag::count_in_store(conn, id)?,
    })
}

/// Deletes a store with its items, tags and links: one audit record and one
/// event, which stand for everything that went with it.
pub fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<StoreContents, Error> {
    crate::db::transaction(conn, |conn| {
        let store = Store::lock(conn, id).map_err(not_found_as("store"))?;
        policy::delete_store(actor, &store)?;
        let contents = contents(conn, id)?;
        let digests = crate::models::ItemPicture::digests_of_store(conn, id)?;
        Store::delete(conn, id)?;
        crate::pictures::store::configured().forget_unused(conn, &digests)?;
        let changes = Changes::new()
            .field("name", Some(&store.name), None)
            .field("items", Some(contents.items), None)
            .field("tags", Some(contents.tags), None);
        audit::record(conn, actor, Action::Delete, Subject::store(&store), changes)?;
        Ok(contents)
    })
}
