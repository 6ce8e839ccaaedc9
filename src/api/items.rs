//! Items, and the links between items and tags.

use chrono::{DateTime, Utc};
use rocket::http::uri::Origin;
use rocket::{delete, get, post, put, routes, Route};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::guards::{is_plain_decimal, ApiUser, JsonBody, QueryParams};
use super::pagination;
use super::problem::Problem;
use super::respond::{ApiJson, Cached, IfMatch, NoContent};
use crate::cache::{Key, Scope};
use crate::db::Db;
use crate::error::{Error, FieldErrors};
use crate::models::facets::{self, FacetKinds};
use crate::models::{ItemFilter, ItemSort, ItemSortField, ItemSortKey};
use crate::price::Price;
use crate::request::{Id, SiteUrl};
use crate::services::items::{self, ItemInput, ItemPage};
use crate::services::tags;
use crate::views::{FacetsView, ItemView, TagRefView};

pub fn routes() -> Vec<Route> {
    routes![list_items, item_facets, create_item, get_item, update_item, delete_item, link_tags, unlink_tag]
}

/// At most this many `tag_id` filters at once.
const MAX_TAG_FILTERS: usize = 10;

/// Where a page of items ended, in the order it was sorted by.
#[derive(Debug, Serialize, Deserialize)]
struct ItemCursor {
    sort: String,
    key: serde_json::Value,
    id: i64,
}

struct ItemListing {
    filter: ItemFilter,
    sort: ItemSort,
    sort_name: String,
    after: Option<(ItemSortKey, i64)>,
    limit: i64,
}

fn parse_sort(raw: &str) -> Option<ItemSort> {
    let (descending, field) = match raw.strip_prefix('-') {
        Some(field) => (true, field),
        None => (false, raw),
    };
    let field = match field {
        "name" => ItemSortField::Name,
        "price" => ItemSortField::Price,
        "created_at" => ItemSortField::CreatedAt,
        "relevance" if !descending => ItemSortField::Relevance,
        _ => return None,
    };
    Some(ItemSort { field, descending })
}

fn positive_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|&id| id > 0 && !raw.starts_with('+'))
}

fn sort_key_to_json(key: &ItemSortKey) -> serde_json::Value {
    match key {
        ItemSortKey::Name(name) => serde_json::Value::from(name.clone()),
        ItemSortKey::Price(price) => serde_json::Value::from(price.cents()),
        ItemSortKey::CreatedAt(at) => serde_json::Value::from(at.timestamp_micros()),
        ItemSortKey::Relevance(score) => serde_json::Value::from(*score),
    }
}

fn sort_key_from_json(field: ItemSortField, value: &serde_json::Value) -> Option<ItemSortKey> {
    match field {
        ItemSortField::Name => value.as_str().map(|s| ItemSortKey::Name(s.to_owned())),
        ItemSortField::Price => value.as_i64().and_then(Price::from_cents).map(ItemSortKey::Price),
        ItemSortField::CreatedAt => {
            value.as_i64().and_then(DateTime::<Utc>::from_timestamp_micros).map(ItemSortKey::CreatedAt)
        }
        // Scores are `real`s: exact as JSON numbers.
        ItemSortField::Relevance => value.as_f64().map(|score| ItemSortKey::Relevance(score as f32)),
    }
}

/// Reads the filters, sort and page of `GET /api/items`, naming every bad parameter.
fn item_listing(params: &QueryParams) -> Result<ItemListing, Error> {
    let mut errors = FieldErrors::new();
    let filter = item_filter(params, &mut errors);
    if params.single("facets", &mut errors).is_some() {
        errors.insert("facets".into(), "are counted at /api/items/facets, with the same filters".into());
    }
    let default_sort = if filter.words.is_some() { "relevance" } else { "created_at" };
    let sort_name = params.single("sort", &mut errors).unwrap_or(default_sort).to_owned();
    let sort = parse_sort(&sort_name).unwrap_or_else(|| {
        errors.insert("sort".into(), format!("must be one of {}", SORTS.join(", ")));
        ItemSort::default()
    });
    let limit = pagination::limit(params.single("limit", &mut errors), &mut errors);
    let cursor = params.single("cursor", &mut errors);
    let after = pagination::decode::<ItemCursor>(cursor, &mut errors).and_then(|cursor| {
        let key = (cursor.sort == sort_name).then(|| sort_key_from_json(sort.field, &cursor.key)).flatten();
        if key.is_none() {
            errors.insert("cursor".into(), "belongs to a list sorted another way".into());
        }
        key.map(|key| (key, cursor.id))
    });
    Error::check(errors)?;
    Ok(ItemListing { filter, sort, sort_name, after, limit })
}

