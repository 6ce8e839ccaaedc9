//! Diesel models: one struct for reading each table, separate ones for
//! inserting and changing, and the queries that belong to each table as plain
//! functions over a connection, so several can share one transaction.
//!
//! Models do not derive `Serialize`: what leaves the process is built from
//! them by the views of each surface.

pub mod api_bookkeeping;
pub mod api_token;
pub mod audit;
pub mod event;
pub mod facets;
pub mod form_draft;
pub mod import;
pub mod item;
pub mod login_failure;
pub mod picture;
pub mod search;
pub mod second_factor;
pub mod session;
pub mod store;
pub mod tag;
pub mod user;
pub mod webhook;

pub use api_token::{ApiToken, NewApiToken};
pub use audit::{Action, AuditEntry, Entity, NewAuditEntry, Via};
pub use event::{EventKind, EventRange, Horizon, NewEvent, StoredEvent};
pub use form_draft::FormDraft;
pub use item::{Item, ItemChanges, ItemDetail, ItemFilter, ItemSort, ItemSortField, ItemSortKey, NewItem};
pub use login_failure::{Attempter, FailureCounts, LoginFailure, Tally};
pub use picture::{ItemPicture, NewItemPicture, NewPictureBytes, PictureBytes, PictureSize};
pub use session::{NewSession, Session, SessionKind};
pub use store::{NewStore, Store};
pub use tag::{ItemTag, NewTag, Tag, TagDetail, TagRef};
pub use user::UserFilter;
pub use user::{NewUser, Role, User};

/// The columns admin lists sort by; each list allows some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Email,
    Role,
    Price,
    CreatedAt,
    UpdatedAt,
}

impl SortKey {
    /// The key's word in URLs (`sort=-created_at`).
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Email => "email",
            SortKey::Role => "role",
            SortKey::Price => "price",
            SortKey::CreatedAt => "created_at",
            SortKey::UpdatedAt => "updated_at",
        }
    }
}

/// A column to sort an admin list by, already checked against the list's
/// allow-list, and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListSort {
    pub key: SortKey,
    pub descending: bool,
}

impl ListSort {
    pub fn ascending(key: SortKey) -> ListSort {
        ListSort { key, descending: false }
    }

    /// The sort as a query parameter: the key, `-` first when descending.
    pub fn param(self) -> String {
        if self.descending {
            format!("-{}", self.key.as_str())
        } else {
            self.key.as_str().to_owned()
        }
    }
}

/// A page of an admin list: `limit` rows past `offset`, matching `search`.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub search: Option<String>,
    pub sort: ListSort,
    pub offset: i64,
    pub limit: i64,
    /// Instead of a page in `sort`'s order: the first `limit` rows with ids
    /// above this one, by id, uncounted. Exports read a whole list this
    /// way, a batch at a time, at the same cost for the last batch as for
    /// the first.
    pub after: Option<i64>,
}

impl ListQuery {
    /// [`Total::of`] for a page; nothing for a batch, whose total nobody shows.
    pub fn total(
        &self,
        conn: &mut diesel::PgConnection,
        table: &'static str,
        filtered: bool,
        exact: impl FnOnce(&mut diesel::PgConnection) -> diesel::QueryResult<i64>,
    ) -> diesel::QueryResult<Total> {
        match self.after {
            Some(_) => Ok(Total { count: 0, approximate: false }),
            None => Total::of(conn, table, filtered, exact),
        }
    }
}

/// How many rows a list has: exact, or the planner's estimate for an
/// unfiltered list of a large table, where counting would read it all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    pub count: i64,
    pub approximate: bool,
}

/// Up to this many rows, lists count exactly.
pub const EXACT_COUNT_LIMIT: i64 = 100_000;

/// Up to this many rows, filtered lists (a search, a store's items) count
/// exactly; beyond, the planner estimates. Counting stops at the limit, so
/// a search that matches half a million items costs what one of a thousand
/// does: a name search reads about a million names a second, and one of a
/// common word in a million items must stay within milliseconds.
pub const EXACT_FILTERED_COUNT_LIMIT: i64 = 1_000;

/// `SELECT count(*) FROM (rows) AS counted`: how many rows a query gives,
/// bounded by the query's own `LIMIT`.
#[derive(Debug, Clone)]
pub struct CountOf<Q>(pub Q);

/// `EXPLAIN (FORMAT JSON) query`: the plan, for the planner's estimate of
/// how many rows the query gives.
#[derive(Debug, Clone)]
pub struct PlanOf<Q>(pub Q);

macro_rules! wrapping_query {
    ($name:ident: $sql_type:ty, $before:literal, $after:literal) => {
        impl<Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>>
            diesel::query_builder::QueryFragment<diesel::pg::Pg> for $name<Q>
        {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
            ) -> diesel::QueryResult<()> {
                out.push_sql($before);
                self.0.walk_ast(out.reborrow())?;
                out.push_sql($after);
                Ok(())
            }
        }

        impl<Q> diesel::query_builder::QueryId for $name<Q> {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }

        impl<Q> diesel::query_builder::Query for $name<Q> {
            type SqlType = $sql_type;
        }

        impl<Q> diesel::RunQueryDsl<diesel::PgConnection> for $name<Q> {}
    };
}

wrapping_query!(CountOf: diesel::sql_types::BigInt, "SELECT count(*) FROM (", ") AS counted");
wrapping_query!(PlanOf: diesel::sql_types::Json, "EXPLAIN (FORMAT JSON) ", "");

