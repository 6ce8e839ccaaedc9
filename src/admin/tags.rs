//! Tags in the admin panel.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, Route};
use rocket_dyn_templates::Template;

use super::listing::{self, after_save, BulkForm, ConfirmForm};
use super::stores::form_errors;
use super::urls::Section;
use super::views::{
    Cell, Choice, Compared, ConflictPage, DeletePage, Field, Filter, FormPage, HistoryPage, ListPage, Named,
    Row,
};
use super::Staff;
use crate::db::Db;
use crate::error::{Error, FieldErrors};
use crate::models::{ItemTag, Store, Tag, TagRef};
use crate::services::tags;
use crate::web::{CheckedForm, CsrfProtected, Layout, PageError, Paging};

pub fn routes() -> Vec<Route> {
    routes![list, new, create, edit, update, confirm_delete, delete, history, bulk_delete]
}

const SECTION: Section = Section::Tags;

/// Stores by name, for pickers and filters (the first 500).
pub fn store_choices(conn: &mut diesel::PgConnection, selected: Option<i64>) -> Result<Vec<Choice>, Error> {
    Ok(Store::names(conn, STORE_CHOICES)?.into_iter().map(|store| store_choice(store, selected)).collect())
}

/// The store picker with the tags of the chosen store, in one statement.
pub fn store_and_tag_choices(
    conn: &mut diesel::PgConnection,
    selected: Option<i64>,
) -> Result<(Vec<Choice>, Vec<TagRef>), Error> {
    let (stores, tags) = Store::names_and_tags_of(conn, STORE_CHOICES, selected)?;
    Ok((stores.into_iter().map(|store| store_choice(store, selected)).collect(), tags))
}

/// How many stores a picker offers.
const STORE_CHOICES: i64 = 500;

fn store_choice((id, name): (i64, String), selected: Option<i64>) -> Choice {
    Choice { value: id.to_string(), label: name, selected: Some(id) == selected }
}

#[get("/?<q>&<sort>&<page>&<store>")]
async fn list(
    db: Db,
    _staff: Staff,
    layout: Layout,
    q: Option<&str>,
    sort: Option<&str>,
    page: Option<&str>,
    store: Option<i64>,
) -> Result<Template, PageError> {
    let (query, page) = listing::list_query(q, sort, page, &["name", "created_at"], "name");
    let search = query.search.clone().unwrap_or_default();
    let sort = query.sort;
    let (rows, total, choices) = db
        .run(move |conn| {
            let (rows, total) = Tag::admin_list(conn, &query, store)?;
            Ok((rows, total, store_choices(conn, store)?))
        })
        .await?;
    let store_param = store.map(|s| s.to_string()).unwrap_or_default();
    let base = SECTION.list_with(&[("q", search.clone()), ("store", store_param.clone())]);
    let columns = listing::columns(
        &[
            ("Name", Some("name"), false),
            ("Store", None, false),
            ("Items", None, true),
            ("Created", Some("created_at"), false),
        ],
        &base,
        sort,
    );
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|(tag, store_name, count)| Row {
            id: tag.id,
            label: format!("{} ({store_name})", tag.name),
            cells: vec![
                Cell::link(&tag.name, SECTION.object(tag.id)),
                Cell::link(store_name, Section::Stores.object(tag.store_id)),
                Cell::link(
                    count,
                    Section::Items
                        .list_with(&[("store", tag.store_id.to_string()), ("tag", tag.id.to_string())]),
                ),
                Cell::text(tag.created_at.format("%Y-%m-%d %H:%M")),
            ],
        })
        .collect();
    let paging_base = SECTION.list_with(&[
        ("q", search.clone()),
        ("store", store_param),
        ("sort", listing::sort_param(sort)),
    ]);
    let paging = Paging::of_total(page, rows.len(), total, &paging_base);
    Ok(Template::render(
        "admin/list.html",
        ListPage {
            layout,
            title: "Tags",
            entity: SECTION.name(),
            singular: "tag",
            columns,
            rows,
            search,
            search_label: "Search by name",
            filters: vec![Filter { name: "store", label: "Store", choices }],
            sort: listing::sort_param(sort),
            paging,
            can_create: true,
        },
    ))
}

