//! The panel's front page: how many of everything, and the latest changes.

use std::collections::HashMap;

use rocket::{get, routes, Route};
use rocket_dyn_templates::Template;
use serde::Serialize;

use super::listing::describe_entry;
use super::urls::Section;
use super::views::HistoryEntry;
use super::Staff;
use crate::db::Db;
use crate::models::{AuditEntry, Item, ItemFilter, Store, Tag, User};
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

#[get("/")]
async fn dashboard(db: Db, staff: Staff, layout: Layout) -> Result<Template, PageError> {
    let (counts, entries, emails) = db
        .run(|conn| {
            let counts = vec![
                Count { label: "Stores", count: Store::count(conn)?, href: Section::Stores.list() },
                Count {
                    label: "Items",
                    count: Item::total(conn, &ItemFilter::default())?.count,
                    href: Section::Items.list(),
                },
                Count { label: "Tags", count: Tag::count(conn)?, href: Section::Tags.list() },
                Count { label: "Users", count: User::count(conn)?, href: Section::Users.list() },
            ];
            let entries = AuditEntry::recent(conn, 20)?;
            let ids: Vec<i64> = entries.iter().filter_map(|e| e.actor_id).collect();
            let emails: HashMap<i64, String> = User::emails(conn, &ids)?;
            Ok((counts, entries, emails))
        })
        .await?;
    let recent = entries
        .into_iter()
        .map(|entry| {
            let section = Section::of_entity(&entry.entity).filter(|_| entry.action != "delete");
            let href = section.map(|section| section.object(entry.entity_id));
            let entity = format!("{} {}", entry.entity, entry.entity_id);
            RecentEntry { entry: describe_entry(entry, &emails), entity, href }
        })
        .collect();
    Ok(Template::render(
        "admin/dashboard.html",
        DashboardPage { layout, counts, recent, is_admin: staff.actor.is_admin() },
    ))
}