impl Total {
    /// The total of a filtered list whose rows `rows` selects: counted up
    /// to [`EXACT_FILTERED_COUNT_LIMIT`] (`capped` is `rows` limited to one
    /// more), the planner's estimate beyond, and never less than counted.
    pub fn of_filtered<Q, C>(
        conn: &mut diesel::PgConnection,
        rows: Q,
        capped: C,
    ) -> diesel::QueryResult<Total>
    where
        Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
        C: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
    {
        use diesel::RunQueryDsl;
        let counted: i64 = CountOf(capped).get_result(conn)?;
        Total::estimated_beyond_limit(conn, counted, rows)
    }

    /// `counted` rows of `rows` when that is within
    /// [`EXACT_FILTERED_COUNT_LIMIT`]; otherwise the planner's estimate of
    /// `rows`, and never less than counted.
    pub fn estimated_beyond_limit<Q>(
        conn: &mut diesel::PgConnection,
        counted: i64,
        rows: Q,
    ) -> diesel::QueryResult<Total>
    where
        Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
    {
        if counted <= EXACT_FILTERED_COUNT_LIMIT {
            return Ok(Total { count: counted, approximate: false });
        }
        let estimate = Total::planned(conn, rows)?;
        Ok(Total { count: estimate.max(counted), approximate: true })
    }

    /// The planner's estimate of how many rows `rows` gives.
    pub fn planned<Q>(conn: &mut diesel::PgConnection, rows: Q) -> diesel::QueryResult<i64>
    where
        Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>,
    {
        use diesel::RunQueryDsl;
        let plan: serde_json::Value = PlanOf(rows).get_result(conn)?;
        Ok(plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0) as i64)
    }

    /// Counts with `exact` when the list is filtered. An unfiltered list
    /// is counted by the database in the same round trip that looks at the
    /// table's size: exactly up to [`EXACT_COUNT_LIMIT`] rows, estimated above.
    pub fn of(
        conn: &mut diesel::PgConnection,
        table: &'static str,
        filtered: bool,
        exact: impl FnOnce(&mut diesel::PgConnection) -> diesel::QueryResult<i64>,
    ) -> diesel::QueryResult<Total> {
        use diesel::sql_types::{BigInt, Bool, Text};
        use diesel::RunQueryDsl;
        if filtered {
            return Ok(Total { count: exact(conn)?, approximate: false });
        }
        #[derive(diesel::QueryableByName)]
        struct Counted {
            #[diesel(sql_type = BigInt)]
            total: i64,
            #[diesel(sql_type = Bool)]
            approximate: bool,
        }
        let Counted { total, approximate } =
            diesel::sql_query("SELECT total, approximate FROM storefront_count_rows($1, $2)")
                .bind::<Text, _>(table)
                .bind::<BigInt, _>(EXACT_COUNT_LIMIT)
                .get_result(conn)?;
        Ok(Total { count: total, approximate })
    }
}

/// What a query builds as JSON (an object's tags, say), read straight from
/// the row's text into `T`, without an intermediate `serde_json::Value`.
#[derive(Debug, diesel::deserialize::FromSqlRow)]
pub(crate) struct JsonOf<T>(pub T);

/// An object's tags, as a query builds them.
pub(crate) type TagsJson = JsonOf<Vec<TagRef>>;

impl<T: serde::de::DeserializeOwned> diesel::deserialize::FromSql<diesel::sql_types::Json, diesel::pg::Pg>
    for JsonOf<T>
{
    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        Ok(JsonOf(serde_json::from_slice(value.as_bytes())?))
    }
}

/// Orders a boxed query by one of several columns chosen at run time, with
/// `id` breaking ties in the same direction.
macro_rules! order_by {
    ($query:expr, $sort:expr, $id:expr, { $($key:ident => $column:expr),+ $(,)? }) => {
        match ($sort.key, $sort.descending) {
            $(
                ($crate::models::SortKey::$key, false) => $query.order(($column.asc(), $id.asc())),
                ($crate::models::SortKey::$key, true) => $query.order(($column.desc(), $id.desc())),
            )+
            (_, false) => $query.order($id.asc()),
            (_, true) => $query.order($id.desc()),
        }
    };
}
pub(crate) use order_by;

/// Rows after `after` (exclusive) in the order of the listing, at most `limit`.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub after_id: Option<i64>,
}

diesel::define_sql_function! {
    /// PostgreSQL's `lower(text)`, for the case-insensitive unique indexes.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Implements diesel's text conversions for a fieldless enum stored as one
/// of a fixed set of words (the column has a matching `CHECK`).
macro_rules! text_enum {
    ($name:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            pub fn parse(word: &str) -> Option<$name> {
                match word { $($word => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    &mut out.reborrow(),
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let word = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(value)?;
                $name::parse(&word).ok_or_else(|| format!("unknown {}: {word}", stringify!($name)).into())
            }
        }
    };
}
pub(crate) use text_enum;

/// A correlated subquery of constant SQL, usable in `select`, for what the
/// query builder cannot say about the outer row (an item's tags as JSON, a
/// tag's item count). It names `$outer` of the outer row, so it goes wherever
/// that column may. Unlike `dsl::sql`, statements using it stay prepared.
macro_rules! correlated_subquery {
    ($(#[$doc:meta])* $name:ident: $sql_type:ty, on $outer:path, $sql:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
        pub struct $name;

        impl diesel::Expression for $name {
            type SqlType = $sql_type;
        }

        impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for $name {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
            ) -> diesel::QueryResult<()> {
                out.push_sql($sql);
                Ok(())
            }
        }

        impl<QS> diesel::AppearsOnTable<QS> for $name where $outer: diesel::AppearsOnTable<QS> {}
        impl<QS> diesel::SelectableExpression<QS> for $name where $outer: diesel::SelectableExpression<QS> {}
        impl diesel::expression::ValidGrouping<()> for $name {
            type IsAggregate = diesel::expression::is_aggregate::Never;
        }
    };
}
pub(crate) use correlated_subquery;
