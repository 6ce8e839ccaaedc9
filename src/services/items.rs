//! Items: the filtered listing, details with store and tags, and changes.

use diesel::prelude::*;

use super::audit::{self, Action, Changes, Subject};
use super::{not_found_as, tags};
use crate::error::{Error, FieldErrors};
use crate::models::item::Scored;
use crate::models::search;
use crate::models::{
    Item, ItemChanges, ItemFilter, ItemSort, ItemSortKey, ItemTag, NewItem, Store, TagRef, Total,
};
use crate::policy::{self, Actor};
use crate::price::Price;
use crate::text;

pub use crate::models::ItemDetail;

/// An item as typed by a user, before validation. Prices are decimal text.
#[derive(Debug, Clone, Default)]
pub struct ItemInput {
    pub name: Option<String>,
    pub price: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    /// When given, exactly the tags the item carries afterwards (of its store).
    pub tag_ids: Option<Vec<i64>>,
}

impl ItemInput {
    /// Validates every given field at once; `required` fields must be given.
    fn validate(&self, required: &[&str]) -> Result<ItemChanges, Error> {
        let mut errors = FieldErrors::new();
        for field in required {
            let given = match *field {
                "name" => self.name.is_some(),
                "price" => self.price.is_some(),
                _ => self.description.is_some(),
            };
            if !given {
                errors.insert((*field).to_owned(), "is required".to_owned());
            }
        }
        let name = self
            .name
            .as_deref()
            .map(|raw| text::required_line("name", raw, text::ITEM_NAME_MAX, &mut errors));
        let price = self.price.as_deref().map(|raw| match Price::parse(raw) {
            Ok(price) => Some(price),
            Err(why) => {
                errors.insert("price".into(), why.to_string());
                None
            }
        });
        let description = self.description.as_ref().map(|raw| {
            raw.as_deref().and_then(|raw| {
                text::optional_paragraphs("description", raw, text::DESCRIPTION_MAX, &mut errors)
            })
        });
        Error::check(errors)?;
        Ok(ItemChanges { name: name.flatten(), price: price.flatten(), description })
    }
}

/// One item as every surface shows it, in one statement.
pub fn detail(conn: &mut PgConnection, id: i64) -> Result<ItemDetail, Error> {
    let (item, store_name, tags) =
        Item::find_with_store_name_and_tags(conn, id).map_err(not_found_as("item"))?;
    Ok(ItemDetail { item, store_name, tags })
}

