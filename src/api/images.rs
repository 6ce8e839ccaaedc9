//! Pictures of items: add one (multipart upload), describe or move one,
//! remove one. Each answer is the item as it now is.

use rocket::data::{Data, FromData};
use rocket::form::{Form, FromForm};
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::request::Request;
use rocket::{delete, patch, post, routes, Route};
use utoipa::ToSchema;

use super::guards::{ApiUser, JsonBody};
use super::problem::{stash, Problem};
use super::respond::ApiJson;
use crate::db::Db;
use crate::error::Error;
use crate::pictures::{self, store, Refusal};
use crate::request::Id;
use crate::services::pictures::{self as service, PictureChanges};
use crate::views::ItemView;

pub fn routes() -> Vec<Route> {
    routes![add_image, change_image, remove_image]
}

/// A picture to add.
#[derive(FromForm)]
struct UploadFields<'r> {
    file: TempFile<'r>,
    alt: Option<String>,
}

/// `multipart/form-data` with the picture in `file` and, if wanted, its
/// alt text in `alt`.
#[derive(ToSchema)]
#[allow(dead_code)] // Only its schema is used: the form is `UploadFields`.
pub struct ImageUpload {
    /// JPEG, PNG, WebP or GIF, at most 10 MB and 40 megapixels.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// What the picture shows; the item's name when left out.
    #[schema(max_length = 500)]
    alt: Option<String>,
}

/// The upload, as far as the form goes: its bytes are read in the handler.
struct Upload<'r>(UploadFields<'r>);

#[rocket::async_trait]
impl<'r> FromData<'r> for Upload<'r> {
    type Error = ();

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> rocket::data::Outcome<'r, Self, ()> {
        use rocket::outcome::Outcome;
        let multipart = request.content_type().is_some_and(|ct| ct.is_form_data());
        if !multipart {
            let problem = Problem::new(
                Status::UnsupportedMediaType,
                "unsupported_media_type",
                "Send the picture as multipart/form-data, in a field named file.",
            );
            return Outcome::Error((stash(request, problem), ()));
        }
        match Form::<UploadFields<'r>>::from_data(request, data).await {
            Outcome::Success(form) => {
                let fields = form.into_inner();
                if super::idempotency::armed(request) {
                    // The picture is part of what a retry must repeat.
                    let bytes = crate::request::read_upload(&fields.file, pictures::MAX_BYTES).await;
                    let alt = fields.alt.as_deref().unwrap_or_default().as_bytes();
                    let parts: [&[u8]; 2] = [bytes.as_deref().unwrap_or_default(), alt];
                    if let Err(problem) = super::idempotency::claim(request, &parts).await {
                        return Outcome::Error((stash(request, problem), ()));
                    }
                }
                Outcome::Success(Upload(fields))
            }
            Outcome::Forward(forward) => Outcome::Forward(forward),
            Outcome::Error((_, errors)) => {
                // A field past its limit names the limit; a body the
                // multipart reader could not take apart is of the same kind
                // without one, and is not too large but malformed.
                let too_large = errors.iter().any(|e| {
                    matches!(e.kind, rocket::form::error::ErrorKind::InvalidLength { max: Some(_), .. })
                });
                let problem = if too_large {
                    refusal(&Refusal::TooLarge { bytes: pictures::MAX_BYTES + 1 })
                } else {
                    let fields = errors
                        .iter()
                        .map(|e| {
                            (e.name.as_ref().map_or("file".to_owned(), |n| n.to_string()), e.kind.to_string())
                        })
                        .collect();
                    Problem::from(Error::Invalid(fields))
                };
                Outcome::Error((stash(request, problem), ()))
            }
        }
    }
}

/// The problem answering a refused picture.
fn refusal(why: &Refusal) -> Problem {
    let status = match why {
        Refusal::TooLarge { .. } => Status::PayloadTooLarge,
        Refusal::NotAPicture => Status::UnsupportedMediaType,
        Refusal::Empty | Refusal::TooManyPixels { .. } | Refusal::Unreadable => Status::UnprocessableEntity,
    };
    Problem::new(status, why.code(), why.message())
}

