//! Pictures of items (`item_pictures`, with their sizes in
//! `item_picture_sizes`) and the bytes of those sizes (`picture_blobs`),
//! stored once per content. See `crate::pictures` for what an upload is
//! made into.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::schema::{item_picture_sizes, item_pictures, items, picture_blobs};

/// A picture as the item's row keeps it for showing (`items.pictures`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ShownPicture {
    pub id: i64,
    pub alt: Option<String>,
    pub width: i32,
    pub height: i32,
    /// Smallest first.
    pub sizes: Vec<ShownSize>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ShownSize {
    pub width: i32,
    pub height: i32,
    pub digest: String,
    #[serde(rename = "type")]
    pub content_type: String,
}

impl ShownPicture {
    /// The pictures an item's row holds; none if it holds something else.
    pub fn of(pictures: &serde_json::Value) -> Vec<ShownPicture> {
        serde::Deserialize::deserialize(pictures).unwrap_or_default()
    }
}

/// The most pictures one item may have.
pub const MAX_PER_ITEM: i64 = 10;

/// Bytes as kept, with what they are.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = picture_blobs, check_for_backend(diesel::pg::Pg))]
pub struct PictureBytes {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Bytes to keep under their SHA-256 (`digest`, hexadecimal).
#[derive(Debug, Insertable)]
#[diesel(table_name = picture_blobs)]
pub struct NewPictureBytes<'a> {
    pub digest: &'a str,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

impl NewPictureBytes<'_> {
    /// Keeps the bytes unless bytes of that digest are kept already (the
    /// same picture uploaded twice, by anyone, is stored once).
    pub fn insert(&self, conn: &mut PgConnection) -> QueryResult<()> {
        diesel::insert_into(picture_blobs::table).values(self).on_conflict_do_nothing().execute(conn)?;
        Ok(())
    }
}

impl PictureBytes {
    pub fn find(conn: &mut PgConnection, digest: &str) -> QueryResult<Option<PictureBytes>> {
        picture_blobs::table.find(digest).select(PictureBytes::as_select()).first(conn).optional()
    }

    /// Deletes the bytes of `digests` that no picture uses any more;
    /// returns how many went.
    pub fn forget_unused(conn: &mut PgConnection, digests: &[String]) -> QueryResult<usize> {
        let used = item_picture_sizes::table.select(item_picture_sizes::digest);
        diesel::delete(picture_blobs::table)
            .filter(picture_blobs::digest.eq_any(digests))
            .filter(picture_blobs::digest.ne_all(used))
            .execute(conn)
    }
}

/// One picture of an item.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = item_pictures, check_for_backend(diesel::pg::Pg))]
pub struct ItemPicture {
    pub id: i64,
    pub item_id: i64,
    pub position: i32,
    /// `None`: the item's name says what it shows.
    pub alt: Option<String>,
    pub width: i32,
    pub height: i32,
    pub created_at: DateTime<Utc>,
}

/// One size made of a picture, and where its bytes are.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = item_picture_sizes, check_for_backend(diesel::pg::Pg))]
pub struct PictureSize {
    pub picture_id: i64,
    pub width: i32,
    pub height: i32,
    pub digest: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = item_pictures)]
pub struct NewItemPicture<'a> {
    pub item_id: i64,
    pub position: i32,
    pub alt: Option<&'a str>,
    pub width: i32,
    pub height: i32,
}

impl NewItemPicture<'_> {
    pub fn insert(&self, conn: &mut PgConnection) -> QueryResult<ItemPicture> {
        diesel::insert_into(item_pictures::table)
            .values(self)
            .returning(ItemPicture::as_returning())
            .get_result(conn)
    }
}

impl ItemPicture {
    /// How many pictures the item has, and the position after the last.
    pub fn count_and_next_position(conn: &mut PgConnection, item_id: i64) -> QueryResult<(i64, i32)> {
        let (count, last) = item_pictures::table
            .filter(item_pictures::item_id.eq(item_id))
            .select((diesel::dsl::count_star(), diesel::dsl::max(item_pictures::position)))
            .get_result::<(i64, Option<i32>)>(conn)?;
        Ok((count, last.map_or(0, |last| last + 1)))
    }

