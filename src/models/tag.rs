//! Tags of a store and their links to the store's items.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{order_by, ListQuery, PageRequest, Total};
use crate::schema::{item_tags, stores, tags};
use crate::text::like_pattern_containing;

/// A tag with its store's name and how many items carry it.
#[derive(Debug, Clone)]
pub struct TagDetail {
    pub tag: Tag,
    pub store_name: String,
    pub item_count: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tags, check_for_backend(diesel::pg::Pg))]
pub struct Tag {
    pub id: i64,
    pub store_id: i64,
    pub name: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A row of the admin list of tags: the tag, its store's name, its item count.
pub type TagListRow = (Tag, String, i64);

/// A tag as shown beside an item.
#[derive(Debug, Clone, PartialEq, Queryable, serde::Deserialize)]
pub struct TagRef {
    pub id: i64,
    pub name: String,
}

#[derive(Insertable)]
#[diesel(table_name = tags)]
pub struct NewTag<'a> {
    pub store_id: i64,
    pub name: &'a str,
}

/// The unique index behind "tag names are unique within a store, ignoring case".
pub const NAME_KEY: &str = "tags_store_name_key";

super::correlated_subquery! {
    /// How many items carry the row's tag.
    ItemCount: diesel::sql_types::BigInt, on tags::id,
    "(SELECT count(*) FROM item_tags it WHERE it.tag_id = tags.id)"
}

impl Tag {
    pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Tag> {
        tags::table.find(id).select(Tag::as_select()).first(conn)
    }

    /// The tag with its store's name and its item count, in one statement.
    pub fn find_with_store_name_and_count(
        conn: &mut PgConnection,
        id: i64,
    ) -> QueryResult<(Tag, String, i64)> {
        tags::table
            .inner_join(stores::table)
            .filter(tags::id.eq(id))
            .select((Tag::as_select(), stores::name, ItemCount))
            .first(conn)
    }

    pub fn lock(conn: &mut PgConnection, id: i64) -> QueryResult<Tag> {
        tags::table.find(id).select(Tag::as_select()).for_update().first(conn)
    }

    /// A store's tags in the order they were created, with how many items carry each.
    pub fn page_in_store(
        conn: &mut PgConnection,
        store_id: i64,
        page: PageRequest,
    ) -> QueryResult<Vec<(Tag, i64)>> {
        let tags = tags::table
            .filter(tags::store_id.eq(store_id))
            .filter(tags::id.gt(page.after_id.unwrap_or(0)))
            .order(tags::id.asc())
            .limit(page.limit)
            .select(Tag::as_select())
            .load(conn)?;
        let ids: Vec<i64> = tags.iter().map(|t| t.id).collect();
        let counts = ItemTag::counts(conn, &ids)?;
        Ok(tags
            .into_iter()
            .map(|tag| {
                let count = counts.get(&tag.id).copied().unwrap_or(0);
                (tag, count)
            })
            .collect())
    }

    /// The admin list: tags whose name contains the search, optionally of
    /// one store, with their store's name and item count.
    pub fn admin_list(
        conn: &mut PgConnection,
        list: &ListQuery,
        store_id: Option<i64>,
        owner: Option<i64>,
    ) -> QueryResult<(Vec<TagListRow>, Total)> {
        use crate::schema::stores;
        let filtered = || {
            let mut query = tags::table.into_boxed();
            if let Some(search) = &list.search {
                query = query.filter(tags::name.ilike(like_pattern_containing(search)));
            }
            if let Some(store_id) = store_id {
                query = query.filter(tags::store_id.eq(store_id));
            }
            if let Some(owner) = owner {
                let owned = stores::table.filter(stores::owner_id.eq(owner)).select(stores::id);
                query = query.filter(tags::store_id.eq_any(owned));
            }
            query
        };
        let narrowed = list.search.is_some() || store_id.is_some() || owner.is_some();
        let total = list.total(conn, "tags", narrowed, |conn| filtered().count().get_result(conn))?;
        let store_name = stores::table
            .filter(stores::id.eq(tags::store_id))
            .select(stores::name)
            .single_value()
            .assume_not_null();
        let query = match list.after {
            Some(after) => filtered().filter(tags::id.gt(after)).order(tags::id.asc()),
            None => order_by!(filtered(), list.sort, tags::id, {
                Name => tags::name,
                CreatedAt => tags::created_at,
            }),
        };
        let rows: Vec<(Tag, String)> =
            query.offset(list.offset).limit(list.limit).select((Tag::as_select(), store_name)).load(conn)?;
        let ids: Vec<i64> = rows.iter().map(|(t, _)| t.id).collect();
        let counts = ItemTag::counts(conn, &ids)?;
        let rows = rows
            .into_iter()
            .map(|(tag, store)| {
                let count = counts.get(&tag.id).copied().unwrap_or(0);
                (tag, store, count)
            })
            .collect();
        Ok((rows, total))
    }

