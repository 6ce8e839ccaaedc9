//! Items of a store: reading one with its store and tags, filtered and
//! sorted pages with their totals, and changes.

use chrono::{DateTime, Utc};
use diesel::dsl::exists;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Float, Nullable, Numeric, Text, Timestamptz};

use super::search::{Finds, Score};
use super::{JsonOf, TagRef, Total, EXACT_COUNT_LIMIT, EXACT_FILTERED_COUNT_LIMIT};
use crate::price::Price;
use crate::schema::{item_tags, items, stores, tags};
use crate::text::like_pattern_containing;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = items, check_for_backend(diesel::pg::Pg))]
pub struct Item {
    pub id: i64,
    pub store_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub price: Price,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Its pictures as shown: see [`super::picture::ShownPicture`].
    pub pictures: serde_json::Value,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = items)]
pub struct NewItem {
    pub store_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub price: Price,
}

/// An item with what is shown beside it: its store's name and its tags.
#[derive(Debug, Clone)]
pub struct ItemDetail {
    pub item: Item,
    pub store_name: String,
    pub tags: Vec<TagRef>,
}

/// A partial update: `None` leaves a column as it is; `Some(None)` clears
/// the description.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = items)]
pub struct ItemChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub price: Option<Price>,
}

impl ItemChanges {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.description.is_none() && self.price.is_none()
    }
}

/// Which items a listing shows. Every field narrows it; the tags are all required.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    pub store_id: Option<i64>,
    /// Items of the stores this user owns.
    pub owner_id: Option<i64>,
    pub tag_ids: Vec<i64>,
    pub name_contains: Option<String>,
    pub min_price: Option<Price>,
    pub max_price: Option<Price>,
    /// Items carrying a tag whose name contains this (in any store),
    /// ignoring case.
    pub tag_named: Option<String>,
    /// Items with these typed words, in web search syntax (see
    /// [`super::search`]).
    pub words: Option<String>,
}