/// Reads the filters that `GET /api/items` and its facets share.
fn item_filter(params: &QueryParams, errors: &mut FieldErrors) -> ItemFilter {
    let mut filter = ItemFilter::default();
    if let Some(raw) = params.single("store_id", errors) {
        filter.store_id = positive_id(raw);
        if filter.store_id.is_none() {
            errors.insert("store_id".into(), "must be a positive integer id".into());
        }
    }
    for raw in params.all("tag_id") {
        match positive_id(raw) {
            Some(id) if !filter.tag_ids.contains(&id) => filter.tag_ids.push(id),
            Some(_) => {}
            None => {
                errors.insert("tag_id".into(), "must be positive integer ids".into());
            }
        }
    }
    if filter.tag_ids.len() > MAX_TAG_FILTERS {
        errors.insert("tag_id".into(), format!("may be given at most {MAX_TAG_FILTERS} times"));
    }
    if let Some(raw) = params.single("q", errors) {
        let q = crate::text::normalize(raw);
        if raw.chars().count() > 80 {
            errors.insert("q".into(), "must be at most 80 characters".into());
        } else if q.chars().any(char::is_control) {
            errors.insert("q".into(), "must not contain control characters".into());
        } else if !q.is_empty() {
            filter.words = Some(q);
        }
    }
    for name in ["min_price", "max_price"] {
        if let Some(raw) = params.single(name, errors) {
            let price = if is_plain_decimal(raw) { Price::parse(raw).ok() } else { None };
            match price {
                Some(price) if name == "min_price" => filter.min_price = Some(price),
                Some(price) => filter.max_price = Some(price),
                None => {
                    errors.insert(name.into(), "must be a decimal such as 12.50".into());
                }
            }
        }
    }
    if let (Some(min), Some(max)) = (filter.min_price, filter.max_price) {
        if min > max {
            errors.insert("max_price".into(), "must not be below min_price".into());
        }
    }
    filter
}

/// The orders `sort` may ask for.
const SORTS: [&str; 7] = ["relevance", "name", "-name", "price", "-price", "created_at", "-created_at"];

/// A new item. The store must be yours, unless you are staff.
#[derive(Debug, ToSchema)]
pub struct NewItemInput {
    #[schema(
        example = "Dune",
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]*[^\s\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8][^\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]*$"
    )]
    pub name: String,
    pub price: PriceInput,
    #[schema(example = 1, minimum = 1)]
    pub store_id: i64,
    #[schema(max_length = 2000, pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")]
    pub description: Option<String>,
}

/// Changes to an item: any of its fields, at least one.
#[derive(Debug, ToSchema)]
pub struct ItemChangesInput {
    #[schema(
        nullable = false,
        example = "Dune",
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]*[^\s\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8][^\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]*$"
    )]
    pub name: Option<String>,
    #[schema(nullable = false)]
    pub price: Option<PriceInput>,
    /// `null` removes the description.
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$")]
    pub description: Option<Option<String>>,
}

/// An exact amount with at most two decimals, from 0 to 9999999999.99, as
/// a JSON number or a decimal string. Amounts that would need rounding are
/// refused rather than rounded. Holds the text exactly as sent.
#[derive(Debug)]
pub struct PriceInput(pub String);