/// Add a picture to an item, as its last. It is judged by its bytes (JPEG,
/// PNG, WebP or GIF; never SVG), refused past 10 MB or 40 megapixels or
/// when cut off, turned upright, stripped of its metadata and made into
/// sizes of 160, 480 and 1280 pixels on the long side. At most 10 per item.
#[utoipa::path(post, path = "/api/items/{id}/images", tag = "items", security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Item id")),
    request_body(content = ImageUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The item with its new picture", body = ItemView,
            headers(("Location" = String, description = "The item"))),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not your store's item"),
        (status = 404, description = "No such item"),
        (status = 409, description = "The item has 10 pictures already"),
        (status = 413, description = "Over 10 MB"),
        (status = 415, description = "Not multipart/form-data, or not a JPEG, PNG, WebP or GIF picture"),
        (status = 422, description = "Over 40 megapixels, empty, truncated or damaged"),
        (status = 503, description = "Too many pictures are being prepared: try again shortly",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
#[post("/items/<id>/images", data = "<upload>")]
async fn add_image(db: Db, user: ApiUser, id: Id, upload: Upload<'_>) -> Result<ApiJson<ItemView>, Problem> {
    let Upload(UploadFields { file, alt }) = upload;
    let alt = service::alt_text(alt.as_deref())?;
    let prepared = pictures::upload::prepare(&file).await?.map_err(|why| refusal(&why))?;
    // Waiting for a place and preparing the picture took time that was not
    // the database's: the write gets a whole budget of its own.
    let (detail, _) = db
        .with_fresh_budget()
        .run(move |conn| service::add(conn, store::configured(), &user.actor, id.0, alt, &prepared))
        .await?;
    let location = format!("/api/items/{}", detail.item.id);
    Ok(ApiJson::created(ItemView::from(detail), location))
}

/// Changes to a picture: either or both.
#[derive(Debug, ToSchema)]
pub struct ImageChangesInput {
    /// What it shows; `null` goes back to the item's name.
    #[schema(value_type = Option<String>, max_length = 500)]
    pub alt: Option<Option<String>>,
    /// Its place among the item's pictures, from 0; past the end is last.
    #[schema(nullable = false, minimum = 0)]
    pub position: Option<i64>,
}

impl ImageChangesInput {
    fn read(body: JsonBody) -> Result<ImageChangesInput, Error> {
        let mut reader = body.reader();
        let alt = reader.nullable_string("alt");
        let position = reader.index("position");
        reader.finish()?;
        Ok(ImageChangesInput { alt, position })
    }

    fn into_changes(self) -> Result<PictureChanges, Error> {
        let alt = match self.alt {
            Some(Some(text)) => Some(service::alt_text(Some(&text))?),
            Some(None) => Some(None),
            None => None,
        };
        Ok(PictureChanges { alt, position: self.position })
    }
}

/// Change a picture's alt text or its place among the item's pictures.
#[utoipa::path(patch, path = "/api/items/{id}/images/{image_id}", tag = "items", security(("bearer" = [])),
    params(
        ("id" = i64, Path, minimum = 1, description = "Item id"),
        ("image_id" = i64, Path, minimum = 1, description = "Picture id"),
    ),
    request_body(content = ImageChangesInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The item as it now is", body = ItemView),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not your store's item"),
        (status = 404, description = "No such item, or no such picture of it"),
    ))]
#[patch("/items/<id>/images/<image_id>", data = "<body>")]
async fn change_image(
    db: Db,
    user: ApiUser,
    id: Id,
    image_id: Id,
    body: JsonBody,
) -> Result<ApiJson<ItemView>, Problem> {
    let changes = ImageChangesInput::read(body)?.into_changes()?;
    let detail = db.run(move |conn| service::change(conn, &user.actor, id.0, image_id.0, changes)).await?;
    Ok(ApiJson::ok(ItemView::from(detail)))
}

/// Remove a picture of an item.
#[utoipa::path(delete, path = "/api/items/{id}/images/{image_id}", tag = "items", security(("bearer" = [])),
    params(
        ("id" = i64, Path, minimum = 1, description = "Item id"),
        ("image_id" = i64, Path, minimum = 1, description = "Picture id"),
    ),
    responses(
        (status = 200, description = "The item as it now is", body = ItemView),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not your store's item"),
        (status = 404, description = "No such item, or no such picture of it"),
    ))]
#[delete("/items/<id>/images/<image_id>")]
async fn remove_image(db: Db, user: ApiUser, id: Id, image_id: Id) -> Result<ApiJson<ItemView>, Problem> {
    let detail =
        db.run(move |conn| service::remove(conn, store::configured(), &user.actor, id.0, image_id.0)).await?;
    Ok(ApiJson::ok(ItemView::from(detail)))
}