impl ItemFilter {
    /// Whether the filter lets every item through.
    pub fn is_empty(&self) -> bool {
        let ItemFilter { store_id, owner_id, tag_ids, name_contains, min_price, max_price, tag_named, words } =
            self;
        store_id.is_none()
            && owner_id.is_none()
            && tag_ids.is_empty()
            && name_contains.is_none()
            && min_price.is_none()
            && max_price.is_none()
            && tag_named.is_none()
            && words.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemSortField {
    Name,
    Price,
    CreatedAt,
    /// How well the filter's words find the item, best first (ties by id);
    /// only with words. `descending` turns it around.
    Relevance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemSort {
    pub field: ItemSortField,
    pub descending: bool,
}

impl Default for ItemSort {
    fn default() -> Self {
        ItemSort { field: ItemSortField::CreatedAt, descending: false }
    }
}

/// Where the previous page ended: the sort column's value and the id of its last item.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemSortKey {
    Name(String),
    Price(Price),
    CreatedAt(DateTime<Utc>),
    Relevance(f32),
}

impl ItemSortKey {
    /// The key of an item listed with `score` (see [`Scored`]).
    pub fn of(item: &Item, score: f32, field: ItemSortField) -> ItemSortKey {
        match field {
            ItemSortField::Name => ItemSortKey::Name(item.name.clone()),
            ItemSortField::Price => ItemSortKey::Price(item.price),
            ItemSortField::CreatedAt => ItemSortKey::CreatedAt(item.created_at),
            ItemSortField::Relevance => ItemSortKey::Relevance(score),
        }
    }
}

/// The most matches a relevance order ranks: the first this many found
/// (the index gives them in no order of relevance), so that a word found
/// in half the catalogue costs what a rare one does. Other orders list
/// every match.
pub const RANKED_LIMIT: i64 = 1_000;

/// Pages starting within this many rows are read forwards, whatever the
/// list's length; deeper ones from the nearer end.
pub const FORWARD_OFFSET_LIMIT: i64 = 200;

/// `(column, items.id) > (key, after)`, or `<` for a descending sort: a
/// row comparison, which the index on `(column, id)` starts from, so that a
/// page deep in a list costs what the first does. Diesel has no row
/// comparison, hence this expression.
#[derive(Debug, Clone)]
struct RowAfter<C, K> {
    column: C,
    key: K,
    after: diesel::dsl::AsExprOf<i64, BigInt>,
    descending: bool,
}

fn row_after<C, K>(column: C, key: K, after: i64, descending: bool) -> RowAfter<C, K> {
    RowAfter { column, key, after: after.into_sql::<BigInt>(), descending }
}

impl<C, K> diesel::Expression for RowAfter<C, K> {
    type SqlType = Bool;
}

impl<C, K> diesel::query_builder::QueryId for RowAfter<C, K> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, K> diesel::query_builder::QueryFragment<Pg> for RowAfter<C, K>
where
    C: diesel::query_builder::QueryFragment<Pg>,
    K: diesel::query_builder::QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("(");
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(", items.id) ");
        out.push_sql(if self.descending { "<" } else { ">" });
        out.push_sql(" (");
        self.key.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.after.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

impl<QS, C: diesel::AppearsOnTable<QS>, K> diesel::AppearsOnTable<QS> for RowAfter<C, K> where
    items::id: diesel::AppearsOnTable<QS>
{
}

impl<C, K> diesel::expression::ValidGrouping<()> for RowAfter<C, K> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

diesel::alias!(stores as owned_stores: OwnedStores);

/// A boxed query of items (alone or joined) narrowed to those `filter` lets through.
macro_rules! matching {
    ($query:expr, $filter:expr) => {{
        let filter: &ItemFilter = $filter;
        let mut query = $query;
        if let Some(store_id) = filter.store_id {
            query = query.filter(items::store_id.eq(store_id));
        }
        if let Some(owner) = filter.owner_id {
            // An alias, since some of the queries join `stores` already.
            let owned = owned_stores
                .filter(owned_stores.field(stores::owner_id).eq(owner))
                .select(owned_stores.field(stores::id));
            query = query.filter(items::store_id.eq_any(owned));
        }
        for &tag_id in &filter.tag_ids {
            query = query.filter(exists(
                item_tags::table
                    .filter(item_tags::item_id.eq(items::id))
                    .filter(item_tags::tag_id.eq(tag_id)),
            ));
        }
        if let Some(needle) = &filter.name_contains {
            // `name_folded` is `lower(name)`: the same as `ILIKE`, cheaper.
            query = query.filter(items::name_folded.like(super::lower(like_pattern_containing(needle))));
        }
        if let Some(name) = &filter.tag_named {
            query = query.filter(exists(
                item_tags::table
                    .inner_join(tags::table)
                    .filter(item_tags::item_id.eq(items::id))
                    .filter(super::lower(tags::name).like(super::lower(like_pattern_containing(name)))),
            ));
        }
        if let Some(min) = filter.min_price {
            query = query.filter(items::price.ge(min));
        }
        if let Some(max) = filter.max_price {
            query = query.filter(items::price.le(max));
        }
        if let Some(words) = &filter.words {
            query = query.filter(Finds(words.clone()));
        }
        query
    }};
}

macro_rules! ordered_by {
    ($query:expr, $column:expr, $descending:expr) => {
        if $descending {
            $query.order(($column.desc(), items::id.desc()))
        } else {
            $query.order(($column.asc(), items::id.asc()))
        }
    };
}

impl Item {
    pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Item> {
        items::table.find(id).select(Item::as_select()).first(conn)
    }

    /// The item with its store's name and its tags (by name), in one statement.
    pub fn find_with_store_name_and_tags(
        conn: &mut PgConnection,
        id: i64,
    ) -> QueryResult<(Item, String, Vec<TagRef>)> {
        let (item, store_name, JsonOf(tags)): (Item, String, super::TagsJson) = items::table
            .inner_join(stores::table)
            .filter(items::id.eq(id))
            .select((Item::as_select(), stores::name, TagsAsJson))
            .first(conn)?;
        Ok((item, store_name, tags))
    }

    /// Reads the item and locks it until the end of the transaction.
    pub fn lock(conn: &mut PgConnection, id: i64) -> QueryResult<Item> {
        items::table.find(id).select(Item::as_select()).for_update().first(conn)
    }

    /// The items of `ids` that exist, by id, locked until the end of the
    /// transaction (in id order, so that two bulk changes never deadlock).
    pub fn lock_all(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<Item>> {
        items::table
            .filter(items::id.eq_any(ids))
            .order(items::id.asc())
            .select(Item::as_select())
            .for_update()
            .load(conn)
    }

    /// The items of `ids` that exist, by id.
    pub fn all_of(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<Item>> {
        items::table.filter(items::id.eq_any(ids)).order(items::id.asc()).select(Item::as_select()).load(conn)
    }

    /// The items of `store_ids` whose names are among `names`, ignoring case.
    pub fn named_in_stores(
        conn: &mut PgConnection,
        store_ids: &[i64],
        names: &[String],
    ) -> QueryResult<Vec<Item>> {
        let folded: Vec<String> = names.iter().map(|name| name.to_lowercase()).collect();
        items::table
            .filter(items::store_id.eq_any(store_ids))
            .filter(items::name_folded.eq_any(folded))
            .order(items::id.asc())
            .select(Item::as_select())
            .load(conn)
    }

    /// The ids of the items `filter` lets through, by id, at most `limit`.
    pub fn ids_matching(conn: &mut PgConnection, filter: &ItemFilter, limit: i64) -> QueryResult<Vec<i64>> {
        Item::filtered(filter).order(items::id.asc()).limit(limit).select(items::id).load(conn)
    }

    /// The items `filter` lets through, as a query to narrow further.
    pub(super) fn filtered(filter: &ItemFilter) -> items::BoxedQuery<'static, Pg> {
        matching!(items::table.into_boxed(), filter)
    }

    pub fn count(conn: &mut PgConnection, filter: &ItemFilter) -> QueryResult<i64> {
        Item::filtered(filter).count().get_result(conn)
    }

    /// How many items match: see [`Total::of_filtered`], and for no filter
    /// at all [`Total::of`].
    pub fn total(conn: &mut PgConnection, filter: &ItemFilter) -> QueryResult<Total> {
        if filter.is_empty() {
            return Total::of(conn, "items", false, |conn| Item::count(conn, filter));
        }
        let rows = || Item::filtered(filter).select(items::id);
        Total::of_filtered(conn, rows(), rows().limit(EXACT_FILTERED_COUNT_LIMIT + 1))
    }

    /// One page of the filtered items, each with its store's name and its
    /// tags, in the order of `sort`: after `after` (keyset, for the API) or
    /// past `offset` rows (numbered pages); and how many items match.
    ///
    /// A page within the first [`FORWARD_OFFSET_LIMIT`] rows takes one
    /// statement, whatever its size: the total is a subquery of the page's
    /// own, counted up to [`EXACT_FILTERED_COUNT_LIMIT`] for a filter (see
    /// [`Total::of_filtered`]), and a second statement asks the planner for
    /// its estimate when more match. A page deeper in counts first, then
    /// reads from whichever end is nearer, so that the last page costs what
    /// the first does; in a list whose total is an estimate, pages of its
    /// second half are placed from the end.
    pub fn page_with_total(
        conn: &mut PgConnection,
        filter: &ItemFilter,
        sort: ItemSort,
        after: Option<(ItemSortKey, i64)>,
        offset: i64,
        limit: i64,
    ) -> QueryResult<(Vec<Scored>, Total)> {
        // A relevance order has at most `RANKED_LIMIT` rows: read forwards.
        if offset > FORWARD_OFFSET_LIMIT && sort.field != ItemSortField::Relevance {
            let total = Item::total(conn, filter)?;
            let rows = if offset <= total.count / 2 {
                Item::rows(conn, filter, sort, None, offset, limit, MatchCount::Known)?
            } else {
                // The rows that follow this page, and how many of it exist.
                let following = total.count - offset - limit;
                let (skip, take) = if following >= 0 { (following, limit) } else { (0, limit + following) };
                let reversed = ItemSort { descending: !sort.descending, ..sort };
                let mut rows = if take > 0 {
                    Item::rows(conn, filter, reversed, None, skip, take, MatchCount::Known)?
                } else {
                    Vec::new()
                };
                rows.reverse();
                rows
            };
            return Ok((Item::with_tags(rows), total));
        }
        let count = if filter.is_empty() {
            MatchCount::Table
        } else {
            MatchCount::Filtered(
                Item::filtered(filter).select(items::id).limit(EXACT_FILTERED_COUNT_LIMIT + 1),
            )
        };
        let from_start = after.is_none() && offset == 0;
        let rows = Item::rows(conn, filter, sort, after, offset, limit, count)?;
        let total = match rows.first() {
            None if from_start => Total { count: 0, approximate: false },
            None => Item::total(conn, filter)?,
            Some(&(_, _, counted, _, _, _)) if filter.is_empty() => {
                Total { count: counted, approximate: counted > EXACT_COUNT_LIMIT }
            }
            Some(&(_, _, counted, _, _, _)) => {
                Total::estimated_beyond_limit(conn, counted, Item::filtered(filter).select(items::id))?
            }
        };
        Ok((Item::with_tags(rows), total))
    }

    /// The rows of [`Item::page_with_total`], each with what `count` counts.
    fn rows(
        conn: &mut PgConnection,
        filter: &ItemFilter,
        sort: ItemSort,
        after: Option<(ItemSortKey, i64)>,
        offset: i64,
        limit: i64,
        count: MatchCount,
    ) -> QueryResult<Vec<PageRow>> {
        // Joined rather than looked up per row: a subquery per row costs
        // more than the join.
        let ranked = match (&filter.words, sort.field) {
            (Some(words), ItemSortField::Relevance) => Some(Score(words.clone())),
            _ => None,
        };
        let mut query = match ranked {
            // The first matches found, ranked (see `RANKED_LIMIT`).
            Some(ref score) => {
                let candidates = Item::filtered(filter)
                    .select((items::id, ScoreColumn(Some(score.clone()))))
                    .limit(RANKED_LIMIT);
                let after = match after {
                    Some((ItemSortKey::Relevance(key), id)) => Some((key, id)),
                    _ => None,
                };
                let top = TopRanked { candidates, after, descending: sort.descending, take: offset + limit };
                items::table.inner_join(stores::table).into_boxed().filter(top)
            }
            None => matching!(items::table.inner_join(stores::table).into_boxed(), filter),
        };
        let desc = sort.descending;
        if let Some((key, after_id)) = after {
            query = match key {
                ItemSortKey::Relevance(score) => match ranked.clone() {
                    Some(ranked) if desc => query
                        .filter(ranked.clone().gt(score).or(ranked.eq(score).and(items::id.lt(after_id)))),
                    Some(ranked) => query
                        .filter(ranked.clone().lt(score).or(ranked.eq(score).and(items::id.gt(after_id)))),
                    None if desc => query.filter(items::id.lt(after_id)),
                    None => query.filter(items::id.gt(after_id)),
                },
                ItemSortKey::Name(name) => {
                    query.filter(row_after(items::name, name.into_sql::<Text>(), after_id, desc))
                }
                ItemSortKey::Price(price) => {
                    query.filter(row_after(items::price, price.into_sql::<Numeric>(), after_id, desc))
                }
                ItemSortKey::CreatedAt(at) => {
                    query.filter(row_after(items::created_at, at.into_sql::<Timestamptz>(), after_id, desc))
                }
            };
        }
        query = match (sort.field, &ranked) {
            (ItemSortField::Name, _) => ordered_by!(query, items::name, desc),
            (ItemSortField::Price, _) => ordered_by!(query, items::price, desc),
            (ItemSortField::CreatedAt, _) => ordered_by!(query, items::created_at, desc),
            // Best first, ties by id; `descending` turns both around.
            (ItemSortField::Relevance, Some(score)) if desc => {
                query.order((score.clone().asc(), items::id.desc()))
            }
            (ItemSortField::Relevance, Some(score)) => query.order((score.clone().desc(), items::id.asc())),
            // Without words every item scores 0: by id.
            (ItemSortField::Relevance, None) => ordered_by!(query, items::id, desc),
        };
        let page = query.offset(offset).limit(limit).select((
            Item::as_select(),
            StoreNameApart,
            count,
            ScoreColumn(ranked),
        ));
        PageWithTags { page, sort }.load(conn)
    }

    fn with_tags(rows: Vec<PageRow>) -> Vec<Scored> {
        rows.into_iter()
            .map(|(item, store_name, _, score, ids, names)| {
                let tags = ids.unwrap_or_default().into_iter().zip(names.unwrap_or_default());
                ((item, store_name, tags.map(|(id, name)| TagRef { id, name }).collect()), score)
            })
            .collect()
    }

    /// The names of the items of `ids` that exist.
    pub fn names_of(
        conn: &mut PgConnection,
        ids: &[i64],
    ) -> QueryResult<std::collections::HashMap<i64, String>> {
        let rows: Vec<(i64, String)> =
            items::table.filter(items::id.eq_any(ids)).select((items::id, items::name)).load(conn)?;
        Ok(rows.into_iter().collect())
    }

    /// The ids and names of a store's first `limit` items by name.
    pub fn names_in_store(
        conn: &mut PgConnection,
        store_id: i64,
        limit: i64,
    ) -> QueryResult<Vec<(i64, String)>> {
        items::table
            .filter(items::store_id.eq(store_id))
            .order((items::name.asc(), items::id.asc()))
            .limit(limit)
            .select((items::id, items::name))
            .load(conn)
    }

    pub fn count_in_store(conn: &mut PgConnection, store_id: i64) -> QueryResult<i64> {
        items::table.filter(items::store_id.eq(store_id)).count().get_result(conn)
    }

    pub fn update(conn: &mut PgConnection, id: i64, changes: &ItemChanges) -> QueryResult<Item> {
        diesel::update(items::table.find(id))
            .set((changes, items::version.eq(items::version + 1), items::updated_at.eq(diesel::dsl::now)))
            .returning(Item::as_returning())
            .get_result(conn)
    }

    /// Sets each item's price, in one statement; the items as changed, in no set order.
    pub fn set_prices(conn: &mut PgConnection, prices: &[(i64, Price)]) -> QueryResult<Vec<Item>> {
        if prices.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, prices): (Vec<i64>, Vec<Price>) = prices.iter().copied().unzip();
        diesel::sql_query(
            "UPDATE items SET price = changed.price, version = items.version + 1, updated_at = now() \
             FROM unnest($1::bigint[], $2::numeric[]) AS changed (id, price) WHERE items.id = changed.id \
             RETURNING items.id, items.store_id, items.name, items.description, items.price, items.version, \
             items.created_at, items.updated_at, items.pictures",
        )
        .bind::<Array<BigInt>, _>(ids)
        .bind::<Array<Numeric>, _>(prices)
        .load(conn)
    }

    /// Records that something shown with the item (its tags) changed.
    pub fn bump_version(conn: &mut PgConnection, id: i64) -> QueryResult<Item> {
        diesel::update(items::table.find(id))
            .set((items::version.eq(items::version + 1), items::updated_at.eq(diesel::dsl::now)))
            .returning(Item::as_returning())
            .get_result(conn)
    }

    pub fn delete(conn: &mut PgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(items::table.find(id)).execute(conn)
    }
}

impl NewItem {
    /// Inserts them all in one statement; the items come back in no set order.
    pub fn insert_all(conn: &mut PgConnection, new: &[NewItem]) -> QueryResult<Vec<Item>> {
        diesel::insert_into(items::table).values(new).returning(Item::as_returning()).get_results(conn)
    }

    pub fn insert(&self, conn: &mut PgConnection) -> QueryResult<Item> {
        diesel::insert_into(items::table).values(self).returning(Item::as_returning()).get_result(conn)
    }
}

super::correlated_subquery! {
    /// The tags of the row's item, by name, as a JSON array of `{id, name}`.
    TagsAsJson: diesel::sql_types::Json, on items::id,
    "(SELECT coalesce(json_agg(json_build_object('id', t.id, 'name', t.name) ORDER BY t.name, t.id), '[]') \
     FROM tags t WHERE t.id = ANY(ARRAY(SELECT it.tag_id FROM item_tags it WHERE it.item_id = items.id)))"
}

super::correlated_subquery! {
    /// The item's store's name, named apart from the item's own so that the
    /// columns of a page can be told apart by name (see [`PageWithTags`]).
    StoreNameApart: Text, on stores::name,
    "stores.name AS store_name"
}

type MatchingIds = items::BoxedQuery<'static, Pg, BigInt>;

/// An item with its store's name and its tags.
pub type ItemWithTags = (Item, String, Vec<TagRef>);

/// An item with its score in a relevance order (0 in others).
pub type Scored = (ItemWithTags, f32);

/// An item of a page: its store's name, [`MatchCount`], its score, and its
/// tags' ids and names in tag order (`NULL` for none).
type PageRow = (Item, String, i64, f32, Option<Vec<i64>>, Option<Vec<String>>);

/// A page of items (`page`, selecting an item, [`StoreNameApart`] and a
/// count, in the order of `sort`) with the tags of each, in one statement:
///
/// ```sql
/// WITH page AS MATERIALIZED (<page>)
/// SELECT page.*, tagged.ids, tagged.names FROM page
/// LEFT JOIN (SELECT item_id, array_agg(tag id), array_agg(tag name) FROM item_tags JOIN tags ...
///            WHERE item_id IN (SELECT id FROM page) GROUP BY item_id) AS tagged
///        ON tagged.item_id = page.id
/// ORDER BY page.<sort column>, page.id
/// ```
///
/// The tags of all the page's items are gathered in one pass, which costs
/// half of what a subquery per row does for a page of 50; as arrays, which
/// cost less to build and to read than JSON.
struct PageWithTags<Q> {
    page: Q,
    sort: ItemSort,
}

impl<Q> diesel::query_builder::QueryId for PageWithTags<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// The page's columns, then the tags.
impl<Q> diesel::query_builder::Query for PageWithTags<Q>
where
    Q: diesel::query_builder::Query<SqlType = (ItemColumns, Text, BigInt, Float)>,
{
    type SqlType = (ItemColumns, Text, BigInt, Float, Nullable<Array<BigInt>>, Nullable<Array<Text>>);
}

type ItemColumns = diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<Item, Pg>>;

impl<Q> RunQueryDsl<PgConnection> for PageWithTags<Q> {}

impl<Q: diesel::query_builder::QueryFragment<Pg>> diesel::query_builder::QueryFragment<Pg>
    for PageWithTags<Q>
{
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH page AS MATERIALIZED (");
        self.page.walk_ast(out.reborrow())?;
        out.push_sql(
            ") SELECT page.*, tagged.ids, tagged.names FROM page LEFT JOIN (\
             SELECT it.item_id, array_agg(t.id ORDER BY t.name, t.id) AS ids, \
             array_agg(t.name ORDER BY t.name, t.id) AS names \
             FROM item_tags it INNER JOIN tags t ON t.id = it.tag_id \
             WHERE it.item_id IN (SELECT id FROM page) GROUP BY it.item_id\
             ) AS tagged ON tagged.item_id = page.id ORDER BY page.",
        );
        let descending = self.sort.descending;
        out.push_sql(match (self.sort.field, descending) {
            (ItemSortField::Name, false) => "name, page.id",
            (ItemSortField::Name, true) => "name DESC, page.id DESC",
            (ItemSortField::Price, false) => "price, page.id",
            (ItemSortField::Price, true) => "price DESC, page.id DESC",
            (ItemSortField::CreatedAt, false) => "created_at, page.id",
            (ItemSortField::CreatedAt, true) => "created_at DESC, page.id DESC",
            // Best first, ties by id.
            (ItemSortField::Relevance, false) => "score DESC, page.id",
            (ItemSortField::Relevance, true) => "score, page.id DESC",
        });
        Ok(())
    }
}

/// How many items a page's filter matches, as a column of the page, so that
/// rows and total come in one round trip. Uncorrelated, so computed once.
enum MatchCount {
    /// `(SELECT count(*) FROM (matching ids, limited) AS counted)`.
    Filtered(MatchingIds),
    /// For no filter, the table's size as [`Total::of`] gives it.
    Table,
    /// Counted already: `0`.
    Known,
}

impl diesel::Expression for MatchCount {
    type SqlType = BigInt;
}

impl diesel::query_builder::QueryId for MatchCount {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::QueryFragment<Pg> for MatchCount {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        match self {
            MatchCount::Filtered(matching) => {
                out.push_sql("(SELECT count(*) FROM (");
                diesel::query_builder::QueryFragment::<Pg>::walk_ast(matching, out.reborrow())?;
                out.push_sql(") AS counted)");
            }
            MatchCount::Table => {
                out.push_sql("(SELECT total FROM storefront_count_rows('items', ");
                out.push_sql(&EXACT_COUNT_LIMIT.to_string());
                out.push_sql("))");
            }
            MatchCount::Known => out.push_sql("0::bigint"),
        }
        Ok(())
    }
}

impl<QS> diesel::AppearsOnTable<QS> for MatchCount {}
impl<QS> diesel::SelectableExpression<QS> for MatchCount {}
impl diesel::expression::ValidGrouping<()> for MatchCount {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

/// The score of a page's row in a relevance order, named `score`; `0` without one.
struct ScoreColumn(Option<Score>);

impl diesel::Expression for ScoreColumn {
    type SqlType = Float;
}

impl diesel::query_builder::QueryId for ScoreColumn {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::QueryFragment<Pg> for ScoreColumn {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        match &self.0 {
            Some(score) => score.walk_ast(out.reborrow())?,
            None => out.push_sql("0::real"),
        }
        out.push_sql(" AS score");
        Ok(())
    }
}

impl<QS> diesel::AppearsOnTable<QS> for ScoreColumn where items::id: diesel::AppearsOnTable<QS> {}
impl<QS> diesel::SelectableExpression<QS> for ScoreColumn where items::id: diesel::SelectableExpression<QS> {}
impl diesel::expression::ValidGrouping<()> for ScoreColumn {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

/// The ids of the best `take` of the ranked candidates (after a keyset
/// position), ranked where the candidates are read, so that only the
/// page's rows are read again by their key:
///
/// ```sql
/// items.id = ANY(ARRAY(SELECT ranked.id FROM (<candidates: id, score>) AS ranked
///                      [WHERE (ranked.score, -ranked.id) < (key, -after)]
///                      ORDER BY ranked.score DESC, ranked.id LIMIT take))
/// ```
struct TopRanked {
    candidates: items::BoxedQuery<'static, Pg, (BigInt, Float)>,
    after: Option<(f32, i64)>,
    descending: bool,
    take: i64,
}

impl diesel::Expression for TopRanked {
    type SqlType = Bool;
}

impl diesel::query_builder::QueryId for TopRanked {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::QueryFragment<Pg> for TopRanked {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("items.id = ANY(ARRAY(SELECT ranked.id FROM (");
        diesel::query_builder::QueryFragment::<Pg>::walk_ast(&self.candidates, out.reborrow())?;
        out.push_sql(") AS ranked");
        let (worse, later) = if self.descending { (">", "<") } else { ("<", ">") };
        if let Some((key, after)) = &self.after {
            out.push_sql(" WHERE (ranked.score ");
            out.push_sql(worse);
            out.push_sql(" ");
            out.push_bind_param::<Float, _>(key)?;
            out.push_sql(" OR (ranked.score = ");
            out.push_bind_param::<Float, _>(key)?;
            out.push_sql(" AND ranked.id ");
            out.push_sql(later);
            out.push_sql(" ");
            out.push_bind_param::<BigInt, _>(after)?;
            out.push_sql("))");
        }
        out.push_sql(if self.descending {
            " ORDER BY ranked.score, ranked.id DESC LIMIT "
        } else {
            " ORDER BY ranked.score DESC, ranked.id LIMIT "
        });
        out.push_bind_param::<BigInt, _>(&self.take)?;
        out.push_sql("))");
        Ok(())
    }
}

impl<QS> diesel::AppearsOnTable<QS> for TopRanked where items::id: diesel::AppearsOnTable<QS> {}
impl diesel::expression::ValidGrouping<()> for TopRanked {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}
