//! Users in the admin panel, for admins only: role, deactivation, deletion.
//! Accounts are made by registering, not here.

use diesel::PgConnection;
use rocket::form::FromForm;

use super::export::Record;
use super::listing::same_version;
use super::resource::{admin_section, ColumnDef, DeleteSummary, Described, Listed, Resource};
use super::urls::Section;
use super::views::{Cell, Choice, Field, FieldKind, Filter, Named, Row};
use super::AdminOnly;
use crate::error::Error;
use crate::models::{ListQuery, ListSort, Role, SortKey, User, UserFilter};
use crate::policy::{self, Actor};
use crate::services::accounts;

pub struct Users;

admin_section!(Users, AdminOnly);

const ROLES: [Role; 3] = [Role::Member, Role::Staff, Role::Admin];

#[derive(FromForm)]
pub struct UserFilters {
    role: Option<String>,
    /// `yes` or `no`.
    active: Option<String>,
}

impl UserFilters {
    fn role(&self) -> Option<Role> {
        self.role.as_deref().and_then(Role::parse)
    }

    fn active(&self) -> Option<bool> {
        match self.active.as_deref() {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        }
    }
}

#[derive(FromForm)]
pub struct UserForm {
    #[field(default = String::new())]
    role: String,
    #[field(default = false)]
    is_active: bool,
}

fn role_choices(selected: Option<Role>) -> Vec<Choice> {
    ROLES
        .iter()
        .map(|&r| Choice { value: r.to_string(), label: r.to_string(), selected: Some(r) == selected })
        .collect()
}

