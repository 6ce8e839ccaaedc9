//! Bulk changes to items from their list: add or remove a tag, set a price
//! or change it by a percentage, for the ticked items or for all that match
//! the list's search and filters. Three steps, plain forms: choose the
//! change, look at what it does to each item, confirm. The service applies
//! it all or nothing, and refuses it if any item changed since it was shown.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{post, routes, Route};
use rocket_dyn_templates::Template;
use serde::Serialize;

use super::items::{item_filter, ItemFilters, Items};
use super::listing;
use super::resource::Resource;
use super::urls::{with_query, Section};
use super::views::Crumb;
use super::PanelUser;
use crate::db::Db;
use crate::error::{Error, FieldErrors};
use crate::models::{Item, ListSort, SortKey};
use crate::policy::Actor;
use crate::price::Price;
use crate::services::bulk::{self, BulkChange, Percent, Plan, MAX_ITEMS};
use crate::web::{CheckedForm, CsrfProtected, Layout, PageError, SentBack};

pub fn routes() -> Vec<Route> {
    routes![bulk_change]
}

/// How many of the planned changes the confirmation lists.
const SHOWN: usize = 200;

#[derive(FromForm)]
struct BulkChangeForm {
    #[field(default = String::new())]
    csrf_token: String,
    #[field(default = Vec::new())]
    ids: Vec<i64>,
    #[field(default = false)]
    all_matching: bool,
    /// `add_tag`, `remove_tag`, `set_price` or `change_price`; empty until chosen.
    #[field(default = String::new())]
    operation: String,
    #[field(default = String::new())]
    tag: String,
    #[field(default = false)]
    create_missing: bool,
    #[field(default = String::new())]
    price: String,
    #[field(default = String::new())]
    percent: String,
    /// The items as the confirmation showed them.
    #[field(default = String::new())]
    fingerprint: String,
    #[field(default = false)]
    confirmed: bool,
}

impl CsrfProtected for BulkChangeForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl BulkChangeForm {
    /// The change chosen, or why it cannot be made (`None` before a choice).
    fn change(&self, money: Option<&crate::price::Money>) -> Result<Option<BulkChange>, FieldErrors> {
        let mut errors = FieldErrors::new();
        let tag = crate::text::normalize(&self.tag);
        let change = match self.operation.as_str() {
            "" => return Ok(None),
            "add_tag" | "remove_tag" if tag.is_empty() => {
                errors.insert("tag".into(), "Name the tag.".into());
                None
            }
            "add_tag" => Some(BulkChange::AddTag { name: tag, create_missing: self.create_missing }),
            "remove_tag" => Some(BulkChange::RemoveTag { name: tag }),
            "set_price" => {
                let typed = money.map_or_else(|| self.price.trim().to_owned(), |m| m.read_typed(&self.price));
                match Price::parse(&typed) {
                    Ok(price) => Some(BulkChange::SetPrice(price)),
                    Err(why) => {
                        errors.insert("price".into(), why.to_string());
                        None
                    }
                }
            }
            "change_price" => match Percent::parse(&self.percent) {
                Ok(percent) => Some(BulkChange::ChangePrice(percent)),
                Err(why) => {
                    errors.insert("percent".into(), why.into());
                    None
                }
            },
            _ => {
                errors.insert("operation".into(), "Choose what to change.".into());
                None
            }
        };
        match change {
            Some(change) if errors.is_empty() => Ok(Some(change)),
            _ => Err(errors),
        }
    }
}

/// One planned change, as the confirmation shows it.
#[derive(Serialize)]
struct ChangeRow {
    id: i64,
    name: String,
    store_name: String,
    from: String,
    to: String,
}

#[derive(Serialize)]
struct Confirmation {
    /// The change in words ("Set the price to 12.00").
    summary: String,
    rows: Vec<ChangeRow>,
    /// Changes beyond those listed.
    more: usize,
    changing: usize,
    unchanged: usize,
    without_tag: usize,
    new_tag_in: Vec<String>,
    fingerprint: String,
    /// The items changed after the confirmation was shown: this is it again.
    stale: bool,
}

#[derive(Serialize)]
struct BulkChangePage {
    layout: Layout,
    crumbs: Vec<Crumb>,
    title: String,
    /// Where the form goes: this address, with the list's search and filters.
    action: String,
    cancel: String,
    ids: Vec<i64>,
    all_matching: bool,
    count: usize,
    operation: String,
    tag: String,
    create_missing: bool,
    price: String,
    percent: String,
    errors: FieldErrors,
    confirm: Option<Confirmation>,
}

