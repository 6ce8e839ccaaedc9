//! An item's pictures in the panel: add several at once, describe each,
//! move it, remove it. Plain forms, no script needed; each answers with a
//! redirect back to the page and a message. For staff and for the store's
//! owner, like the item's other pages: the services check.

use rocket::form::FromForm;
use rocket::fs::TempFile;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, Route};
use rocket_dyn_templates::Template;
use serde::Serialize;

use super::urls::Section;
use super::views::Crumb;
use super::PanelUser;
use crate::db::Db;
use crate::error::Error;
use crate::models::picture::MAX_PER_ITEM;
use crate::pictures::{self, store};
use crate::services::items;
use crate::services::pictures::{self as service, PictureChanges};
use crate::views::ImageView;
use crate::web::{CheckedForm, CsrfProtected, Layout, PageError};

pub fn routes() -> Vec<Route> {
    routes![page, upload, change, remove]
}

#[derive(Serialize)]
struct PicturesPage {
    layout: Layout,
    crumbs: Vec<Crumb>,
    title: String,
    item_id: i64,
    item_name: String,
    edit_url: String,
    action: String,
    pictures: Vec<ImageView>,
    /// How many more the item may have.
    room: usize,
    max: i64,
}

#[get("/<id>/pictures")]
async fn page(db: Db, panel: PanelUser, layout: Layout, id: i64) -> Result<Template, PageError> {
    let actor = panel.actor;
    let detail = db.run(move |conn| items::detail_managed(conn, &actor, id)).await?;
    let pictures = ImageView::all_of(&detail.item);
    let panel_crumb = Crumb::panel(&panel.actor);
    let name = detail.item.name.clone();
    let page = PicturesPage {
        layout,
        crumbs: vec![
            panel_crumb,
            Crumb::link("Items", Section::Items.list()),
            Crumb::link(format!("Item “{name}”"), Section::Items.object(id)),
            Crumb::here("Pictures".to_owned()),
        ],
        title: format!("Pictures of “{name}”"),
        item_id: id,
        item_name: name,
        edit_url: Section::Items.object(id),
        action: pictures_url(id),
        room: usize::try_from(MAX_PER_ITEM).unwrap_or(0).saturating_sub(pictures.len()),
        max: MAX_PER_ITEM,
        pictures,
    };
    Ok(Template::render("admin/pictures.html", page))
}

fn pictures_url(id: i64) -> String {
    Section::Items.pictures(id).unwrap_or_default()
}

#[derive(FromForm)]
struct UploadForm<'r> {
    #[field(default = String::new())]
    csrf_token: String,
    /// Any number of files, added in the order given.
    #[field(default = Vec::new())]
    files: Vec<TempFile<'r>>,
}

impl CsrfProtected for UploadForm<'_> {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Adds each chosen file as a picture, in order; says which were added and
/// why any other was not.
#[post("/<id>/pictures", data = "<form>")]
async fn upload(
    db: Db,
    panel: PanelUser,
    id: i64,
    form: CheckedForm<UploadForm<'_>>,
) -> Result<Flash<Redirect>, PageError> {
    let back = Redirect::to(pictures_url(id));
    // A file input left empty still sends one nameless, empty part.
    let files: Vec<&TempFile<'_>> =
        form.0.files.iter().filter(|f| f.len() > 0 || f.name().is_some()).collect();
    if files.is_empty() {
        return Ok(Flash::error(back, "Choose one or more pictures to add."));
    }
    let mut added = 0;
    let mut refused = Vec::new();
    for (n, file) in files.into_iter().enumerate() {
        // The name as chosen, for the message only (pages escape it).
        let typed = file.raw_name().map(|name| name.dangerous_unsafe_unsanitized_raw().as_str().to_owned());
        let label = typed.map_or_else(|| format!("file {}", n + 1), |name| format!("“{name}”"));
        let prepared = match pictures::upload::prepare(file).await? {
            Ok(prepared) => prepared,
            Err(why) => {
                refused.push(format!("{label}: {}", why.message().trim_end_matches('.')));
                continue;
            }
        };
        let actor = panel.actor;
        let result = db
            .with_fresh_budget()
            .run(move |conn| service::add(conn, store::configured(), &actor, id, None, &prepared))
            .await;
        match result {
            Ok(_) => added += 1,
            Err(Error::Conflict(message)) => {
                refused.push(format!("{label}: {}", message.trim_end_matches('.')))
            }
            Err(other) => return Err(other.into()),
        }
    }
    let mut message = match added {
        0 => String::from("No picture was added."),
        1 => String::from("1 picture added."),
        n => format!("{n} pictures added."),
    };
    if !refused.is_empty() {
        message.push_str(&format!(" Not added: {}.", refused.join("; ")));
        return Ok(Flash::error(back, message));
    }
    Ok(Flash::success(back, message))
}

#[derive(FromForm)]
struct PictureForm {
    #[field(default = String::new())]
    csrf_token: String,
    #[field(default = String::new())]
    alt: String,
    /// Its place, from 1 as shown.
    #[field(default = String::new())]
    position: String,
}

impl CsrfProtected for PictureForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Saves a picture's alt text and place.
#[post("/<id>/pictures/<picture_id>", data = "<form>")]
async fn change(
    db: Db,
    panel: PanelUser,
    id: i64,
    picture_id: i64,
    form: CheckedForm<PictureForm>,
) -> Result<Flash<Redirect>, PageError> {
    let back = Redirect::to(pictures_url(id));
    let PictureForm { alt, position, .. } = form.0;
    let alt = match service::alt_text(Some(&alt)) {
        Ok(alt) => alt,
        Err(_) => return Ok(Flash::error(back, "The alt text must be at most 500 ordinary characters.")),
    };
    let position = match position.trim() {
        "" => None,
        typed => match typed.parse::<i64>() {
            Ok(place) if place >= 1 => Some(place - 1),
            _ => return Ok(Flash::error(back, "The place must be a whole number from 1.")),
        },
    };
    let changes = PictureChanges { alt: Some(alt), position };
    let actor = panel.actor;
    db.run(move |conn| service::change(conn, &actor, id, picture_id, changes)).await?;
    Ok(Flash::success(back, "Picture saved."))
}

#[derive(FromForm)]
struct RemoveForm {
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for RemoveForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/<id>/pictures/<picture_id>/remove", data = "<_form>")]
async fn remove(
    db: Db,
    panel: PanelUser,
    id: i64,
    picture_id: i64,
    _form: CheckedForm<RemoveForm>,
) -> Result<Flash<Redirect>, PageError> {
    let actor = panel.actor;
    db.run(move |conn| service::remove(conn, store::configured(), &actor, id, picture_id)).await?;
    Ok(Flash::success(Redirect::to(pictures_url(id)), "Picture removed."))
}
