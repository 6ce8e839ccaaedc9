//! Tags of a store.

use rocket::http::uri::Origin;
use rocket::{delete, get, post, routes, Route};
use utoipa::ToSchema;

use super::guards::{ApiUser, JsonBody, QueryParams};
use super::pagination;
use super::problem::Problem;
use super::respond::{ApiJson, Cached, NoContent};
use super::stores::{next_after, page_request};
use crate::cache::{Key, Scope};
use crate::db::Db;
use crate::error::Error;
use crate::models::PageRequest;
use crate::request::{Id, SiteUrl};
use crate::services::tags;
use crate::views::TagView;

pub fn routes() -> Vec<Route> {
    routes![list_store_tags, create_tag, get_tag, delete_tag]
}

/// A tag's name.
#[derive(Debug, ToSchema)]
pub struct TagInput {
    /// 1 to 40 characters, unique within the store ignoring case.
    #[schema(
        example = "science fiction",
        min_length = 1,
        max_length = 40,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]*[^\s\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8][^\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]*$"
    )]
    pub name: String,
}

impl TagInput {
    fn read(body: JsonBody) -> Result<TagInput, Error> {
        let mut reader = body.reader();
        let name = reader.required_string("name");
        reader.finish()?;
        Ok(TagInput { name: name.unwrap_or_default() })
    }
}

/// A store's tags, oldest first.
#[utoipa::path(get, path = "/api/stores/{id}/tags", tag = "tags",
    params(
        ("id" = i64, Path, minimum = 1, description = "Store id"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Page size (default 50)"),
        ("cursor" = Option<String>, Query, description = "From the previous page's `Link` header"),
    ),
    responses(
        (status = 200, description = "A page of tags", body = Vec<TagView>, headers(
            ("X-Total-Count" = i64, description = "Number of the store's tags"),
            ("Link" = String, description = "`<url>; rel=\"next\"` when there is a next page"),
            ("ETag" = String))),
        (status = 304, description = "Not modified since the given ETag"),
        (status = 404, description = "No such store"),
    ))]
#[get("/stores/<id>/tags")]
async fn list_store_tags(
    db: Db,
    id: Id,
    params: QueryParams,
    uri: &Origin<'_>,
    site: SiteUrl,
) -> Result<Cached, Problem> {
    let key = Key::address(&site.0, uri);
    let read = async {
        let page = page_request(&params)?;
        let one_more = PageRequest { limit: page.limit + 1, ..page };
        let tags::StoreTags { store, tags, total } =
            db.read(move |conn| tags::list_in_store(conn, id.0, one_more)).await?;
        let (tags, more) = pagination::split_page(tags, page.limit);
        let next = next_after(uri, tags.last().filter(|_| more).map(|(t, _)| t.id));
        let views: Vec<TagView> =
            tags.into_iter().map(|(tag, count)| TagView::new(tag, store.name.clone(), count)).collect();
        Ok((Scope::Store(id.0), ApiJson::page(views, total, next).representation(&site.0)?))
    };
    Ok(Cached::or_fill(&db, key, read).await?)
}

/// Create a tag in a store you own (or any store, as staff).
#[utoipa::path(post, path = "/api/stores/{id}/tags", tag = "tags", security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Store id")),
    request_body(content = TagInput, content_type = "application/json"),
    responses(
        (status = 201, description = "The new tag", body = TagView,
            headers(("Location" = String, description = "The tag's URL"), ("ETag" = String))),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not your store"),
        (status = 404, description = "No such store"),
        (status = 409, description = "The store has a tag with this name"),
    ))]
#[post("/stores/<id>/tags", data = "<body>")]
async fn create_tag(db: Db, user: ApiUser, id: Id, body: JsonBody) -> Result<ApiJson<TagView>, Problem> {
    let input = TagInput::read(body)?;
    let detail = db.run(move |conn| tags::create(conn, &user.actor, id.0, &input.name)).await?;
    let location = format!("/api/tags/{}", detail.tag.id);
    Ok(ApiJson::created(TagView::from(detail), location))
}

/// One tag, with how many items carry it.
#[utoipa::path(get, path = "/api/tags/{id}", tag = "tags",
    params(("id" = i64, Path, minimum = 1, description = "Tag id")),
    responses(
        (status = 200, description = "The tag", body = TagView, headers(("ETag" = String))),
        (status = 304, description = "Not modified since the given ETag"),
        (status = 404, description = "No such tag"),
    ))]
#[get("/tags/<id>")]
async fn get_tag(db: Db, id: Id) -> Result<Cached, Problem> {
    let tag = Cached::read(&db, Key::Tag(id.0), move |conn| {
        let detail = tags::detail(conn, id.0)?;
        Ok((detail.tag.store_id, TagView::from(detail)))
    });
    Ok(tag.await?)
}

/// Delete a tag that no item carries.
#[utoipa::path(delete, path = "/api/tags/{id}", tag = "tags", security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Tag id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not your store's tag"),
        (status = 404, description = "No such tag"),
        (status = 409, description = "Items still carry the tag"),
    ))]
#[delete("/tags/<id>")]
async fn delete_tag(db: Db, user: ApiUser, id: Id) -> Result<NoContent, Problem> {
    db.run(move |conn| tags::delete(conn, &user.actor, id.0)).await?;
    Ok(NoContent)
}