/// An item as the panel opens it: for whoever may manage its store (403
/// else); staff without looking the store up.
pub fn detail_managed(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<ItemDetail, Error> {
    let detail = detail(conn, id)?;
    if policy::panel_scope(actor).is_some() {
        let store = Store::find(conn, detail.item.store_id)?;
        policy::open_in_panel(actor, &store)?;
    }
    Ok(detail)
}

/// Which page of a listing: `limit` rows after a keyset position or past an offset.
#[derive(Debug, Clone)]
pub struct ItemPage {
    pub after: Option<(ItemSortKey, i64)>,
    pub offset: i64,
    pub limit: i64,
}

/// One page of items with their stores and tags, and how many match, in
/// one statement whatever the page size (two when more match than are
/// counted). The total is exact up to a limit and the planner's estimate
/// beyond (see [`Item::page_with_total`]): counting them all would dominate
/// every request.
pub fn list(
    conn: &mut PgConnection,
    filter: &ItemFilter,
    sort: ItemSort,
    page: ItemPage,
) -> Result<(Vec<ItemDetail>, Total), Error> {
    let found = search(conn, filter, sort, page)?;
    Ok((found.items, found.total))
}

/// What a listing found: a page of items, each one's score in a relevance
/// order (0 in others), and how many match.
#[derive(Debug)]
pub struct Found {
    pub items: Vec<ItemDetail>,
    pub scores: Vec<f32>,
    pub total: Total,
    /// No item had the typed words, and these are the first page of items
    /// with these instead: the words corrected to the catalogue's own
    /// ("did you mean").
    pub corrected: Option<String>,
}

/// [`list`], and when the typed words find nothing on the first page, the
/// first page for the words corrected (see [`search::correction`]), if
/// they find something.
pub fn search(
    conn: &mut PgConnection,
    filter: &ItemFilter,
    sort: ItemSort,
    page: ItemPage,
) -> Result<Found, Error> {
    let first_page = page.after.is_none() && page.offset == 0;
    let (rows, total) = Item::page_with_total(conn, filter, sort, page.after, page.offset, page.limit)?;
    if let (true, true, Some(typed)) = (rows.is_empty(), first_page, &filter.words) {
        if let Some(corrected) = search::correction(conn, typed)? {
            let instead = ItemFilter { words: Some(corrected.clone()), ..filter.clone() };
            let (rows, total) = Item::page_with_total(conn, &instead, sort, None, 0, page.limit)?;
            if !rows.is_empty() {
                return Ok(Found { total, corrected: Some(corrected), ..Found::of(rows) });
            }
        }
    }
    Ok(Found { total, ..Found::of(rows) })
}

impl Found {
    fn of(rows: Vec<Scored>) -> Found {
        let (items, scores) = rows
            .into_iter()
            .map(|((item, store_name, tags), score)| (ItemDetail { item, store_name, tags }, score))
            .unzip();
        Found { items, scores, total: Total { count: 0, approximate: false }, corrected: None }
    }
}

pub(super) fn item_changes(before: Option<&Item>, after: Option<&Item>) -> Changes {
    Changes::new()
        .field("name", before.map(|i| &i.name), after.map(|i| &i.name))
        .field("price", before.map(|i| i.price.to_string()), after.map(|i| i.price.to_string()))
        .field("description", before.map(|i| &i.description), after.map(|i| &i.description))
}

/// Creates an item in a store the actor manages, with the tags of
/// `input.tag_ids` if given. Name and price are required.
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    store_id: i64,
    input: ItemInput,
) -> Result<ItemDetail, Error> {
    crate::db::transaction(conn, |conn| {
        let store = Store::find(conn, store_id).map_err(not_found_as("store"))?;
        policy::manage_store(actor, &store)?;
        let changes = input.validate(&["name", "price"])?;
        let (Some(name), Some(price)) = (changes.name, changes.price) else {
            return Err(Error::Internal("validated item without name or price".into()));
        };
        let item =
            NewItem { store_id, name, price, description: changes.description.flatten() }.insert(conn)?;
        let mut audited = item_changes(None, Some(&item));
        let mut tags = Vec::new();
        if let Some(tag_ids) = input.tag_ids.filter(|ids| !ids.is_empty()) {
            let after = tags::replace_links(conn, item.id, store_id, &tag_ids)?;
            audited = audited.field("tag_ids", None, Some(tag_ids_of(&after)));
            tags = after;
        }
        let detail = ItemDetail { item, store_name: store.name, tags };
        audit::record(conn, actor, Action::Create, Subject::item(&detail), audited)?;
        Ok(detail)
    })
}

/// The ids of `tags`, as audit records list them.
pub(super) fn tag_ids_of(tags: &[TagRef]) -> Vec<i64> {
    tags.iter().map(|t| t.id).collect()
}

/// Changes the given fields of an item. `precondition` sees the current
/// item, locked, and may refuse the change.
pub fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    input: ItemInput,
    precondition: impl FnOnce(&ItemDetail) -> Result<(), Error>,
) -> Result<ItemDetail, Error> {
    crate::db::transaction(conn, |conn| {
        let current = Item::lock(conn, id).map_err(not_found_as("item"))?;
        let store = Store::find(conn, current.store_id)?;
        policy::manage_store(actor, &store)?;
        let changes = input.validate(&[])?;
        let tags = ItemTag::tags_of(conn, &[id])?.remove(&id).unwrap_or_default();
        let before = ItemDetail { item: current, store_name: store.name, tags };
        precondition(&before)?;
        if changes.is_empty() && input.tag_ids.is_none() {
            return Err(Error::invalid("body", "must change at least one of name, price, description"));
        }
        let item = Item::update(conn, id, &changes)?;
        let mut audited = item_changes(Some(&before.item), Some(&item));
        let mut after = ItemDetail { item, ..before.clone() };
        if let Some(tag_ids) = &input.tag_ids {
            let tags = tags::replace_links(conn, id, after.item.store_id, tag_ids)?;
            audited = audited.field("tag_ids", Some(tag_ids_of(&before.tags)), Some(tag_ids_of(&tags)));
            after.tags = tags;
        }
        audit::record(conn, actor, Action::Update, Subject::item(&after), audited)?;
        Ok(after)
    })
}

pub fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<(), Error> {
    crate::db::transaction(conn, |conn| {
        let item = Item::lock(conn, id).map_err(not_found_as("item"))?;
        let store = Store::find(conn, item.store_id)?;
        policy::manage_store(actor, &store)?;
        let digests = crate::models::ItemPicture::digests_of_item(conn, id)?;
        Item::delete(conn, id)?;
        crate::pictures::store::configured().forget_unused(conn, &digests)?;
        audit::record(
            conn,
            actor,
            Action::Delete,
            Subject::deleted_item(&item),
            item_changes(Some(&item), None),
        )?;
        Ok(())
    })
}
