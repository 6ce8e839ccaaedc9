use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{order_by, ListQuery, PageRequest, Total};
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

/// The unique index behind "store names are unique, ignoring case".
pub const NAME_KEY: &str = "stores_name_key";

impl Store {
    pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Store> {
        stores::table.find(id).select(Store::as_select()).first(conn)
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

    /// Stores by name with how many items each has, in one query.
    pub fn by_name_with_item_counts(
        conn: &mut PgConnection,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<(Store, i64)>> {
        use crate::schema::items;
        let item_count =
            items::table.filter(items::store_id.eq(stores::id)).count().single_value().assume_not_null();
        stores::table
            .order((stores::name.asc(), stores::id.asc()))
            .offset(offset)
            .limit(limit)
            .select((Store::as_select(), item_count))
            .load(conn)
    }

    /// The admin list: stores whose name contains the search, each with
    /// its number of items, and how many match.
    pub fn admin_list(conn: &mut PgConnection, list: &ListQuery) -> QueryResult<(Vec<(Store, i64)>, Total)> {
        use crate::schema::items;
        let filtered = || {
            let mut query = stores::table.into_boxed();
            if let Some(search) = &list.search {
                query = query.filter(stores::name.ilike(like_pattern_containing(search)));
            }
            query
        };
        let total =
            Total::of(conn, "stores", list.search.is_some(), |conn| filtered().count().get_result(conn))?;
        let item_count =
            items::table.filter(items::store_id.eq(stores::id)).count().single_value().assume_not_null();
        let query = order_by!(filtered(), list.sort, stores::id, {
            "name" => stores::name,
            "created_at" => stores::created_at,
            "updated_at" => stores::updated_at,
        });
        let rows = query
            .offset(list.offset)
            .limit(list.limit)
            .select((Store::as_select(), item_count))
            .load(conn)?;
        Ok((rows, total))
    }

    /// The first `limit` stores by name, ids and names only: for pickers.
    pub fn names(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<(i64, String)>> {
        stores::table
            .order((stores::name.asc(), stores::id.asc()))
            .limit(limit)
            .select((stores::id, stores::name))
            .load(conn)
    }

    pub fn count_owned_by(conn: &mut PgConnection, user_id: i64) -> QueryResult<i64> {
        stores::table.filter(stores::owner_id.eq(user_id)).count().get_result(conn)
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