    /// The pictures of `item_ids`, in order, each with its sizes smallest
    /// first: two statements, however many items.
    pub fn of_items(
        conn: &mut PgConnection,
        item_ids: &[i64],
    ) -> QueryResult<Vec<(ItemPicture, Vec<PictureSize>)>> {
        let pictures: Vec<ItemPicture> = item_pictures::table
            .filter(item_pictures::item_id.eq_any(item_ids))
            .order((item_pictures::item_id, item_pictures::position))
            .select(ItemPicture::as_select())
            .load(conn)?;
        let ids: Vec<i64> = pictures.iter().map(|picture| picture.id).collect();
        let mut sizes: std::collections::HashMap<i64, Vec<PictureSize>> = std::collections::HashMap::new();
        let rows: Vec<PictureSize> = item_picture_sizes::table
            .filter(item_picture_sizes::picture_id.eq_any(&ids))
            .order((item_picture_sizes::picture_id, item_picture_sizes::width))
            .select(PictureSize::as_select())
            .load(conn)?;
        for size in rows {
            sizes.entry(size.picture_id).or_default().push(size);
        }
        Ok(pictures
            .into_iter()
            .map(|picture| {
                let own = sizes.remove(&picture.id).unwrap_or_default();
                (picture, own)
            })
            .collect())
    }

    /// Sets the picture's alt text; returns the one it had.
    pub fn set_alt(conn: &mut PgConnection, id: i64, alt: Option<&str>) -> QueryResult<Option<String>> {
        let old = item_pictures::table.find(id).select(item_pictures::alt).first(conn)?;
        diesel::update(item_pictures::table.find(id)).set(item_pictures::alt.eq(alt)).execute(conn)?;
        Ok(old)
    }

    /// Places the item's pictures in the order of `ids` (every one of them).
    /// The positions' uniqueness is checked at commit, so they may swap.
    pub fn reorder(conn: &mut PgConnection, item_id: i64, ids: &[i64]) -> QueryResult<()> {
        for (position, id) in ids.iter().enumerate() {
            diesel::update(item_pictures::table.find(id))
                .filter(item_pictures::item_id.eq(item_id))
                .set(item_pictures::position.eq(i32::try_from(position).unwrap_or(i32::MAX)))
                .execute(conn)?;
        }
        Ok(())
    }

    /// The digests of every size of the pictures of the items of the
    /// store: what deleting the store may leave unused.
    pub fn digests_of_store(conn: &mut PgConnection, store_id: i64) -> QueryResult<Vec<String>> {
        item_picture_sizes::table
            .inner_join(item_pictures::table.inner_join(items::table))
            .filter(items::store_id.eq(store_id))
            .select(item_picture_sizes::digest)
            .load(conn)
    }

    /// Deletes the picture; returns the digests of its sizes, for
    /// [`PictureBytes::forget_unused`].
    pub fn delete(conn: &mut PgConnection, id: i64) -> QueryResult<Vec<String>> {
        let digests = item_picture_sizes::table
            .filter(item_picture_sizes::picture_id.eq(id))
            .select(item_picture_sizes::digest)
            .load(conn)?;
        diesel::delete(item_pictures::table.find(id)).execute(conn)?;
        Ok(digests)
    }

    /// The digests of every size of the item's pictures: what deleting the
    /// item may leave unused.
    pub fn digests_of_item(conn: &mut PgConnection, item_id: i64) -> QueryResult<Vec<String>> {
        item_picture_sizes::table
            .inner_join(item_pictures::table)
            .filter(item_pictures::item_id.eq(item_id))
            .select(item_picture_sizes::digest)
            .load(conn)
    }
}

/// Writes the item's pictures, as they now are, into its row
/// (`items.pictures`), and counts the change in its version.
pub fn show_on_item(conn: &mut PgConnection, item_id: i64) -> QueryResult<super::Item> {
    diesel::sql_query(
        "UPDATE items SET version = version + 1, updated_at = now(), pictures = coalesce(( \
             SELECT jsonb_agg(jsonb_build_object('id', p.id, 'alt', p.alt, 'width', p.width, \
                 'height', p.height, 'sizes', ( \
                     SELECT coalesce(jsonb_agg(jsonb_build_object('width', s.width, 'height', s.height, \
                         'digest', s.digest, 'type', b.content_type) ORDER BY s.width), '[]') \
                     FROM item_picture_sizes s JOIN picture_blobs b ON b.digest = s.digest \
                     WHERE s.picture_id = p.id)) ORDER BY p.position) \
             FROM item_pictures p WHERE p.item_id = items.id), '[]') \
         WHERE id = $1 \
         RETURNING id, store_id, name, description, price, version, created_at, updated_at, pictures",
    )
    .bind::<diesel::sql_types::BigInt, _>(item_id)
    .get_result(conn)
}