/// Every step of a bulk change: the choice (no `operation` yet, or one
/// that cannot be made: 422), the confirmation, and the change itself.
#[post("/bulk-change?<q>&<filters..>", data = "<form>")]
async fn bulk_change(
    db: Db,
    panel: PanelUser,
    layout: Layout,
    config: &rocket::State<crate::config::AppConfig>,
    q: Option<&str>,
    filters: ItemFilters,
    form: CheckedForm<BulkChangeForm>,
) -> Result<Result<Flash<Redirect>, SentBack>, PageError> {
    let form = form.0;
    let actor = panel.actor;
    let list_params = {
        let mut params = vec![("q", q.unwrap_or_default().to_owned())];
        params.extend(<Items as Resource>::filter_params(&filters));
        params
    };
    let list = Section::Items.list_with(&list_params);
    let ids = match selection(&db, &actor, q, filters, &form).await? {
        Ok(ids) => ids,
        Err(message) => return Ok(Ok(Flash::error(Redirect::to(list), message))),
    };
    let money = crate::price::Money::new(&config.currency);
    let mut page = BulkChangePage {
        layout,
        crumbs: vec![
            Crumb::panel(&actor),
            Crumb::link("Items", list.clone()),
            Crumb::here("Change items".to_owned()),
        ],
        title: match ids.len() {
            1 => "Change 1 item".to_owned(),
            n => format!("Change {n} items"),
        },
        action: with_query(format!("{}/bulk-change", Section::Items.list()), &list_params),
        cancel: list.clone(),
        all_matching: form.all_matching,
        count: ids.len(),
        ids: if form.all_matching { Vec::new() } else { ids.clone() },
        operation: form.operation.clone(),
        tag: form.tag.clone(),
        create_missing: form.create_missing,
        price: form.price.clone(),
        percent: form.percent.clone(),
        errors: FieldErrors::new(),
        confirm: None,
    };
    let change = match form.change(money.as_ref()) {
        Ok(Some(change)) => change,
        Ok(None) => return Ok(Err(SentBack::new(Status::Ok, render(page)))),
        Err(errors) => {
            page.errors = errors;
            return Ok(Err(SentBack::new(Status::UnprocessableEntity, render(page))));
        }
    };
    if form.confirmed {
        let (selected, chosen, fingerprint) = (ids.clone(), change.clone(), form.fingerprint.clone());
        let applied = db.run(move |conn| bulk::apply(conn, &actor, &selected, &chosen, &fingerprint)).await;
        match applied {
            Ok(count) => {
                let message = match count {
                    1 => "Changed 1 item.".to_owned(),
                    n => format!("Changed {n} items."),
                };
                return Ok(Ok(Flash::success(Redirect::to(list), message)));
            }
            Err(Error::StaleVersion) => {}
            Err(Error::Invalid(errors)) => {
                page.errors = errors;
                return Ok(Err(SentBack::new(Status::UnprocessableEntity, render(page))));
            }
            Err(other) => return Err(other.into()),
        }
    }
    let (selected, chosen) = (ids, change.clone());
    let planned = db.read(move |conn| bulk::plan(conn, &actor, &selected, &chosen)).await;
    let plan = match planned {
        Ok(plan) => plan,
        Err(Error::Invalid(errors)) => {
            page.errors = errors;
            return Ok(Err(SentBack::new(Status::UnprocessableEntity, render(page))));
        }
        Err(other) => return Err(other.into()),
    };
    let stale = form.confirmed;
    page.confirm = Some(confirmation(&change, plan, stale, money.as_ref()));
    let status = if stale { Status::Conflict } else { Status::Ok };
    Ok(Err(SentBack::new(status, render(page))))
}

fn render(page: BulkChangePage) -> Template {
    Template::render("admin/bulk_change.html", page)
}

/// The ids of the ticked items, or of every item of the list (at most
/// [`MAX_ITEMS`]); `Err` says why there is nothing to change.
async fn selection(
    db: &Db,
    actor: &Actor,
    q: Option<&str>,
    filters: ItemFilters,
    form: &BulkChangeForm,
) -> Result<Result<Vec<i64>, String>, PageError> {
    let mut ids = form.ids.clone();
    if form.all_matching {
        let raw = listing::RawListQuery { search: q, sort: None, page: None, per_page: None };
        let (query, _) = listing::list_query(raw, &[], ListSort::ascending(SortKey::Name));
        let filter = item_filter(actor, &query, &filters);
        let limit = i64::try_from(MAX_ITEMS).unwrap_or(i64::MAX) + 1;
        ids = db.read(move |conn| Ok(Item::ids_matching(conn, &filter, limit)?)).await?;
        if ids.len() > MAX_ITEMS {
            return Ok(Err(format!(
                "A bulk change takes at most {MAX_ITEMS} items at a time: narrow the list with the search or filters first."
            )));
        }
    }
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Err("Select the items to change first.".to_owned()));
    }
    Ok(Ok(ids))
}

fn confirmation(
    change: &BulkChange,
    plan: Plan,
    stale: bool,
    money: Option<&crate::price::Money>,
) -> Confirmation {
    let show_price = |price: &Price| money.map_or_else(|| price.to_string(), |m| m.format(*price));
    let summary = match change {
        BulkChange::AddTag { name, .. } => format!("Add the tag “{name}”"),
        BulkChange::RemoveTag { name } => format!("Remove the tag “{name}”"),
        BulkChange::SetPrice(price) => format!("Set the price to {}", show_price(price)),
        BulkChange::ChangePrice(percent) => {
            format!("Change the price by {percent}, rounded to the nearest cent (halves up)")
        }
    };
    let is_price = matches!(change, BulkChange::SetPrice(_) | BulkChange::ChangePrice(_));
    let shown = |text: String| match (is_price, Price::parse(&text)) {
        (true, Ok(price)) => show_price(&price),
        _ if text.is_empty() => "(none)".to_owned(),
        _ => text,
    };
    let changing = plan.changed.len();
    let rows = plan
        .changed
        .into_iter()
        .take(SHOWN)
        .map(|p| ChangeRow {
            id: p.id,
            name: p.name,
            store_name: p.store_name,
            from: shown(p.from),
            to: shown(p.to),
        })
        .collect();
    Confirmation {
        summary,
        rows,
        more: changing.saturating_sub(SHOWN),
        changing,
        unchanged: plan.unchanged,
        without_tag: plan.without_tag,
        new_tag_in: plan.new_tag_in,
        fingerprint: plan.fingerprint,
        stale,
    }
}
