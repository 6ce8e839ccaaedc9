//! Users in the admin panel, for admins only: role, deactivation, deletion.

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
use super::AdminOnly;
use crate::db::Db;
use crate::error::{Error, FieldErrors};
use crate::models::{ApiToken, Role, Session, User, UserFilter};
use crate::policy;
use crate::services::accounts;
use crate::services::not_found_as;
use crate::web::{CheckedForm, CsrfProtected, Layout, PageError, Paging};

pub fn routes() -> Vec<Route> {
    routes![list, edit, update, confirm_delete, delete, history, bulk_delete]
}

const SECTION: Section = Section::Users;
const ROLES: [Role; 3] = [Role::Member, Role::Staff, Role::Admin];

fn role_choices(selected: Option<Role>) -> Vec<Choice> {
    ROLES
        .iter()
        .map(|&r| Choice { value: r.to_string(), label: r.to_string(), selected: Some(r) == selected })
        .collect()
}

/// The user's `updated_at`, as the version an edit is based on.
fn version_of(user: &User) -> i64 {
    user.updated_at.timestamp_micros()
}

#[allow(clippy::too_many_arguments)] // one per query parameter
#[get("/?<q>&<sort>&<page>&<role>&<active>")]
async fn list(
    db: Db,
    admin: AdminOnly,
    layout: Layout,
    q: Option<&str>,
    sort: Option<&str>,
    page: Option<&str>,
    role: Option<&str>,
    active: Option<&str>,
) -> Result<Template, PageError> {
    let (query, page) = listing::list_query(q, sort, page, &["email", "role", "created_at"], "email");
    let search = query.search.clone().unwrap_or_default();
    let sort = query.sort;
    let role = role.and_then(Role::parse);
    let is_active = match active {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    };
    let actor = admin.actor;
    let (users, total) =
        db.run(move |conn| accounts::list(conn, &actor, &query, UserFilter { role, is_active })).await?;
    let role_param = role.map(|r| r.to_string()).unwrap_or_default();
    let active_param = active.filter(|a| matches!(*a, "yes" | "no")).unwrap_or_default().to_owned();
    let base = SECTION.list_with(&[
        ("q", search.clone()),
        ("role", role_param.clone()),
        ("active", active_param.clone()),
    ]);
    let columns = listing::columns(
        &[
            ("Email", Some("email"), false),
            ("Role", Some("role"), false),
            ("Active", None, false),
            ("Joined", Some("created_at"), false),
        ],
        &base,
        sort,
    );
    let rows: Vec<Row> = users
        .into_iter()
        .map(|user| Row {
            id: user.id,
            label: user.email.clone(),
            cells: vec![
                Cell::link(&user.email, SECTION.object(user.id)),
                Cell::text(user.role),
                Cell::text(if user.is_active { "yes" } else { "no" }),
                Cell::text(user.created_at.format("%Y-%m-%d %H:%M")),
            ],
        })
        .collect();
    let activity = ["yes", "no"]
        .iter()
        .map(|v| Choice { value: (*v).to_owned(), label: (*v).to_owned(), selected: active_param == *v })
        .collect();
    let paging_base = SECTION.list_with(&[
        ("q", search.clone()),
        ("role", role_param),
        ("active", active_param),
        ("sort", listing::sort_param(sort)),
    ]);
    let paging = Paging::of_total(page, rows.len(), total, &paging_base);
    Ok(Template::render(
        "admin/list.html",
        ListPage {
            layout,
            title: "Users",
            entity: SECTION.name(),
            singular: "user",
            columns,
            rows,
            search,
            search_label: "Search by email",
            filters: vec![
                Filter { name: "role", label: "Role", choices: role_choices(role) },
                Filter { name: "active", label: "Active", choices: activity },
            ],
            sort: listing::sort_param(sort),
            paging,
            can_create: false,
        },
    ))
}

fn form_page(layout: Layout, user: &User, role: Role, active: bool, errors: FieldErrors) -> FormPage {
    FormPage {
        layout,
        title: format!("Change user {}", user.email),
        entity: SECTION.name(),
        singular: "user",
        id: Some(user.id),
        version: Some(version_of(user)),
        store_id: None,
        action: SECTION.object(user.id),
        fields: vec![
            Field::text("email", "Email", &user.email).kind("static"),
            Field::text("role", "Role", role).kind("select").choices(role_choices(Some(role))),
            Field::text("is_active", "Active", active)
                .kind("checkbox")
                .hint("Deactivating ends the user's sessions and API tokens at once."),
        ],
        errors,
    }
}

#[get("/<id>")]
async fn edit(db: Db, admin: AdminOnly, layout: Layout, id: i64) -> Result<Template, PageError> {
    let actor = admin.actor;
    let user = db.run(move |conn| accounts::get(conn, &actor, id)).await?;
    Ok(Template::render(
        "admin/form.html",
        form_page(layout, &user, user.role, user.is_active, FieldErrors::new()),
    ))
}

#[derive(FromForm)]
struct UserForm {
    #[field(default = String::new())]
    csrf_token: String,
    #[field(default = String::new())]
    role: String,
    #[field(default = false)]
    is_active: bool,
    version: Option<i64>,
    #[field(default = String::new())]
    action: String,
}

