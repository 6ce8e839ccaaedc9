//! Items in the admin panel; their tag checkboxes offer only their store's tags.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, Route};
use rocket_dyn_templates::Template;

use super::listing::{self, after_save, BulkForm, ConfirmForm};
use super::stores::form_errors;
use super::tags::store_and_tag_choices;
use super::urls::Section;
use super::views::{
    Cell, Choice, Compared, ConflictPage, DeletePage, Field, Filter, FormPage, HistoryPage, ListPage, Named,
    Row,
};
use super::Staff;
use crate::db::Db;
use crate::error::{Error, FieldErrors};
use crate::models::{ItemFilter, ItemSort, ItemSortField, Tag, TagRef};
use crate::services::items::{self, ItemDetail, ItemInput, ItemPage};
use crate::web::{CheckedForm, CsrfProtected, Layout, PageError, Paging};

pub fn routes() -> Vec<Route> {
    routes![list, new, create, edit, update, confirm_delete, delete, history, bulk_delete]
}

const SECTION: Section = Section::Items;

#[allow(clippy::too_many_arguments)] // one per query parameter
#[get("/?<q>&<sort>&<page>&<store>&<tag>")]
async fn list(
    db: Db,
    _staff: Staff,
    layout: Layout,
    q: Option<&str>,
    sort: Option<&str>,
    page: Option<&str>,
    store: Option<i64>,
    tag: Option<i64>,
) -> Result<Template, PageError> {
    let (query, page) = listing::list_query(q, sort, page, &["name", "price", "created_at"], "name");
    let search = query.search.clone().unwrap_or_default();
    let list_sort = query.sort;
    let field = match list_sort.column {
        "price" => ItemSortField::Price,
        "created_at" => ItemSortField::CreatedAt,
        _ => ItemSortField::Name,
    };
    let filter = ItemFilter {
        store_id: store,
        tag_ids: tag.into_iter().collect(),
        name_contains: query.search.clone(),
        ..ItemFilter::default()
    };
    let listing = ItemPage { after: None, offset: query.offset, limit: query.limit };
    let (details, total, stores, store_tags) = db
        .run(move |conn| {
            let sort = ItemSort { field, descending: list_sort.descending };
            let (details, total) = items::list(conn, &filter, sort, listing)?;
            let (stores, store_tags) = store_and_tag_choices(conn, store)?;
            Ok((details, total, stores, store_tags))
        })
        .await?;
    let (store_param, tag_param) =
        (store.map(|s| s.to_string()).unwrap_or_default(), tag.map(|t| t.to_string()).unwrap_or_default());
    let base = SECTION.list_with(&[
        ("q", search.clone()),
        ("store", store_param.clone()),
        ("tag", tag_param.clone()),
    ]);
    let columns = listing::columns(
        &[
            ("Name", Some("name"), false),
            ("Store", None, false),
            ("Tags", None, false),
            ("Price", Some("price"), true),
            ("Created", Some("created_at"), false),
        ],
        &base,
        list_sort,
    );
    let rows: Vec<Row> = details
        .into_iter()
        .map(|ItemDetail { item, store_name, tags }| Row {
            id: item.id,
            label: item.name.clone(),
            cells: vec![
                Cell::link(&item.name, SECTION.object(item.id)),
                Cell::link(store_name, Section::Stores.object(item.store_id)),
                Cell::text(tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")),
                Cell::text(item.price),
                Cell::text(item.created_at.format("%Y-%m-%d %H:%M")),
            ],
        })
        .collect();
    let mut filters = vec![Filter { name: "store", label: "Store", choices: stores }];
    if store.is_some() {
        let choices = store_tags
            .into_iter()
            .map(|t| Choice { value: t.id.to_string(), label: t.name, selected: Some(t.id) == tag })
            .collect();
        filters.push(Filter { name: "tag", label: "Tag", choices });
    }
    let paging_base = SECTION.list_with(&[
        ("q", search.clone()),
        ("store", store_param),
        ("tag", tag_param),
        ("sort", listing::sort_param(list_sort)),
    ]);
    let paging = Paging::of_total(page, rows.len(), total, &paging_base);
    Ok(Template::render(
        "admin/list.html",
        ListPage {
            layout,
            title: "Items",
            entity: SECTION.name(),
            singular: "item",
            columns,
            rows,
            search,
            search_label: "Search by name",
            filters,
            sort: listing::sort_param(list_sort),
            paging,
            can_create: true,
        },
    ))
}

/// What the item form shows: the typed values, or the stored ones.
struct ItemValues {
    name: String,
    price: String,
    description: String,
    tag_ids: Vec<i64>,
}

fn form_page(
    layout: Layout,
    item: Option<&ItemDetail>,
    values: &ItemValues,
    stores: Vec<Choice>,
    store_tags: Vec<TagRef>,
    errors: FieldErrors,
) -> FormPage {
    let mut fields = Vec::new();
    match item {
        Some(detail) => fields.push(Field::text("store", "Store", &detail.store_name).kind("static")),
        None => fields.push(Field::text("store_id", "Store", "").kind("select").choices(stores)),
    }
    fields.push(Field::text("name", "Name", &values.name).hint("1 to 80 characters."));
    fields
        .push(Field::text("price", "Price", &values.price).hint("For example 12.50; at most two decimals."));
    fields.push(Field::text("description", "Description", &values.description).kind("textarea").optional());
    let tag_choices: Vec<Choice> = store_tags
        .into_iter()
        .map(|t| Choice { value: t.id.to_string(), label: t.name, selected: values.tag_ids.contains(&t.id) })
        .collect();
    let hint = if item.is_some() {
        "Tags of this item's store."
    } else {
        "Tags of the chosen store; pick the store first to see them."
    };
    fields.push(Field::text("tag_ids", "Tags", "").kind("checkboxes").choices(tag_choices).hint(hint));
    FormPage {
        layout,
        title: item.map_or_else(|| "Add item".to_owned(), |d| format!("Change item “{}”", d.item.name)),
        entity: SECTION.name(),
        singular: "item",
        id: item.map(|d| d.item.id),
        version: item.map(|d| i64::from(d.item.version)),
        store_id: item.map(|d| d.item.store_id),
        action: item.map_or_else(|| SECTION.list(), |d| SECTION.object(d.item.id)),
        fields,
        errors,
    }
}

/// The store picker of a new item, and the tags of the chosen store (none
/// before one is chosen).
async fn pickers(db: &Db, store: Option<i64>) -> Result<(Vec<Choice>, Vec<TagRef>), Error> {
    db.run(move |conn| store_and_tag_choices(conn, store)).await
}

#[get("/new?<store>")]
async fn new(db: Db, _staff: Staff, layout: Layout, store: Option<i64>) -> Result<Template, PageError> {
    let (stores, store_tags) = pickers(&db, store).await?;
    let values =
        ItemValues { name: String::new(), price: String::new(), description: String::new(), tag_ids: vec![] };
    Ok(Template::render(
        "admin/form.html",
        form_page(layout, None, &values, stores, store_tags, FieldErrors::new()),
    ))
}

#[derive(FromForm)]
struct ItemForm {
    #[field(default = String::new())]
    csrf_token: String,
    store_id: Option<i64>,
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    price: String,
    #[field(default = String::new())]
    description: String,
    #[field(default = Vec::new())]
    tag_ids: Vec<i64>,
    version: Option<i64>,
    #[field(default = String::new())]
    action: String,
}

impl CsrfProtected for ItemForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl ItemForm {
    fn input(&self) -> ItemInput {
        ItemInput {
            name: Some(self.name.clone()),
            price: Some(self.price.trim().to_owned()),
            description: Some(Some(self.description.clone())),
            tag_ids: Some(self.tag_ids.clone()),
        }
    }

    fn values(&self) -> ItemValues {
        ItemValues {
            name: self.name.clone(),
            price: self.price.clone(),
            description: self.description.clone(),
            tag_ids: self.tag_ids.clone(),
        }
    }
}

#[post("/", data = "<form>")]
async fn create(
    db: Db,
    staff: Staff,
    layout: Layout,
    form: CheckedForm<ItemForm>,
) -> Result<Result<Flash<Redirect>, (Status, Template)>, PageError> {
    let form = form.0;
    let (input, store_id, actor) = (form.input(), form.store_id, staff.actor);
    let outcome = db
        .run(move |conn| {
            let store_id = store_id.ok_or_else(|| Error::invalid("store_id", "Choose a store."))?;
            items::create(conn, &actor, store_id, input)
        })
        .await;
    match outcome {
        Ok(detail) => {
            Ok(Ok(after_save(&form.action, SECTION, detail.item.id, &format!("item “{}”", detail.item.name))))
        }
        Err(error) => {
            let errors = form_errors(error)?;
            let (stores, store_tags) = pickers(&db, form.store_id).await?;
            let page = form_page(layout, None, &form.values(), stores, store_tags, errors);
            Ok(Err((Status::UnprocessableEntity, Template::render("admin/form.html", page))))
        }
    }
}

async fn load(db: &Db, id: i64) -> Result<(ItemDetail, Vec<TagRef>), Error> {
    db.run(move |conn| {
        let detail = items::detail(conn, id)?;
        let tags = Tag::all_in_store(conn, detail.item.store_id)?;
        Ok((detail, tags.into_iter().map(|t| TagRef { id: t.id, name: t.name }).collect()))
    })
    .await
}

#[get("/<id>")]
async fn edit(db: Db, _staff: Staff, layout: Layout, id: i64) -> Result<Template, PageError> {
    let (detail, store_tags) = load(&db, id).await?;
    let values = ItemValues {
        name: detail.item.name.clone(),
        price: detail.item.price.to_string(),
        description: detail.item.description.clone().unwrap_or_default(),
        tag_ids: detail.tags.iter().map(|t| t.id).collect(),
    };
    Ok(Template::render(
        "admin/form.html",
        form_page(layout, Some(&detail), &values, vec![], store_tags, FieldErrors::new()),
    ))
}

#[post("/<id>", data = "<form>")]
async fn update(
    db: Db,
    staff: Staff,
    layout: Layout,
    id: i64,
    form: CheckedForm<ItemForm>,
) -> Result<Result<Flash<Redirect>, (Status, Template)>, PageError> {
    let form = form.0;
    let (input, version, actor) = (form.input(), form.version, staff.actor);
    let outcome = db
        .run(move |conn| {
            items::update(conn, &actor, id, input, |current| {
                listing::same_version(current.item.version.into(), version)
            })
        })
        .await;
    match outcome {
        Ok(detail) => Ok(Ok(after_save(&form.action, SECTION, id, &format!("item “{}”", detail.item.name)))),
        Err(Error::StaleVersion) => {
            let (current, _) = load(&db, id).await?;
            let current_tags = current.tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", ");
            let page = ConflictPage {
                layout,
                title: format!("Item “{}” was changed by someone else", current.item.name),
                edit_url: SECTION.object(id),
                compared: vec![
                    Compared { label: "Name", yours: form.name.clone(), current: current.item.name.clone() },
                    Compared {
                        label: "Price",
                        yours: form.price.clone(),
                        current: current.item.price.to_string(),
                    },
                    Compared {
                        label: "Description",
                        yours: form.description.clone(),
                        current: current.item.description.clone().unwrap_or_default(),
                    },
                    Compared {
                        label: "Tags",
                        yours: format!("{} selected", form.tag_ids.len()),
                        current: current_tags,
                    },
                ],
            };
            Ok(Err((Status::Conflict, Template::render("admin/conflict.html", page))))
        }
        Err(error) => {
            let errors = form_errors(error)?;
            let (current, store_tags) = load(&db, id).await?;
            let mut page = form_page(layout, Some(&current), &form.values(), vec![], store_tags, errors);
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
                let detail = items::detail(conn, id)?;
                links += detail.tags.len();
                objects.push(Named { id, label: format!("{} ({})", detail.item.name, detail.store_name) });
            }
            Ok((objects, links))
        })
        .await?;
    let what =
        if objects.len() == 1 { "this item".to_owned() } else { format!("these {} items", objects.len()) };
    Ok(Template::render(
        "admin/delete.html",
        DeletePage {
            layout,
            title: format!("Delete {what}?"),
            entity: SECTION.name(),
            objects,
            consequences: vec![format!("{links} tag links (the tags themselves stay)")],
            action,
            cancel: SECTION.list(),
            problem: None,
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
    id: i64,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Flash<Redirect>, PageError> {
    let actor = staff.actor;
    db.run(move |conn| items::delete(conn, &actor, id)).await?;
    Ok(Flash::success(Redirect::to(SECTION.list()), "Deleted the item."))
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
        return Ok(Ok(Flash::error(Redirect::to(SECTION.list()), "Select the items to delete first.")));
    }
    if !confirmed {
        return Ok(Err(delete_page(&db, layout, ids, SECTION.bulk_delete()).await?));
    }
    let actor = staff.actor;
    let count = ids.len();
    listing::delete_all(&db, ids, move |conn, id| items::delete(conn, &actor, id)).await?;
    Ok(Ok(Flash::success(Redirect::to(SECTION.list()), format!("Deleted {count} items."))))
}

#[get("/<id>/history")]
async fn history(db: Db, _staff: Staff, layout: Layout, id: i64) -> Result<Template, PageError> {
    let (detail, entries) =
        db.run(move |conn| Ok((items::detail(conn, id)?, listing::history(conn, "item", id)?))).await?;
    let page = HistoryPage {
        layout,
        title: format!("History of item “{}”", detail.item.name),
        back: SECTION.object(id),
        entries,
    };
    Ok(Template::render("admin/history.html", page))
}
