//! The panel's search box: stores, items, tags and (for admins) users
//! whose name or email holds the words, grouped, each group with how many
//! match and a link to its whole list. Owners find only their own stores
//! and what is in them. A page without script; the box's suggestions
//! (`static/panel-search.js`) read the same results as JSON.

use diesel::PgConnection;
use rocket::serde::json::Json;
use rocket::{get, routes, Route};
use rocket_dyn_templates::Template;
use serde::Serialize;

use super::listing::{self, RawListQuery};
use super::urls::Section;
use super::views::Crumb;
use super::PanelUser;
use crate::db::Db;
use crate::error::Error;
use crate::models::{
    ItemFilter, ItemSort, ItemSortField, ListQuery, ListSort, SortKey, Store, Tag, UserFilter,
};
use crate::policy::{self, Actor};
use crate::services::accounts;
use crate::services::items::{self, ItemPage};
use crate::web::{Layout, PageError};

pub fn routes() -> Vec<Route> {
    routes![page, suggestions]
}

/// Where the search is.
pub const SEARCH: &str = "/admin/search";

/// Objects a group shows.
const PER_GROUP: i64 = 8;

#[derive(Serialize)]
struct Found {
    label: String,
    /// What else tells it apart (an item's store, a user's role).
    detail: String,
    href: String,
}

#[derive(Serialize)]
struct Group {
    title: &'static str,
    total: i64,
    approximate: bool,
    /// The section's list with this search.
    all: String,
    found: Vec<Found>,
}

/// Every group's first matches, in five statements at most (two per
/// group when a count runs past its limit).
fn groups(conn: &mut PgConnection, actor: &Actor, words: &str) -> Result<Vec<Group>, Error> {
    let raw = RawListQuery { search: Some(words), sort: None, page: None, per_page: None };
    let (mut query, _) = listing::list_query(raw, &[], ListSort::ascending(SortKey::Name));
    let Some(search) = query.search.clone() else { return Ok(Vec::new()) };
    query.offset = 0;
    query.limit = PER_GROUP;
    let scope = policy::panel_scope(actor);
    let all = |section: Section| section.list_with(&[("q", search.clone())]);
    let mut groups = Vec::with_capacity(4);

    let (stores, total) = Store::admin_list(conn, &query, scope)?;
    groups.push(Group {
        title: "Stores",
        total: total.count,
        approximate: total.approximate,
        all: all(Section::Stores),
        found: stores
            .into_iter()
            .map(|(store, count)| Found {
                href: Section::Stores.object(store.id),
                detail: if count == 1 { "1 item".to_owned() } else { format!("{count} items") },
                label: store.name,
            })
            .collect(),
    });

    let filter = ItemFilter { owner_id: scope, name_contains: Some(search.clone()), ..ItemFilter::default() };
    let sort = ItemSort { field: ItemSortField::Name, descending: false };
    let (found, total) =
        items::list(conn, &filter, sort, ItemPage { after: None, offset: 0, limit: PER_GROUP })?;
    groups.push(Group {
        title: "Items",
        total: total.count,
        approximate: total.approximate,
        all: all(Section::Items),
        found: found
            .into_iter()
            .map(|detail| Found {
                href: Section::Items.object(detail.item.id),
                detail: detail.store_name,
                label: detail.item.name,
            })
            .collect(),
    });

    let (tags, total) = Tag::admin_list(conn, &query, None, scope)?;
    groups.push(Group {
        title: "Tags",
        total: total.count,
        approximate: total.approximate,
        all: all(Section::Tags),
        found: tags
            .into_iter()
            .map(|(tag, store_name, _)| Found {
                href: Section::Tags.object(tag.id),
                detail: store_name,
                label: tag.name,
            })
            .collect(),
    });

    if actor.is_admin() {
        let query = ListQuery { sort: ListSort::ascending(SortKey::Email), ..query };
        let (users, total) = accounts::list(conn, actor, &query, UserFilter::default())?;
        groups.push(Group {
            title: "Users",
            total: total.count,
            approximate: total.approximate,
            all: all(Section::Users),
            found: users
                .into_iter()
                .map(|user| Found {
                    href: Section::Users.object(user.id),
                    detail: user.role.to_string(),
                    label: user.email,
                })
                .collect(),
        });
    }
    Ok(groups)
}

async fn search(db: &Db, actor: &Actor, q: Option<&str>) -> Result<Vec<Group>, Error> {
    let (actor, words) = (*actor, q.unwrap_or_default().to_owned());
    // Accounts are read from the primary (their changes raise no events).
    db.run(move |conn| groups(conn, &actor, &words)).await
}

#[derive(Serialize)]
struct SearchPage {
    layout: Layout,
    crumbs: Vec<Crumb>,
    title: &'static str,
    search: String,
    groups: Vec<Group>,
    nothing: bool,
}

#[get("/?<q>")]
async fn page(db: Db, panel: PanelUser, layout: Layout, q: Option<&str>) -> Result<Template, PageError> {
    let groups = search(&db, &panel.actor, q).await?;
    let nothing = groups.iter().all(|group| group.found.is_empty());
    let panel_crumb = Crumb::panel(&panel.actor);
    let page = SearchPage {
        layout,
        crumbs: vec![panel_crumb, Crumb::here("Search".to_owned())],
        title: "Search the panel",
        search: q.unwrap_or_default().to_owned(),
        groups,
        nothing,
    };
    Ok(Template::render("admin/search.html", page))
}

/// The same groups as JSON, for the box's suggestions.
#[get("/suggestions?<q>")]
async fn suggestions(db: Db, panel: PanelUser, q: Option<&str>) -> Result<Json<Vec<Group>>, PageError> {
    Ok(Json(search(&db, &panel.actor, q).await?))
}