impl Resource for Users {
    const SECTION: Section = Section::Users;
    const SINGULAR: &'static str = "user";
    const TITLE: &'static str = "Users";
    const SEARCH_LABEL: &'static str = "Search by email";
    const COLUMNS: &'static [ColumnDef] = &[
        ColumnDef { label: "Email", sort: Some(SortKey::Email), numeric: false },
        ColumnDef { label: "Role", sort: Some(SortKey::Role), numeric: false },
        ColumnDef { label: "Active", sort: None, numeric: false },
        ColumnDef { label: "Joined", sort: Some(SortKey::CreatedAt), numeric: false },
    ];
    const DEFAULT_SORT: ListSort = ListSort { key: SortKey::Email, descending: false };
    const CAN_CREATE: bool = false;

    type Filters = UserFilters;
    type Form = UserForm;
    type Object = User;

    fn filter_params(filters: &UserFilters) -> Vec<(&'static str, String)> {
        let active = match filters.active() {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        };
        vec![
            ("role", filters.role().map(|r| r.to_string()).unwrap_or_default()),
            ("active", active.to_owned()),
        ]
    }

    fn list(
        conn: &mut PgConnection,
        actor: &Actor,
        query: &ListQuery,
        filters: &UserFilters,
    ) -> Result<Listed, Error> {
        let filter = UserFilter { role: filters.role(), is_active: filters.active() };
        let (users, total) = accounts::list(conn, actor, query, filter)?;
        let rows = users
            .into_iter()
            .map(|user| Row {
                id: user.id,
                label: user.email.clone(),
                cells: vec![
                    Cell::link(&user.email, Section::Users.object(user.id)),
                    Cell::text(user.role),
                    Cell::text(if user.is_active { "yes" } else { "no" }),
                    Cell::text(user.created_at.format("%Y-%m-%d %H:%M")),
                ],
            })
            .collect();
        let activity = [("yes", true), ("no", false)]
            .iter()
            .map(|&(word, active)| Choice {
                value: word.to_owned(),
                label: word.to_owned(),
                selected: filters.active() == Some(active),
            })
            .collect();
        let shown = vec![
            Filter { name: "role", label: "Role", choices: role_choices(filters.role()) },
            Filter { name: "active", label: "Active", choices: activity },
        ];
        Ok(Listed { rows, total, filters: shown })
    }

    /// Never a secret: no password hash, no token.
    const EXPORT_COLUMNS: &'static [&'static str] =
        &["id", "email", "role", "active", "created_at", "updated_at"];

    fn export(
        conn: &mut PgConnection,
        actor: &Actor,
        query: &ListQuery,
        filters: &UserFilters,
    ) -> Result<Vec<Record>, Error> {
        let filter = UserFilter { role: filters.role(), is_active: filters.active() };
        let (users, _) = accounts::list(conn, actor, query, filter)?;
        Ok(users
            .into_iter()
            .map(|user| {
                let cells = vec![
                    user.id.to_string(),
                    user.email,
                    user.role.to_string(),
                    (if user.is_active { "yes" } else { "no" }).to_owned(),
                    super::export::time(user.created_at),
                    super::export::time(user.updated_at),
                ];
                (user.id, cells)
            })
            .collect())
    }

    fn load(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<User, Error> {
        accounts::get(conn, actor, id)
    }

    fn describe(user: &User) -> Described {
        Described { id: user.id, what: format!("user {}", user.email), version: user.version, store_id: None }
    }

    fn values(user: &User) -> UserForm {
        UserForm { role: user.role.to_string(), is_active: user.is_active }
    }

    fn fields(
        _: &mut PgConnection,
        _: &Actor,
        user: Option<&User>,
        form: &UserForm,
    ) -> Result<Vec<Field>, Error> {
        let email = user.map(|u| u.email.as_str()).unwrap_or_default();
        let role = Role::parse(&form.role);
        Ok(vec![
            Field::text("email", "Email", email).kind(FieldKind::Static),
            Field::text("role", "Role", &form.role).kind(FieldKind::Select).choices(role_choices(role)),
            Field::text("is_active", "Active", form.is_active)
                .kind(FieldKind::Checkbox)
                .hint("Deactivating ends the user's sessions and API tokens at once."),
        ])
    }

    fn create(_: &mut PgConnection, _: &Actor, _: &UserForm) -> Result<User, Error> {
        Err(Error::NotFound("page"))
    }

    fn update(
        conn: &mut PgConnection,
        actor: &Actor,
        id: i64,
        form: &UserForm,
        version: Option<i64>,
    ) -> Result<User, Error> {
        let role = Role::parse(&form.role)
            .ok_or_else(|| Error::invalid("role", "must be member, staff or admin"))?;
        accounts::update_by_admin(conn, actor, id, role, form.is_active, |current| {
            same_version(current.version, version)
        })
    }

    fn delete_summary(conn: &mut PgConnection, actor: &Actor, ids: &[i64]) -> Result<DeleteSummary, Error> {
        let (users, holdings) = accounts::deletion_summary(conn, actor, ids)?;
        let problem = ids.iter().find_map(|&id| policy::delete_user_in_admin_panel(actor, id).err());
        Ok(DeleteSummary {
            objects: users.into_iter().map(|user| Named { id: user.id, label: user.email }).collect(),
            consequences: vec![
                format!("{} sessions and {} API tokens", holdings.live_sessions, holdings.api_tokens),
                format!("ownership of {} stores (the stores stay, without an owner)", holdings.stores),
            ],
            problem: problem.map(|error| match error {
                Error::Conflict(why) => why,
                other => other.to_string(),
            }),
            problem_link: None,
        })
    }

    fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<(), Error> {
        policy::delete_user_in_admin_panel(actor, id)?;
        accounts::delete(conn, actor, id)
    }
}

/// What the users section has beside the pages every section has.
pub fn extra_routes() -> Vec<rocket::Route> {
    rocket::routes![reset_two_step]
}

/// Takes a user's second step away (their apps and recovery codes),
/// audited: for someone who lost both.
#[rocket::post("/<id>/two-step/reset", data = "<_form>")]
async fn reset_two_step(
    db: crate::db::Db,
    admin: AdminOnly,
    id: i64,
    _form: crate::web::CheckedForm<super::listing::ConfirmForm>,
) -> Result<rocket::response::Flash<rocket::response::Redirect>, crate::web::PageError> {
    let actor = admin.actor;
    let user = db.run(move |conn| crate::services::two_step::reset(conn, &actor, id)).await?;
    let message = format!(
        "{} now signs in with the password alone, until they add an authenticator app again.",
        user.email
    );
    Ok(rocket::response::Flash::success(rocket::response::Redirect::to(Section::Users.object(id)), message))
}