    /// The tag called `name` (ignoring case) in each of `store_ids` that has one.
    pub fn named_in_stores(conn: &mut PgConnection, store_ids: &[i64], name: &str) -> QueryResult<Vec<Tag>> {
        tags::table
            .filter(tags::store_id.eq_any(store_ids))
            .filter(super::lower(tags::name).eq(super::lower(name)))
            .select(Tag::as_select())
            .load(conn)
    }

    /// The tags of `store_ids` named one of `names`, ignoring case.
    pub fn named_any_in_stores(
        conn: &mut PgConnection,
        store_ids: &[i64],
        names: &[String],
    ) -> QueryResult<Vec<Tag>> {
        let folded: Vec<String> = names.iter().map(|name| name.to_lowercase()).collect();
        tags::table
            .filter(tags::store_id.eq_any(store_ids))
            .filter(super::lower(tags::name).eq_any(folded))
            .select(Tag::as_select())
            .load(conn)
    }

    /// All of a store's tags by name, for pickers.
    pub fn all_in_store(conn: &mut PgConnection, store_id: i64) -> QueryResult<Vec<Tag>> {
        tags::table
            .filter(tags::store_id.eq(store_id))
            .order((tags::name.asc(), tags::id.asc()))
            .select(Tag::as_select())
            .load(conn)
    }

    pub fn count(conn: &mut PgConnection) -> QueryResult<i64> {
        tags::table.count().get_result(conn)
    }