impl CsrfProtected for UserForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/<id>", data = "<form>")]
async fn update(
    db: Db,
    admin: AdminOnly,
    layout: Layout,
    id: i64,
    form: CheckedForm<UserForm>,
) -> Result<Result<Flash<Redirect>, (Status, Template)>, PageError> {
    let UserForm { role, is_active, version, action, .. } = form.0;
    let actor = admin.actor;
    let parsed = Role::parse(&role);
    let outcome = db
        .run(move |conn| {
            let role = parsed.ok_or_else(|| Error::invalid("role", "must be member, staff or admin"))?;
            accounts::update_by_admin(conn, &actor, id, role, is_active, |current| {
                listing::same_version(version_of(current), version)
            })
        })
        .await;
    match outcome {
        Ok(user) => Ok(Ok(after_save(&action, SECTION, user.id, &format!("user {}", user.email)))),
        Err(Error::StaleVersion) => {
            let current = db.run(move |conn| accounts::get(conn, &actor, id)).await?;
            let page = ConflictPage {
                layout,
                title: format!("User {} was changed by someone else", current.email),
                edit_url: SECTION.object(id),
                compared: vec![
                    Compared { label: "Role", yours: role, current: current.role.to_string() },
                    Compared {
                        label: "Active",
                        yours: is_active.to_string(),
                        current: current.is_active.to_string(),
                    },
                ],
            };
            Ok(Err((Status::Conflict, Template::render("admin/conflict.html", page))))
        }
        Err(error) => {
            let errors = form_errors(error)?;
            let current = db.run(move |conn| accounts::get(conn, &actor, id)).await?;
            let page = form_page(layout, &current, parsed.unwrap_or(current.role), is_active, errors);
            Ok(Err((Status::UnprocessableEntity, Template::render("admin/form.html", page))))
        }
    }
}

async fn delete_page(db: &Db, layout: Layout, ids: Vec<i64>, action: String) -> Result<Template, PageError> {
    let (objects, stores, sessions, tokens) = db
        .run(move |conn| {
            let mut objects = Vec::new();
            let (mut stores, mut sessions, mut tokens) = (0, 0, 0);
            for id in ids {
                let user = User::find(conn, id).map_err(not_found_as("user"))?;
                stores += crate::models::Store::count_owned_by(conn, id)?;
                sessions += Session::live_of(conn, id)?.len();
                tokens += ApiToken::of_user(conn, id)?.iter().filter(|t| t.revoked_at.is_none()).count();
                objects.push(Named { id, label: user.email });
            }
            Ok((objects, stores, sessions, tokens))
        })
        .await?;
    let what =
        if objects.len() == 1 { "this user".to_owned() } else { format!("these {} users", objects.len()) };
    Ok(Template::render(
        "admin/delete.html",
        DeletePage {
            layout,
            title: format!("Delete {what}?"),
            entity: SECTION.name(),
            objects,
            consequences: vec![
                format!("{sessions} sessions and {tokens} API tokens"),
                format!("ownership of {stores} stores (the stores stay, without an owner)"),
            ],
            action,
            cancel: SECTION.list(),
            problem: None,
        },
    ))
}

#[get("/<id>/delete")]
async fn confirm_delete(db: Db, _admin: AdminOnly, layout: Layout, id: i64) -> Result<Template, PageError> {
    delete_page(&db, layout, vec![id], SECTION.delete(id)).await
}

#[post("/<id>/delete", data = "<_form>")]
async fn delete(
    db: Db,
    admin: AdminOnly,
    id: i64,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Flash<Redirect>, PageError> {
    let actor = admin.actor;
    if let Err(Error::Conflict(why)) = policy::delete_user_in_admin_panel(&actor, id) {
        return Ok(Flash::error(Redirect::to(SECTION.object(id)), why));
    }
    db.run(move |conn| accounts::delete(conn, &actor, id)).await?;
    Ok(Flash::success(Redirect::to(SECTION.list()), "Deleted the user."))
}

#[post("/bulk-delete", data = "<form>")]
async fn bulk_delete(
    db: Db,
    admin: AdminOnly,
    layout: Layout,
    form: CheckedForm<BulkForm>,
) -> Result<Result<Flash<Redirect>, Template>, PageError> {
    let BulkForm { ids, confirmed, .. } = form.0;
    if ids.is_empty() {
        return Ok(Ok(Flash::error(Redirect::to(SECTION.list()), "Select the users to delete first.")));
    }
    let refused = ids.iter().find_map(|&id| match policy::delete_user_in_admin_panel(&admin.actor, id) {
        Err(Error::Conflict(why)) => Some(why),
        _ => None,
    });
    if let Some(why) = refused {
        return Ok(Ok(Flash::error(Redirect::to(SECTION.list()), why)));
    }
    if !confirmed {
        return Ok(Err(delete_page(&db, layout, ids, SECTION.bulk_delete()).await?));
    }
    let actor = admin.actor;
    let count = ids.len();
    listing::delete_all(&db, ids, move |conn, id| accounts::delete(conn, &actor, id)).await?;
    Ok(Ok(Flash::success(Redirect::to(SECTION.list()), format!("Deleted {count} users."))))
}

#[get("/<id>/history")]
async fn history(db: Db, _admin: AdminOnly, layout: Layout, id: i64) -> Result<Template, PageError> {
    let (user, entries) = db
        .run(move |conn| {
            let user = User::find(conn, id).map_err(not_found_as("user"))?;
            Ok((user, listing::history(conn, "user", id)?))
        })
        .await?;
    let page = HistoryPage {
        layout,
        title: format!("History of user {}", user.email),
        back: SECTION.object(id),
        entries,
    };
    Ok(Template::render("admin/history.html", page))
}
