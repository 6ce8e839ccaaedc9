//! The panel's front page: how many of everything, and the latest changes.

use rocket::response::Redirect;
use rocket::{get, routes, Route};
use rocket_dyn_templates::Template;
use serde::Serialize;

use super::listing::describe_entry;
use super::urls::Section;
use super::views::HistoryEntry;
use super::PanelUser;
use crate::db::Db;
use crate::models::Action;
use crate::services::{audit, overview};
use crate::web::{Layout, PageError};

pub fn routes() -> Vec<Route> {
    routes![dashboard]
}

#[derive(Serialize)]
struct Count {
    label: &'static str,
    count: i64,
    href: String,
}

#[derive(Serialize)]
struct RecentEntry {
    #[serde(flatten)]
    entry: HistoryEntry,
    entity: String,
    href: Option<String>,
}

#[derive(Serialize)]
struct DashboardPage {
    layout: Layout,
    counts: Vec<Count>,
    recent: Vec<RecentEntry>,
    is_admin: bool,
}

/// The front page for staff; members, whose panel is their own stores,
/// go straight to them.
#[get("/")]
async fn dashboard(db: Db, user: PanelUser, layout: Layout) -> Result<Result<Template, Redirect>, PageError> {
    if !user.actor.is_staff() {
        return Ok(Err(Redirect::to(Section::Stores.list())));
    }
    let (counts, recent) = db.run(|conn| Ok((overview::counts(conn)?, audit::recent(conn, RECENT)?))).await?;
    let counts = vec![
        Count { label: "Stores", count: counts.stores, href: Section::Stores.list() },
        Count { label: "Items", count: counts.items, href: Section::Items.list() },
        Count { label: "Tags", count: counts.tags, href: Section::Tags.list() },
        Count { label: "Users", count: counts.users, href: Section::Users.list() },
    ];
    let recent = recent
        .into_iter()
        .map(|recorded| {
            let (kind, id, action) = (recorded.entry.entity, recorded.entry.entity_id, recorded.entry.action);
            let href = (action != Action::Delete).then(|| Section::of_entity(kind).object(id));
            let entity = match &recorded.subject {
                Some(name) => format!("{kind} “{name}”"),
                None => format!("{kind} {id}"),
            };
            RecentEntry { entry: describe_entry(&user.actor, recorded), entity, href }
        })
        .collect();
    Ok(Ok(Template::render(
        "admin/dashboard.html",
        DashboardPage { layout, counts, recent, is_admin: user.actor.is_admin() },
    )))
}

/// How many of the latest changes the dashboard shows.
const RECENT: i64 = 20;