    /// The distinct names of tags across the stores, by name: the first `limit`.
    pub fn distinct_names(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<String>> {
        tags::table.select(tags::name).distinct().order(tags::name.asc()).limit(limit).load(conn)
    }

    /// The names of the tags of `ids` that exist.
    pub fn names_of(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<HashMap<i64, String>> {
        let rows: Vec<(i64, String)> =
            tags::table.filter(tags::id.eq_any(ids)).select((tags::id, tags::name)).load(conn)?;
        Ok(rows.into_iter().collect())
    }

    /// The ids and names of a store's first `limit` tags by name.
    pub fn names_in_store(
        conn: &mut PgConnection,
        store_id: i64,
        limit: i64,
    ) -> QueryResult<Vec<(i64, String)>> {
        tags::table
            .filter(tags::store_id.eq(store_id))
            .order((tags::name.asc(), tags::id.asc()))
            .limit(limit)
            .select((tags::id, tags::name))
            .load(conn)
    }

    pub fn count_in_store(conn: &mut PgConnection, store_id: i64) -> QueryResult<i64> {
        tags::table.filter(tags::store_id.eq(store_id)).count().get_result(conn)
    }

    /// Those of `ids` that are tags of `store_id`.
    pub fn ids_in_store(conn: &mut PgConnection, store_id: i64, ids: &[i64]) -> QueryResult<Vec<i64>> {
        tags::table
            .filter(tags::store_id.eq(store_id))
            .filter(tags::id.eq_any(ids))
            .select(tags::id)
            .load(conn)
    }

    pub fn rename(conn: &mut PgConnection, id: i64, name: &str) -> QueryResult<Tag> {
        diesel::update(tags::table.find(id))
            .set((
                tags::name.eq(name),
                tags::version.eq(tags::version + 1),
                tags::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Tag::as_returning())
            .get_result(conn)
    }

    pub fn delete(conn: &mut PgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(tags::table.find(id)).execute(conn)
    }
}

impl NewTag<'_> {
    pub fn insert(&self, conn: &mut PgConnection) -> QueryResult<Tag> {
        diesel::insert_into(tags::table).values(self).returning(Tag::as_returning()).get_result(conn)
    }
}

/// The links between items and tags.
pub struct ItemTag;

impl ItemTag {
    /// The tags of each of `item_ids`, by name, in one query.
    pub fn tags_of(conn: &mut PgConnection, item_ids: &[i64]) -> QueryResult<HashMap<i64, Vec<TagRef>>> {
        let rows: Vec<(i64, TagRef)> = item_tags::table
            .inner_join(tags::table)
            .filter(item_tags::item_id.eq_any(item_ids))
            .order((tags::name.asc(), tags::id.asc()))
            .select((item_tags::item_id, (tags::id, tags::name)))
            .load(conn)?;
        let mut by_item: HashMap<i64, Vec<TagRef>> = HashMap::new();
        for (item_id, tag) in rows {
            by_item.entry(item_id).or_default().push(tag);
        }
        Ok(by_item)
    }

    /// How many items carry each of `tag_ids`, in one query.
    pub fn counts(conn: &mut PgConnection, tag_ids: &[i64]) -> QueryResult<HashMap<i64, i64>> {
        let rows: Vec<(i64, i64)> = item_tags::table
            .filter(item_tags::tag_id.eq_any(tag_ids))
            .group_by(item_tags::tag_id)
            .select((item_tags::tag_id, diesel::dsl::count_star()))
            .load(conn)?;
        Ok(rows.into_iter().collect())
    }

    /// Links the item to each tag; links that exist already are left alone.
    /// Returns how many links are new.
    pub fn link(conn: &mut PgConnection, item_id: i64, store_id: i64, tag_ids: &[i64]) -> QueryResult<usize> {
        let rows: Vec<_> = tag_ids
            .iter()
            .map(|&tag_id| {
                (
                    item_tags::item_id.eq(item_id),
                    item_tags::tag_id.eq(tag_id),
                    item_tags::store_id.eq(store_id),
                )
            })
            .collect();
        diesel::insert_into(item_tags::table).values(rows).on_conflict_do_nothing().execute(conn)
    }

    /// Links each `(item, tag, store)` in one statement (those linked already stay).
    pub fn link_all(conn: &mut PgConnection, links: &[(i64, i64, i64)]) -> QueryResult<usize> {
        let rows: Vec<_> = links
            .iter()
            .map(|&(item_id, tag_id, store_id)| {
                (
                    item_tags::item_id.eq(item_id),
                    item_tags::tag_id.eq(tag_id),
                    item_tags::store_id.eq(store_id),
                )
            })
            .collect();
        rows.chunks(10_000).try_fold(0, |sum, chunk| {
            Ok(sum
                + diesel::insert_into(item_tags::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(conn)?)
        })
    }

    pub fn unlink(conn: &mut PgConnection, item_id: i64, tag_id: i64) -> QueryResult<usize> {
        diesel::delete(
            item_tags::table.filter(item_tags::item_id.eq(item_id)).filter(item_tags::tag_id.eq(tag_id)),
        )
        .execute(conn)
    }

    pub fn count_in_store(conn: &mut PgConnection, store_id: i64) -> QueryResult<i64> {
        item_tags::table.filter(item_tags::store_id.eq(store_id)).count().get_result(conn)
    }

    pub fn count_for_tag(conn: &mut PgConnection, tag_id: i64) -> QueryResult<i64> {
        item_tags::table.filter(item_tags::tag_id.eq(tag_id)).count().get_result(conn)
    }
}