impl utoipa::PartialSchema for PriceInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .minimum(Some(0))
                    .maximum(Some(9_999_999_999.99))
                    .multiple_of(Some(0.01)),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$")),
            )
            .description(Some(
                "An exact amount with at most two decimals: a JSON number or a decimal string.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for PriceInput {}

/// Tags to put on an item.
#[derive(Debug, ToSchema)]
pub struct TagIdsInput {
    /// Tags of the item's store; 1 to 100.
    #[schema(min_items = 1, max_items = 100)]
    pub tag_ids: Vec<i64>,
}

impl TagIdsInput {
    fn read(body: JsonBody) -> Result<TagIdsInput, Error> {
        let mut reader = body.reader();
        let tag_ids = reader.required_ids("tag_ids");
        reader.finish()?;
        Ok(TagIdsInput { tag_ids: tag_ids.unwrap_or_default() })
    }
}

impl NewItemInput {
    fn read(body: JsonBody) -> Result<NewItemInput, Error> {
        let mut reader = body.reader();
        let store_id = reader.required_id("store_id");
        let name = reader.required_string("name");
        let price = reader.required_decimal_text("price");
        let description = reader.nullable_string("description").flatten();
        reader.finish()?;
        Ok(NewItemInput {
            name: name.unwrap_or_default(),
            price: PriceInput(price.unwrap_or_default()),
            store_id: store_id.unwrap_or_default(),
            description,
        })
    }

    fn into_service_input(self) -> (i64, ItemInput) {
        let NewItemInput { name, price, store_id, description } = self;
        (
            store_id,
            ItemInput {
                name: Some(name),
                price: Some(price.0),
                description: Some(description),
                tag_ids: None,
            },
        )
    }
}

impl ItemChangesInput {
    fn read(body: JsonBody) -> Result<ItemChangesInput, Error> {
        let mut reader = body.reader();
        let name = reader.string("name");
        let price = reader.decimal_text("price").map(PriceInput);
        let description = reader.nullable_string("description");
        reader.finish()?;
        Ok(ItemChangesInput { name, price, description })
    }

    fn into_service_input(self) -> ItemInput {
        let ItemChangesInput { name, price, description } = self;
        ItemInput { name, price: price.map(|p| p.0), description, tag_ids: None }
    }
}

/// Items, filtered and sorted.
///
/// Filters combine: `tag_id` may repeat, and then lists items carrying all
/// those tags.
///
/// `q` searches the items' words: their names, tags, descriptions and
/// stores' names, ignoring case and accents ("cafe" finds "Café") and word
/// endings ("books" finds "book"), in web search syntax: all the words,
/// `"a phrase"`, `tea or coffee`, `-decaf` to leave out. With `q` the items
/// come by relevance unless `sort` says otherwise: a word in the name counts
/// most, then in a tag, the description, the store's name. A relevance
/// order ranks the first 1,000 matches found; the other orders list every
/// match. When no item has the words but some has them spelled as the
/// catalogue does (a typo: "cofee" for "coffee"), the answer is the first
/// page for the corrected words, which `X-Did-You-Mean` gives
/// (percent-encoded); it has no next page.
#[utoipa::path(get, path = "/api/items", tag = "items",
    params(
        ("store_id" = Option<i64>, Query, minimum = 1, description = "Only this store's items"),
        ("tag_id" = Option<Vec<i64>>, Query, description = "Only items with all these tags (repeat the parameter)"),
        ("q" = Option<String>, Query, max_length = 80, description = "Words to search for (web search syntax)"),
        ("min_price" = Option<String>, Query, pattern = r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$", description = "Lowest price, e.g. 5 or 5.50"),
        ("max_price" = Option<String>, Query, pattern = r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$", description = "Highest price"),
        ("sort" = Option<String>, Query, pattern = r"^(-?(name|price|created_at)|relevance)$", description = "relevance (default with q), name, -name, price, -price, created_at (default without q), -created_at"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Page size (default 50)"),
        ("cursor" = Option<String>, Query, description = "From the previous page's `Link` header"),
    ),
    responses(
        (status = 200, description = "A page of items", body = Vec<ItemView>, headers(
            ("X-Total-Count" = i64, description = "Number of matching items; beyond 100,000 items unfiltered or 1,000 filtered, the database's estimate"),
            ("X-Total-Count-Approximate" = String, description = "`true` when X-Total-Count is an estimate"),
            ("Link" = String, description = "`<url>; rel=\"next\"` when there is a next page"),
            ("X-Did-You-Mean" = String, description = "When no item had the words of `q`: the corrected words (percent-encoded) whose first page this is"),
            ("ETag" = String))),
        (status = 304, description = "Not modified since the given ETag"),
    ))]
#[get("/items")]
async fn list_items(db: Db, params: QueryParams, uri: &Origin<'_>, site: SiteUrl) -> Result<Cached, Problem> {
    let key = Key::address(&site.0, uri);
    let read = async {
        let ItemListing { filter, sort, sort_name, after, limit } = item_listing(&params)?;
        // Items of one store show that store's data only (names, tags).
        let scope = filter.store_id.map_or(Scope::AllStores, Scope::Store);
        let one_more = ItemPage { after, offset: 0, limit: limit + 1 };
        let found = db.read(move |conn| items::search(conn, &filter, sort, one_more.clone())).await?;
        let (details, more) = pagination::split_page(found.items, limit);
        let next = match details.last() {
            // Items for corrected words come on one page.
            Some(last) if more && found.corrected.is_none() => {
                let score = found.scores[details.len() - 1];
                let key = ItemSortKey::of(&last.item, score, sort.field);
                let cursor = ItemCursor { sort: sort_name, key: sort_key_to_json(&key), id: last.item.id };
                Some(pagination::next_url(uri, &pagination::encode(&cursor)))
            }
            _ => None,
        };
        let views = details.into_iter().map(ItemView::from).collect::<Vec<_>>();
        let mut page = ApiJson::estimated_page(views, found.total, next);
        if let Some(words) = found.corrected {
            let encoded = rocket::http::RawStr::new(&words).percent_encode().to_string();
            page = page.with_header("X-Did-You-Mean", encoded);
        }
        Ok((scope, page.representation(&site.0)?))
    };
    Ok(Cached::or_fill(&db, key, read).await?)
}

/// How many of the items a filter lets through each tag, each store and
/// each price band would leave: the counts beside the choices of a search
/// page. Takes the filters of `GET /api/items`.
///
/// Counting reads at most the first 1,000 matching items (300 when the
/// database expects over 10,000); when more match, each count is that of
/// those read, scaled to the estimated total, and `approximate` is `true`. Tags and stores come most frequent first, at
/// most 20 of each; every price band comes, empty ones too.
#[utoipa::path(get, path = "/api/items/facets", tag = "items",
    params(
        ("facets" = Option<String>, Query, pattern = r"^(tags|stores|price)(,(tags|stores|price))*$", description = "Which counts, comma-separated: tags, stores, price (default all three)"),
        ("store_id" = Option<i64>, Query, minimum = 1, description = "Only this store's items"),
        ("tag_id" = Option<Vec<i64>>, Query, description = "Only items with all these tags (repeat the parameter)"),
        ("q" = Option<String>, Query, max_length = 80, description = "Words to search for (web search syntax)"),
        ("min_price" = Option<String>, Query, pattern = r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$", description = "Lowest price, e.g. 5 or 5.50"),
        ("max_price" = Option<String>, Query, pattern = r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$", description = "Highest price"),
    ),
    responses(
        (status = 200, description = "The counts", body = FacetsView, headers(("ETag" = String))),
        (status = 304, description = "Not modified since the given ETag"),
    ))]
#[get("/items/facets")]
async fn item_facets(
    db: Db,
    params: QueryParams,
    uri: &Origin<'_>,
    site: SiteUrl,
) -> Result<Cached, Problem> {
    let key = Key::address(&site.0, uri);
    let read = async {
        let mut errors = FieldErrors::new();
        let filter = item_filter(&params, &mut errors);
        let kinds = match params.single("facets", &mut errors) {
            None => FacetKinds::ALL,
            Some(raw) => facet_kinds(raw).unwrap_or_else(|| {
                errors
                    .insert("facets".into(), "must list some of tags, stores, price, comma-separated".into());
                FacetKinds::ALL
            }),
        };
        Error::check(errors)?;
        let scope = filter.store_id.map_or(Scope::AllStores, Scope::Store);
        let counted = db.read(move |conn| Ok(facets::count(conn, &filter, kinds)?)).await?;
        Ok((scope, ApiJson::ok(FacetsView::from(counted)).representation(&site.0)?))
    };
    Ok(Cached::or_fill(&db, key, read).await?)
}

/// `tags,price` and the like; `None` for an unknown word.
fn facet_kinds(raw: &str) -> Option<FacetKinds> {
    let mut kinds = FacetKinds::default();
    for word in raw.split(',') {
        match word {
            "tags" => kinds.tags = true,
            "stores" => kinds.stores = true,
            "price" => kinds.price = true,
            _ => return None,
        }
    }
    Some(kinds)
}

/// Add an item to a store you own (or any store, as staff).
#[utoipa::path(post, path = "/api/items", tag = "items", security(("bearer" = [])),
    request_body(content = NewItemInput, content_type = "application/json"),
    responses(
        (status = 201, description = "The new item", body = ItemView,
            headers(("Location" = String, description = "The item's URL"), ("ETag" = String))),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not your store"),
        (status = 404, description = "No such store"),
    ))]
#[post("/items", data = "<body>")]
async fn create_item(db: Db, user: ApiUser, body: JsonBody) -> Result<ApiJson<ItemView>, Problem> {
    let (store_id, input) = NewItemInput::read(body)?.into_service_input();
    let detail = db.run(move |conn| items::create(conn, &user.actor, store_id, input)).await?;
    let location = format!("/api/items/{}", detail.item.id);
    Ok(ApiJson::created(ItemView::from(detail), location))
}

/// One item with its store and tags.
#[utoipa::path(get, path = "/api/items/{id}", tag = "items",
    params(("id" = i64, Path, minimum = 1, description = "Item id")),
    responses(
        (status = 200, description = "The item", body = ItemView, headers(("ETag" = String))),
        (status = 304, description = "Not modified since the given ETag"),
        (status = 404, description = "No such item"),
    ))]