fn form_page(
    layout: Layout,
    tag: Option<(&Tag, &str)>,
    name: &str,
    stores: Vec<Choice>,
    errors: FieldErrors,
) -> FormPage {
    let mut fields = Vec::new();
    match tag {
        Some((_, store_name)) => fields.push(Field::text("store", "Store", store_name).kind("static")),
        None => fields.push(Field::text("store_id", "Store", "").kind("select").choices(stores)),
    }
    fields.push(Field::text("name", "Name", name).hint("1 to 40 characters, unique within the store."));
    FormPage {
        layout,
        title: tag.map_or_else(|| "Add tag".to_owned(), |(t, _)| format!("Change tag “{}”", t.name)),
        entity: SECTION.name(),
        singular: "tag",
        id: tag.map(|(t, _)| t.id),
        version: tag.map(|(t, _)| i64::from(t.version)),
        store_id: tag.map(|(t, _)| t.store_id),
        action: tag.map_or_else(|| SECTION.list(), |(t, _)| SECTION.object(t.id)),
        fields,
        errors,
    }
}

#[get("/new?<store>")]
async fn new(db: Db, _staff: Staff, layout: Layout, store: Option<i64>) -> Result<Template, PageError> {
    let stores = db.run(move |conn| store_choices(conn, store)).await?;
    Ok(Template::render("admin/form.html", form_page(layout, None, "", stores, FieldErrors::new())))
}

#[derive(FromForm)]
struct TagForm {
    #[field(default = String::new())]
    csrf_token: String,
    store_id: Option<i64>,
    #[field(default = String::new())]
    name: String,
    version: Option<i64>,
    #[field(default = String::new())]
    action: String,
}

impl CsrfProtected for TagForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/", data = "<form>")]
async fn create(
    db: Db,
    staff: Staff,
    layout: Layout,
    form: CheckedForm<TagForm>,
) -> Result<Result<Flash<Redirect>, (Status, Template)>, PageError> {
    let TagForm { store_id, name, action, .. } = form.0;
    let actor = staff.actor;
    let typed = name.clone();
    let outcome = db
        .run(move |conn| match store_id {
            Some(store_id) => tags::create(conn, &actor, store_id, &typed),
            None => Err(Error::invalid("store_id", "Choose a store.")),
        })
        .await;
    match outcome {
        Ok(detail) => {
            Ok(Ok(after_save(&action, SECTION, detail.tag.id, &format!("tag “{}”", detail.tag.name))))
        }
        Err(error) => {
            let errors = form_errors(error)?;
            let stores = db.run(move |conn| store_choices(conn, store_id)).await?;
            Ok(Err((
                Status::UnprocessableEntity,
                Template::render("admin/form.html", form_page(layout, None, &name, stores, errors)),
            )))
        }
    }
}

#[get("/<id>")]
async fn edit(db: Db, _staff: Staff, layout: Layout, id: i64) -> Result<Template, PageError> {
    let detail = db.run(move |conn| tags::detail(conn, id)).await?;
    let page = form_page(
        layout,
        Some((&detail.tag, &detail.store_name)),
        &detail.tag.name,
        vec![],
        FieldErrors::new(),
    );
    Ok(Template::render("admin/form.html", page))
}

#[post("/<id>", data = "<form>")]
async fn update(
    db: Db,
    staff: Staff,
    layout: Layout,
    id: i64,
    form: CheckedForm<TagForm>,
) -> Result<Result<Flash<Redirect>, (Status, Template)>, PageError> {
    let TagForm { name, version, action, .. } = form.0;
    let actor = staff.actor;
    let typed = name.clone();
    let outcome = db
        .run(move |conn| {
            tags::rename(conn, &actor, id, &typed, |current| {
                listing::same_version(current.version.into(), version)
            })
        })
        .await;
    match outcome {
        Ok(tag) => Ok(Ok(after_save(&action, SECTION, tag.id, &format!("tag “{}”", tag.name)))),
        Err(Error::StaleVersion) => {
            let current = db.run(move |conn| tags::detail(conn, id)).await?;
            let page = ConflictPage {
                layout,
                title: format!("Tag “{}” was changed by someone else", current.tag.name),
                edit_url: SECTION.object(id),
                compared: vec![Compared { label: "Name", yours: name, current: current.tag.name }],
            };
            Ok(Err((Status::Conflict, Template::render("admin/conflict.html", page))))
        }
        Err(error) => {
            let errors = form_errors(error)?;
            let current = db.run(move |conn| tags::detail(conn, id)).await?;
            let mut page =
                form_page(layout, Some((&current.tag, &current.store_name)), &name, vec![], errors);
            page.version = version;
            Ok(Err((Status::UnprocessableEntity, Template::render("admin/form.html", page))))
        }
    }
}

