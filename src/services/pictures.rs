//! An item's pictures as staff and owners change them: add one (already
//! prepared, see `crate::pictures`), describe it, move it, remove it. Each
//! change locks the item, is checked against the policy, rewrites what the
//! item shows of its pictures, counts in its version, and is audited and
//! published as the item's `item.updated` event, like any change to it.

use diesel::PgConnection;

use super::audit::{self, Action, Changes, Subject};
use super::not_found_as;
use crate::error::Error;
use crate::models::picture::{show_on_item, ShownPicture};
use crate::models::{Item, ItemDetail, ItemPicture, ItemTag, Store};
use crate::pictures::store::{attach, detach, Store as PictureStore};
use crate::pictures::Prepared;
use crate::policy::{self, Actor};

/// The longest alt text.
pub const MAX_ALT_CHARS: usize = 500;

/// Alt text as typed: trimmed, `None` when empty (the item's name then
/// says what the picture shows); refused when too long or holding control
/// characters.
pub fn alt_text(typed: Option<&str>) -> Result<Option<String>, Error> {
    let Some(typed) = typed.map(str::trim).filter(|text| !text.is_empty()) else { return Ok(None) };
    if typed.chars().count() > MAX_ALT_CHARS {
        return Err(Error::invalid("alt", format!("must be at most {MAX_ALT_CHARS} characters")));
    }
    if typed.chars().any(char::is_control) {
        return Err(Error::invalid("alt", "must not contain control characters"));
    }
    Ok(Some(typed.to_owned()))
}

/// The item, locked, once the actor may manage its store.
fn managed_item(conn: &mut PgConnection, actor: &Actor, item_id: i64) -> Result<(Item, Store), Error> {
    let item = Item::lock(conn, item_id).map_err(not_found_as("item"))?;
    let store = Store::find(conn, item.store_id)?;
    policy::manage_store(actor, &store)?;
    Ok((item, store))
}

fn picture_ids(item: &Item) -> Vec<i64> {
    ShownPicture::of(&item.pictures).iter().map(|picture| picture.id).collect()
}

/// Shows the pictures' change on the item, and audits and publishes it.
fn publish(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &Item,
    store: Store,
    what: Changes,
) -> Result<ItemDetail, Error> {
    let item = show_on_item(conn, before.id)?;
    let tags = ItemTag::tags_of(conn, &[item.id])?.remove(&item.id).unwrap_or_default();
    let changes = what.field("picture_ids", Some(picture_ids(before)), Some(picture_ids(&item)));
    let detail = ItemDetail { item, store_name: store.name, tags };
    audit::record(conn, actor, Action::Update, Subject::item(&detail), changes)?;
    Ok(detail)
}

/// Adds `prepared` as the item's last picture; returns the item and the
/// new picture's id.
pub fn add(
    conn: &mut PgConnection,
    store: &dyn PictureStore,
    actor: &Actor,
    item_id: i64,
    alt: Option<String>,
    prepared: &Prepared,
) -> Result<(ItemDetail, i64), Error> {
    crate::db::transaction(conn, |conn| {
        let (before, shop) = managed_item(conn, actor, item_id)?;
        let (picture, _) = attach(conn, store, item_id, alt.as_deref(), prepared)?;
        let detail = publish(conn, actor, &before, shop, Changes::new())?;
        Ok((detail, picture.id))
    })
}

/// What may change of a picture: its alt text (`Some(None)` clears it) and
/// its place among the item's pictures (from 0; past the end is the end).
#[derive(Debug, Default)]
pub struct PictureChanges {
    pub alt: Option<Option<String>>,
    pub position: Option<i64>,
}

/// Changes a picture of the item.
pub fn change(
    conn: &mut PgConnection,
    actor: &Actor,
    item_id: i64,
    picture_id: i64,
    changes: PictureChanges,
) -> Result<ItemDetail, Error> {
    crate::db::transaction(conn, |conn| {
        let (before, shop) = managed_item(conn, actor, item_id)?;
        let mut order = picture_ids(&before);
        let Some(at) = order.iter().position(|&id| id == picture_id) else {
            return Err(Error::NotFound("picture"));
        };
        if changes.alt.is_none() && changes.position.is_none() {
            return Err(Error::invalid("body", "must change at least one of alt, position"));
        }
        let mut audited = Changes::new();
        if let Some(alt) = &changes.alt {
            let old = ItemPicture::set_alt(conn, picture_id, alt.as_deref())?;
            audited = audited.field("alt", Some(old), Some(alt.clone()));
        }
        if let Some(position) = changes.position {
            if position < 0 {
                return Err(Error::invalid("position", "must be 0 or more"));
            }
            let id = order.remove(at);
            let to = usize::try_from(position).unwrap_or(usize::MAX).min(order.len());
            order.insert(to, id);
            ItemPicture::reorder(conn, item_id, &order)?;
        }
        publish(conn, actor, &before, shop, audited)
    })
}

/// Removes a picture of the item, and the bytes nothing else uses.
pub fn remove(
    conn: &mut PgConnection,
    store: &dyn PictureStore,
    actor: &Actor,
    item_id: i64,
    picture_id: i64,
) -> Result<ItemDetail, Error> {
    crate::db::transaction(conn, |conn| {
        let (before, shop) = managed_item(conn, actor, item_id)?;
        if !picture_ids(&before).contains(&picture_id) {
            return Err(Error::NotFound("picture"));
        }
        detach(conn, store, picture_id)?;
        publish(conn, actor, &before, shop, Changes::new())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alt_text_is_trimmed_and_bounded() {
        assert_eq!(alt_text(None).unwrap(), None);
        assert_eq!(alt_text(Some("  ")).unwrap(), None);
        assert_eq!(alt_text(Some(" The lid ")).unwrap().as_deref(), Some("The lid"));
        assert!(alt_text(Some(&"x".repeat(501))).is_err());
        assert!(alt_text(Some("a\u{0}b")).is_err());
        assert_eq!(alt_text(Some(&"é".repeat(500))).unwrap().map(|t| t.chars().count()), Some(500));
    }
}