#[get("/items/<id>")]
async fn get_item(db: Db, id: Id) -> Result<Cached, Problem> {
    let item = Cached::read(&db, Key::Item(id.0), move |conn| {
        let detail = items::detail(conn, id.0)?;
        Ok((detail.item.store_id, ItemView::from(detail)))
    });
    Ok(item.await?)
}

/// Change any of an item's name, price and description. Never creates.
#[utoipa::path(put, path = "/api/items/{id}", tag = "items", security(("bearer" = [])),
    params(
        ("id" = i64, Path, minimum = 1, description = "Item id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version you read"),
    ),
    request_body(content = ItemChangesInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed item", body = ItemView, headers(("ETag" = String))),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not your store's item"),
        (status = 404, description = "No such item"),
        (status = 412, description = "The item changed since the ETag in If-Match"),
    ))]
#[put("/items/<id>", data = "<body>")]
async fn update_item(
    db: Db,
    user: ApiUser,
    id: Id,
    if_match: IfMatch,
    body: JsonBody,
) -> Result<ApiJson<ItemView>, Problem> {
    let input = ItemChangesInput::read(body)?.into_service_input();
    let detail = db
        .run(move |conn| {
            items::update(conn, &user.actor, id.0, input, |current| if_match.check(&ItemView::from(current)))
        })
        .await?;
    Ok(ApiJson::ok(ItemView::from(detail)))
}

