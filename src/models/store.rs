//! Stores: the catalogue's top level, owned by a user, with the lists and
//! pickers that show them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{order_by, ListQuery, PageRequest, TagRef, Total};
use crate::schema::stores;
use crate::text::like_pattern_containing;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = stores, check_for_backend(diesel::pg::Pg))]
pub struct Store {
    pub id: i64,
    pub name: String,
    pub owner_id: Option<i64>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = stores)]
pub struct NewStore<'a> {
    pub name: &'a str,
    pub owner_id: Option<i64>,
}

/// A store's id and name, for pickers.
pub type StoreName = (i64, String);

/// The unique index behind "store names are unique, ignoring case".
pub const NAME_KEY: &str = "stores_name_key";

impl Store {
    pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Store> {
        stores::table.find(id).select(Store::as_select()).first(conn)
    }

    /// The stores of `ids` that exist, by id.
    pub fn find_all(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<Store>> {
        stores::table
            .filter(stores::id.eq_any(ids))
            .order(stores::id.asc())
            .select(Store::as_select())
            .load(conn)
    }

    /// The stores named one of `names`, ignoring case.
    pub fn find_named(conn: &mut PgConnection, names: &[String]) -> QueryResult<Vec<Store>> {
        let folded: Vec<String> = names.iter().map(|name| name.to_lowercase()).collect();
        stores::table.filter(super::lower(stores::name).eq_any(folded)).select(Store::as_select()).load(conn)
    }

    /// Reads the store and locks it until the end of the transaction.
    pub fn lock(conn: &mut PgConnection, id: i64) -> QueryResult<Store> {
        stores::table.find(id).select(Store::as_select()).for_update().first(conn)
    }

    /// Stores in the order they were created.
    pub fn page(conn: &mut PgConnection, page: PageRequest) -> QueryResult<Vec<Store>> {
        stores::table
            .filter(stores::id.gt(page.after_id.unwrap_or(0)))
            .order(stores::id.asc())
            .limit(page.limit)
            .select(Store::as_select())
            .load(conn)
    }

    /// Stores by name with how many items each has, counted up to one
    /// more than [`EXACT_FILTERED_COUNT_LIMIT`](super::EXACT_FILTERED_COUNT_LIMIT), in one query.
    pub fn by_name_with_item_counts(
        conn: &mut PgConnection,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<(Store, i64)>> {
        stores::table
            .order((stores::name.asc(), stores::id.asc()))
            .offset(offset)
            .limit(limit)
            .select((Store::as_select(), ItemsCountedUpToLimit))
            .load(conn)
    }

    /// The store with its tags by name and its items counted up to one more
    /// than [`EXACT_FILTERED_COUNT_LIMIT`](super::EXACT_FILTERED_COUNT_LIMIT), in one statement.
    pub fn find_with_tags_and_item_count(
        conn: &mut PgConnection,
        id: i64,
    ) -> QueryResult<(Store, Vec<TagRef>, i64)> {
        let (store, super::JsonOf(tags), items): (Store, super::TagsJson, i64) = stores::table
            .find(id)
            .select((Store::as_select(), StoreTagsAsJson, ItemsCountedUpToLimit))
            .first(conn)?;
        Ok((store, tags, items))
    }

    /// The admin list: stores whose name contains the search (and, with
    /// `owner`, that this user owns), each with its number of items, and how
    /// many match.
    pub fn admin_list(
        conn: &mut PgConnection,
        list: &ListQuery,
        owner: Option<i64>,
    ) -> QueryResult<(Vec<(Store, i64)>, Total)> {
        use crate::schema::items;
        let filtered = || {
            let mut query = stores::table.into_boxed();
            if let Some(search) = &list.search {
                query = query.filter(stores::name.ilike(like_pattern_containing(search)));
            }
            if let Some(owner) = owner {
                query = query.filter(stores::owner_id.eq(owner));
            }
            query
        };
        let narrowed = list.search.is_some() || owner.is_some();
        let total = list.total(conn, "stores", narrowed, |conn| filtered().count().get_result(conn))?;
        let item_count =
            items::table.filter(items::store_id.eq(stores::id)).count().single_value().assume_not_null();
        let query = match list.after {
            Some(after) => filtered().filter(stores::id.gt(after)).order(stores::id.asc()),
            None => order_by!(filtered(), list.sort, stores::id, {
                Name => stores::name,
                CreatedAt => stores::created_at,
                UpdatedAt => stores::updated_at,
            }),
        };
        let rows = query
            .offset(list.offset)
            .limit(list.limit)
            .select((Store::as_select(), item_count))
            .load(conn)?;
        Ok((rows, total))
    }

    /// The first `limit` stores by name (of `owner` only, if given), ids
    /// and names only: for pickers.
    pub fn names(conn: &mut PgConnection, limit: i64, owner: Option<i64>) -> QueryResult<Vec<StoreName>> {
        let mut query = stores::table.into_boxed();
        if let Some(owner) = owner {
            query = query.filter(stores::owner_id.eq(owner));
        }
        query
            .order((stores::name.asc(), stores::id.asc()))
            .limit(limit)
            .select((stores::id, stores::name))
            .load(conn)
    }

    /// The first `limit` stores by name, and the tags of `selected` when it
    /// is among them, in one statement: for a store picker with a tag
    /// picker beside it.
    pub fn names_and_tags_of(
        conn: &mut PgConnection,
        limit: i64,
        selected: Option<i64>,
        owner: Option<i64>,
    ) -> QueryResult<(Vec<StoreName>, Vec<TagRef>)> {
        let tags_of_selected =
            diesel::dsl::case_when(stores::id.nullable().eq(selected), StoreTagsAsJson.nullable());
        let mut query = stores::table.into_boxed();
        if let Some(owner) = owner {
            query = query.filter(stores::owner_id.eq(owner));
        }
        let rows: Vec<(i64, String, Option<super::TagsJson>)> = query
            .order((stores::name.asc(), stores::id.asc()))
            .limit(limit)
            .select((stores::id, stores::name, tags_of_selected))
            .load(conn)?;
        let mut tags = Vec::new();
        let mut names = Vec::with_capacity(rows.len());
        for (id, name, store_tags) in rows {
            if let Some(super::JsonOf(store_tags)) = store_tags {
                tags = store_tags;
            }
            names.push((id, name));
        }
        Ok((names, tags))
    }

    /// How many stores the users of `user_ids` own between them.
    pub fn count_owned_by(conn: &mut PgConnection, user_ids: &[i64]) -> QueryResult<i64> {
        stores::table.filter(stores::owner_id.eq_any(user_ids)).count().get_result(conn)
    }

    /// The names of the stores of `ids` that exist.
    pub fn names_of(
        conn: &mut PgConnection,
        ids: &[i64],
    ) -> QueryResult<std::collections::HashMap<i64, String>> {
        let rows: Vec<(i64, String)> =
            stores::table.filter(stores::id.eq_any(ids)).select((stores::id, stores::name)).load(conn)?;
        Ok(rows.into_iter().collect())
    }

    pub fn count(conn: &mut PgConnection) -> QueryResult<i64> {
        stores::table.count().get_result(conn)
    }

    pub fn rename(conn: &mut PgConnection, id: i64, name: &str) -> QueryResult<Store> {
        diesel::update(stores::table.find(id))
            .set((
                stores::name.eq(name),
                stores::version.eq(stores::version + 1),
                stores::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Store::as_returning())
            .get_result(conn)
    }

    /// Leaves every store of `user_id` without an owner (before the user is
    /// deleted, which would do the same without saying which changed).
    pub fn disown_all_of(conn: &mut PgConnection, user_id: i64) -> QueryResult<Vec<Store>> {
        diesel::update(stores::table.filter(stores::owner_id.eq(user_id)))
            .set((
                stores::owner_id.eq(None::<i64>),
                stores::version.eq(stores::version + 1),
                stores::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Store::as_returning())
            .get_results(conn)
    }

    /// Deletes the store; its items, tags and links go with it.
    pub fn delete(conn: &mut PgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(stores::table.find(id)).execute(conn)
    }
}

impl NewStore<'_> {
    pub fn insert(&self, conn: &mut PgConnection) -> QueryResult<Store> {
        diesel::insert_into(stores::table).values(self).returning(Store::as_returning()).get_result(conn)
    }
}

super::correlated_subquery! {
    /// How many items the row's store has, counted up to one more than
    /// [`EXACT_FILTERED_COUNT_LIMIT`](super::EXACT_FILTERED_COUNT_LIMIT): a directory of large stores costs
    /// what one of small ones does.
    ItemsCountedUpToLimit: diesel::sql_types::BigInt, on stores::id,
    "(SELECT count(*) FROM (SELECT 1 FROM items i WHERE i.store_id = stores.id LIMIT 1001) AS counted)"
}

super::correlated_subquery! {
    /// The tags of the row's store, by name, as a JSON array of `{id, name}`.
    StoreTagsAsJson: diesel::sql_types::Json, on stores::id,
    "(SELECT coalesce(json_agg(json_build_object('id', t.id, 'name', t.name) ORDER BY t.name, t.id), '[]') \
     FROM tags t WHERE t.store_id = stores.id)"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::EXACT_FILTERED_COUNT_LIMIT;

    #[test]
    fn item_counts_stop_one_past_the_exact_limit() {
        let sql = diesel::debug_query::<diesel::pg::Pg, _>(&stores::table.select(ItemsCountedUpToLimit))
            .to_string();
        assert!(sql.contains(&format!("LIMIT {})", EXACT_FILTERED_COUNT_LIMIT + 1)), "{sql}");
    }
}
