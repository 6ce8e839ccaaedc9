//! Stores.

use rocket::http::uri::Origin;
use rocket::{delete, get, post, put, routes, Route};
use utoipa::ToSchema;

use super::guards::{ApiUser, JsonBody, QueryParams};
use super::pagination::{self, AfterId};
use super::problem::Problem;
use super::respond::{ApiJson, Cached, IfMatch, NoContent};
use crate::cache::{Key, Scope};
use crate::db::Db;
use crate::error::{Error, FieldErrors};
use crate::models::PageRequest;
use crate::request::{Id, SiteUrl};
use crate::services::stores;
use crate::views::StoreView;

pub fn routes() -> Vec<Route> {
    routes![list_stores, create_store, get_store, update_store, delete_store]
}

/// `limit` and `cursor` of a list ordered by id.
pub fn page_request(params: &QueryParams) -> Result<PageRequest, Error> {
    let mut errors = FieldErrors::new();
    let limit = pagination::limit(params.single("limit", &mut errors), &mut errors);
    let after = pagination::decode::<AfterId>(params.single("cursor", &mut errors), &mut errors);
    Error::check(errors)?;
    Ok(PageRequest { limit, after_id: after.map(|a| a.id) })
}

/// The address of the page after the one ending at `last_id`, if any
/// (`None` when no more rows follow).
pub fn next_after(uri: &Origin<'_>, last_id: Option<i64>) -> Option<String> {
    last_id.map(|id| pagination::next_url(uri, &pagination::encode(&AfterId { id })))
}

/// A store's name.
#[derive(Debug, ToSchema)]
pub struct StoreInput {
    /// 1 to 80 characters, unique among stores ignoring case.
    #[schema(
        example = "My first store",
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]*[^\s\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8][^\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]*$"
    )]
    pub name: String,
}

impl StoreInput {
    fn read(body: JsonBody) -> Result<StoreInput, Error> {
        let mut reader = body.reader();
        let name = reader.required_string("name");
        reader.finish()?;
        Ok(StoreInput { name: name.unwrap_or_default() })
    }
}

/// All stores, oldest first.
#[utoipa::path(get, path = "/api/stores", tag = "stores",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Page size (default 50)"),
        ("cursor" = Option<String>, Query, description = "From the previous page's `Link` header"),
    ),
    responses(
        (status = 200, description = "A page of stores", body = Vec<StoreView>, headers(
            ("X-Total-Count" = i64, description = "Number of stores"),
            ("Link" = String, description = "`<url>; rel=\"next\"` when there is a next page"),
            ("ETag" = String))),
        (status = 304, description = "Not modified since the given ETag"),
    ))]
#[get("/stores")]
async fn list_stores(
    db: Db,
    params: QueryParams,
    uri: &Origin<'_>,
    site: SiteUrl,
) -> Result<Cached, Problem> {
    let key = Key::address(&site.0, uri);
    let read = async {
        let page = page_request(&params)?;
        let one_more = PageRequest { limit: page.limit + 1, ..page };
        let (stores, total) = db.read(move |conn| stores::list(conn, one_more)).await?;
        let (stores, more) = pagination::split_page(stores, page.limit);
        let next = next_after(uri, stores.last().filter(|_| more).map(|s| s.id));
        let views = stores.into_iter().map(StoreView::from).collect::<Vec<_>>();
        Ok((Scope::AllStores, ApiJson::page(views, total, next).representation(&site.0)?))
    };
    Ok(Cached::or_fill(&db, key, read).await?)
}

/// Open a store; you become its owner.
#[utoipa::path(post, path = "/api/stores", tag = "stores", security(("bearer" = [])),
    request_body(content = StoreInput, content_type = "application/json"),
    responses(
        (status = 201, description = "The new store", body = StoreView,
            headers(("Location" = String, description = "The store's URL"), ("ETag" = String))),
        (status = 401, description = "No valid token"),
        (status = 409, description = "A store with this name exists"),
    ))]
#[post("/stores", data = "<body>")]
async fn create_store(db: Db, user: ApiUser, body: JsonBody) -> Result<ApiJson<StoreView>, Problem> {
    let input = StoreInput::read(body)?;
    let store = db.run(move |conn| stores::create(conn, &user.actor, &input.name)).await?;
    let location = format!("/api/stores/{}", store.id);
    Ok(ApiJson::created(StoreView::from(store), location))
}

/// One store.
#[utoipa::path(get, path = "/api/stores/{id}", tag = "stores",
    params(("id" = i64, Path, minimum = 1, description = "Store id")),
    responses(
        (status = 200, description = "The store", body = StoreView, headers(("ETag" = String))),
        (status = 304, description = "Not modified since the given ETag"),
        (status = 404, description = "No such store"),
    ))]
#[get("/stores/<id>")]
async fn get_store(db: Db, id: Id) -> Result<Cached, Problem> {
    let store = Cached::read(&db, Key::Store(id.0), move |conn| {
        let store = stores::get(conn, id.0)?;
        Ok((store.id, StoreView::from(store)))
    });
    Ok(store.await?)
}

/// Rename a store: its owner or staff. Send `If-Match` with the ETag you
/// read to be sure nobody changed it in between.
#[utoipa::path(put, path = "/api/stores/{id}", tag = "stores", security(("bearer" = [])),
    params(
        ("id" = i64, Path, minimum = 1, description = "Store id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version you read"),
    ),
    request_body(content = StoreInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The renamed store", body = StoreView, headers(("ETag" = String))),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not your store"),
        (status = 404, description = "No such store"),
        (status = 409, description = "A store with this name exists"),
        (status = 412, description = "The store changed since the ETag in If-Match"),
    ))]
#[put("/stores/<id>", data = "<body>")]
async fn update_store(
    db: Db,
    user: ApiUser,
    id: Id,
    if_match: IfMatch,
    body: JsonBody,
) -> Result<ApiJson<StoreView>, Problem> {
    let input = StoreInput::read(body)?;
    let store = db
        .run(move |conn| {
            stores::rename(conn, &user.actor, id.0, &input.name, |current| {
                if_match.check(&StoreView::from(current.clone()))
            })
        })
        .await?;
    Ok(ApiJson::ok(StoreView::from(store)))
}

/// Delete a store with its items, tags and links: staff, or its owner with
/// a fresh token.
#[utoipa::path(delete, path = "/api/stores/{id}", tag = "stores", security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Store id")),
    responses(
        (status = 204, description = "Deleted, with everything in it"),
        (status = 401, description = "No valid token, or the owner's token is not fresh"),
        (status = 403, description = "Not your store"),
        (status = 404, description = "No such store"),
    ))]
#[delete("/stores/<id>")]
async fn delete_store(db: Db, user: ApiUser, id: Id) -> Result<NoContent, Problem> {
    db.run(move |conn| stores::delete(conn, &user.actor, id.0)).await?;
    Ok(NoContent)
}