/// Delete an item; its tags stay.
#[utoipa::path(delete, path = "/api/items/{id}", tag = "items", security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Item id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not your store's item"),
        (status = 404, description = "No such item"),
    ))]
#[delete("/items/<id>")]
async fn delete_item(db: Db, user: ApiUser, id: Id) -> Result<NoContent, Problem> {
    db.run(move |conn| items::delete(conn, &user.actor, id.0)).await?;
    Ok(NoContent)
}

/// Put tags of the item's store on it: all of them or, if one is unknown or
/// of another store, none. Tags already on it are left alone.
#[utoipa::path(post, path = "/api/items/{id}/tags", tag = "tags", security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Item id")),
    request_body(content = TagIdsInput, content_type = "application/json"),
    responses(
        (status = 200, description = "All the item's tags now", body = Vec<TagRefView>, headers(("ETag" = String))),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not your store's item"),
        (status = 404, description = "No such item"),
    ))]
#[post("/items/<id>/tags", data = "<body>")]
async fn link_tags(
    db: Db,
    user: ApiUser,
    id: Id,
    body: JsonBody,
) -> Result<ApiJson<Vec<TagRefView>>, Problem> {
    let TagIdsInput { tag_ids } = TagIdsInput::read(body)?;
    let tags = db.run(move |conn| tags::link(conn, &user.actor, id.0, &tag_ids)).await?;
    Ok(ApiJson::ok(tags.into_iter().map(TagRefView::from).collect()))
}

/// Take a tag off an item.
#[utoipa::path(delete, path = "/api/items/{item_id}/tags/{tag_id}", tag = "tags", security(("bearer" = [])),
    params(
        ("item_id" = i64, Path, minimum = 1, description = "Item id"),
        ("tag_id" = i64, Path, minimum = 1, description = "Tag id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not your store's item"),
        (status = 404, description = "No such item, or it does not carry the tag"),
    ))]
#[delete("/items/<item_id>/tags/<tag_id>")]
async fn unlink_tag(db: Db, user: ApiUser, item_id: Id, tag_id: Id) -> Result<NoContent, Problem> {
    db.run(move |conn| tags::unlink(conn, &user.actor, item_id.0, tag_id.0)).await?;
    Ok(NoContent)
}
