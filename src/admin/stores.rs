//! Stores in the admin panel.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, Route};
use rocket_dyn_templates::Template;

use super::listing::{self, after_save, BulkForm, ConfirmForm};
use super::urls::Section;
use super::views::{
    Cell, Column, Compared, ConflictPage, DeletePage, Field, FormPage, HistoryPage, ListPage, Named, Row,
};
use super::Staff;
use crate::db::Db;
use crate::error::{Error, FieldErrors};
use crate::models::Store;
use crate::services::stores;
use crate::web::{CheckedForm, CsrfProtected, Layout, PageError, Paging};

pub fn routes() -> Vec<Route> {
    routes![list, new, create, edit, update, confirm_delete, delete, history, bulk_delete]
}

const SECTION: Section = Section::Stores;

#[get("/?<q>&<sort>&<page>")]
async fn list(
    db: Db,
    _staff: Staff,
    layout: Layout,
    q: Option<&str>,
    sort: Option<&str>,
    page: Option<&str>,
) -> Result<Template, PageError> {
    let (query, page) = listing::list_query(q, sort, page, &["name", "created_at", "updated_at"], "name");
    let search = query.search.clone().unwrap_or_default();
    let sort = query.sort;
    let (rows, total) = db.run(move |conn| Ok(Store::admin_list(conn, &query)?)).await?;
    let base = SECTION.list_with(&[("q", search.clone())]);
    let columns: Vec<Column> = listing::columns(
        &[
            ("Name", Some("name"), false),
            ("Items", None, true),
            ("Created", Some("created_at"), false),
            ("Changed", Some("updated_at"), false),
        ],
        &base,
        sort,
    );
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|(store, items)| Row {
            id: store.id,
            label: store.name.clone(),
            cells: vec![
                Cell::link(&store.name, SECTION.object(store.id)),
                Cell::link(items, Section::Items.list_with(&[("store", store.id.to_string())])),
                Cell::text(store.created_at.format("%Y-%m-%d %H:%M")),
                Cell::text(store.updated_at.format("%Y-%m-%d %H:%M")),
            ],
        })
        .collect();
    let paging_base = SECTION.list_with(&[("q", search.clone()), ("sort", listing::sort_param(sort))]);
    let paging = Paging::of_total(page, rows.len(), total, &paging_base);
    Ok(Template::render(
        "admin/list.html",
        ListPage {
            layout,
            title: "Stores",
            entity: SECTION.name(),
            singular: "store",
            columns,
            rows,
            search,
            search_label: "Search by name",
            filters: Vec::new(),
            sort: listing::sort_param(sort),
            paging,
            can_create: true,
        },
    ))
}

fn form_page(layout: Layout, store: Option<&Store>, name: &str, errors: FieldErrors) -> FormPage {
    let mut fields = vec![Field::text("name", "Name", name).hint("1 to 80 characters, unique among stores.")];
    if let Some(store) = store {
        let owner = store.owner_id.map_or_else(|| "nobody".to_owned(), |id| format!("user {id}"));
        fields.push(Field::text("owner", "Owner", owner).kind("static"));
    }
    FormPage {
        layout,
        title: store.map_or_else(|| "Add store".to_owned(), |s| format!("Change store “{}”", s.name)),
        entity: SECTION.name(),
        singular: "store",
        id: store.map(|s| s.id),
        version: store.map(|s| i64::from(s.version)),
        store_id: store.map(|s| s.id),
        action: store.map_or_else(|| SECTION.list(), |s| SECTION.object(s.id)),
        fields,
        errors,
    }
}

#[get("/new")]
fn new(_staff: Staff, layout: Layout) -> Template {
    Template::render("admin/form.html", form_page(layout, None, "", FieldErrors::new()))
}

#[derive(FromForm)]
struct StoreForm {
    #[field(default = String::new())]
    csrf_token: String,
    #[field(default = String::new())]
    name: String,
    version: Option<i64>,
    #[field(default = String::new())]
    action: String,
}

impl CsrfProtected for StoreForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/", data = "<form>")]
async fn create(
    db: Db,
    staff: Staff,
    layout: Layout,
    form: CheckedForm<StoreForm>,
) -> Result<Result<Flash<Redirect>, (Status, Template)>, PageError> {
    let StoreForm { name, action, .. } = form.0;
    let typed = name.clone();
    let actor = staff.actor;
    match db.run(move |conn| stores::create(conn, &actor, &typed)).await {
        Ok(store) => Ok(Ok(after_save(&action, SECTION, store.id, &format!("store “{}”", store.name)))),
        Err(error) => {
            let errors = form_errors(error)?;
            Ok(Err((
                Status::UnprocessableEntity,
                Template::render("admin/form.html", form_page(layout, None, &name, errors)),
            )))
        }
    }
}

/// Validation and conflicts are shown on the form; anything else is an error page.
pub fn form_errors(error: Error) -> Result<FieldErrors, PageError> {
    match error {
        Error::Invalid(errors) => Ok(errors),
        Error::Conflict(why) => Ok(FieldErrors::from([("name".to_owned(), why)])),
        other => Err(PageError::from(other)),
    }
}