async fn delete_page(db: &Db, layout: Layout, ids: Vec<i64>, action: String) -> Result<Template, PageError> {
    let (objects, links) = db
        .run(move |conn| {
            let mut objects = Vec::new();
            let mut links = 0;
            for id in ids {
                let detail = tags::detail(conn, id)?;
                links += ItemTag::count_for_tag(conn, id)?;
                objects.push(Named { id, label: format!("{} ({})", detail.tag.name, detail.store_name) });
            }
            Ok((objects, links))
        })
        .await?;
    let what =
        if objects.len() == 1 { "this tag".to_owned() } else { format!("these {} tags", objects.len()) };
    let problem = (links > 0).then(|| {
        format!("Items still carry {what} ({links} links). Remove the tags from those items first; nothing was deleted.")
    });
    Ok(Template::render(
        "admin/delete.html",
        DeletePage {
            layout,
            title: format!("Delete {what}?"),
            entity: SECTION.name(),
            objects,
            consequences: Vec::new(),
            action,
            cancel: SECTION.list(),
            problem,
        },
    ))
}

#[get("/<id>/delete")]
async fn confirm_delete(db: Db, _staff: Staff, layout: Layout, id: i64) -> Result<Template, PageError> {
    delete_page(&db, layout, vec![id], SECTION.delete(id)).await
}

#[post("/<id>/delete", data = "<_form>")]
async fn delete(
    db: Db,
    staff: Staff,
    layout: Layout,
    id: i64,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Result<Flash<Redirect>, (Status, Template)>, PageError> {
    let actor = staff.actor;
    match db.run(move |conn| tags::delete(conn, &actor, id)).await {
        Ok(()) => Ok(Ok(Flash::success(Redirect::to(SECTION.list()), "Deleted the tag."))),
        Err(Error::Conflict(_)) => {
            Ok(Err((Status::Conflict, delete_page(&db, layout, vec![id], SECTION.delete(id)).await?)))
        }
        Err(other) => Err(other.into()),
    }
}

#[post("/bulk-delete", data = "<form>")]
async fn bulk_delete(
    db: Db,
    staff: Staff,
    layout: Layout,
    form: CheckedForm<BulkForm>,
) -> Result<Result<Flash<Redirect>, (Status, Template)>, PageError> {
    let BulkForm { ids, confirmed, .. } = form.0;
    if ids.is_empty() {
        return Ok(Ok(Flash::error(Redirect::to(SECTION.list()), "Select the tags to delete first.")));
    }
    if !confirmed {
        return Ok(Err((Status::Ok, delete_page(&db, layout, ids, SECTION.bulk_delete()).await?)));
    }
    let actor = staff.actor;
    let selected = ids.clone();
    let outcome = listing::delete_all(&db, selected, move |conn, id| tags::delete(conn, &actor, id)).await;
    match outcome {
        Ok(()) => {
            Ok(Ok(Flash::success(Redirect::to(SECTION.list()), format!("Deleted {} tags.", ids.len()))))
        }
        Err(Error::Conflict(_)) => {
            Ok(Err((Status::Conflict, delete_page(&db, layout, ids, SECTION.bulk_delete()).await?)))
        }
        Err(other) => Err(other.into()),
    }
}

#[get("/<id>/history")]
async fn history(db: Db, _staff: Staff, layout: Layout, id: i64) -> Result<Template, PageError> {
    let (detail, entries) =
        db.run(move |conn| Ok((tags::detail(conn, id)?, listing::history(conn, "tag", id)?))).await?;
    let page = HistoryPage {
        layout,
        title: format!("History of tag “{}”", detail.tag.name),
        back: SECTION.object(id),
        entries,
    };
    Ok(Template::render("admin/history.html", page))
}