#[get("/<id>")]
async fn edit(db: Db, _staff: Staff, layout: Layout, id: i64) -> Result<Template, PageError> {
    let store = db.run(move |conn| stores::get(conn, id)).await?;
    let name = store.name.clone();
    Ok(Template::render("admin/form.html", form_page(layout, Some(&store), &name, FieldErrors::new())))
}

#[post("/<id>", data = "<form>")]
async fn update(
    db: Db,
    staff: Staff,
    layout: Layout,
    id: i64,
    form: CheckedForm<StoreForm>,
) -> Result<Result<Flash<Redirect>, (Status, Template)>, PageError> {
    let StoreForm { name, version, action, .. } = form.0;
    let typed = name.clone();
    let actor = staff.actor;
    let outcome = db
        .run(move |conn| {
            stores::rename(conn, &actor, id, &typed, |current| {
                listing::same_version(current.version.into(), version)
            })
        })
        .await;
    match outcome {
        Ok(store) => Ok(Ok(after_save(&action, SECTION, store.id, &format!("store “{}”", store.name)))),
        Err(Error::StaleVersion) => {
            let current = db.run(move |conn| stores::get(conn, id)).await?;
            let page = ConflictPage {
                layout,
                title: format!("Store “{}” was changed by someone else", current.name),
                edit_url: SECTION.object(id),
                compared: vec![Compared { label: "Name", yours: name, current: current.name }],
            };
            Ok(Err((Status::Conflict, Template::render("admin/conflict.html", page))))
        }
        Err(error) => {
            let errors = form_errors(error)?;
            let current = db.run(move |conn| stores::get(conn, id)).await?;
            let mut page = form_page(layout, Some(&current), &name, errors);
            page.version = version;
            Ok(Err((Status::UnprocessableEntity, Template::render("admin/form.html", page))))
        }
    }
}

/// The confirmation page of a delete, single or bulk.
async fn delete_page(db: &Db, layout: Layout, ids: Vec<i64>, action: String) -> Result<Template, PageError> {
    let (objects, items, tags, links) = db
        .run(move |conn| {
            let mut objects = Vec::new();
            let (mut items, mut tags, mut links) = (0, 0, 0);
            for id in ids {
                let store = stores::get(conn, id)?;
                let contents = stores::contents(conn, id)?;
                items += contents.items;
                tags += contents.tags;
                links += contents.links;
                objects.push(Named { id, label: store.name });
            }
            Ok((objects, items, tags, links))
        })
        .await?;
    let what =
        if objects.len() == 1 { "this store".to_owned() } else { format!("these {} stores", objects.len()) };
    let page = DeletePage {
        layout,
        title: format!("Delete {what}?"),
        entity: SECTION.name(),
        consequences: vec![
            format!("{items} items"),
            format!("{tags} tags"),
            format!("{links} links between those items and tags"),
        ],
        objects,
        cancel: SECTION.list(),
        action,
        problem: None,
    };
    Ok(Template::render("admin/delete.html", page))
}

#[get("/<id>/delete")]
async fn confirm_delete(db: Db, _staff: Staff, layout: Layout, id: i64) -> Result<Template, PageError> {
    delete_page(&db, layout, vec![id], SECTION.delete(id)).await
}

#[post("/<id>/delete", data = "<_form>")]
async fn delete(
    db: Db,
    staff: Staff,
    id: i64,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Flash<Redirect>, PageError> {
    let actor = staff.actor;
    db.run(move |conn| stores::delete(conn, &actor, id)).await?;
    Ok(Flash::success(Redirect::to(SECTION.list()), "Deleted the store with its items and tags."))
}

#[post("/bulk-delete", data = "<form>")]
async fn bulk_delete(
    db: Db,
    staff: Staff,
    layout: Layout,
    form: CheckedForm<BulkForm>,
) -> Result<Result<Flash<Redirect>, Template>, PageError> {
    let BulkForm { ids, confirmed, .. } = form.0;
    if ids.is_empty() {
        return Ok(Ok(Flash::error(Redirect::to(SECTION.list()), "Select the stores to delete first.")));
    }
    if !confirmed {
        return Ok(Err(delete_page(&db, layout, ids, SECTION.bulk_delete()).await?));
    }
    let actor = staff.actor;
    let count = ids.len();
    listing::delete_all(&db, ids, move |conn, id| stores::delete(conn, &actor, id).map(drop)).await?;
    Ok(Ok(Flash::success(
        Redirect::to(SECTION.list()),
        format!("Deleted {count} stores with their items and tags."),
    )))
}

#[get("/<id>/history")]
async fn history(db: Db, _staff: Staff, layout: Layout, id: i64) -> Result<Template, PageError> {
    let (store, entries) =
        db.run(move |conn| Ok((stores::get(conn, id)?, listing::history(conn, "store", id)?))).await?;
    let page = HistoryPage {
        layout,
        title: format!("History of store “{}”", store.name),
        back: SECTION.object(id),
        entries,
    };
    Ok(Template::render("admin/history.html", page))
}
