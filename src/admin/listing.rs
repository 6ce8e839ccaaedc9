//! What every admin list and form shares: reading `q`, `sort` and `page`,
//! sortable column headers, the history of an object, where to go after
//! saving, the store pickers, and the delete and bulk forms.

use diesel::PgConnection;
use rocket::form::FromForm;
use rocket::response::{Flash, Redirect};

use super::resource::{ColumnDef, Described};
use super::urls::Section;
use super::views::{Change, Choice, Column, HistoryEntry};
use crate::error::Error;
use crate::models::{AuditEntry, Entity, ListQuery, ListSort, Role, Store, TagRef};
use crate::policy::{self, Actor};
use crate::services::audit::{self, Recorded};
use crate::web::{with_param, CsrfProtected, PageNumber};

/// The list parameters as the query gives them.
pub struct RawListQuery<'a> {
    pub search: Option<&'a str>,
    pub sort: Option<&'a str>,
    pub page: Option<&'a str>,
    pub per_page: Option<&'a str>,
}

/// Reads the list parameters: the search, a sort among the keys of
/// `columns` (else `default`), the page and its size.
pub fn list_query(
    raw: RawListQuery<'_>,
    columns: &[ColumnDef],
    default: ListSort,
) -> (ListQuery, PageNumber) {
    let page = PageNumber::from_query(raw.page).sized(raw.per_page);
    let sort = raw
        .sort
        .and_then(|requested| {
            let (descending, word) = match requested.strip_prefix('-') {
                Some(word) => (true, word),
                None => (false, requested),
            };
            let key = columns.iter().filter_map(|c| c.sort).find(|key| key.as_str() == word)?;
            Some(ListSort { key, descending })
        })
        .unwrap_or(default);
    let search =
        raw.search.map(crate::text::normalize).filter(|s| !s.is_empty() && !s.chars().any(char::is_control));
    (ListQuery { search, sort, offset: page.offset(), limit: page.limit(), after: None }, page)
}

/// Column headers: sortable ones link to sort by them (the other way when
/// already sorted by them) and say how the list is sorted.
pub fn columns(definitions: &[ColumnDef], base: &str, sort: ListSort) -> Vec<Column> {
    definitions
        .iter()
        .map(|definition| {
            let current = definition.sort == Some(sort.key);
            let aria_sort = current.then_some(if sort.descending { "descending" } else { "ascending" });
            let sort_url = definition.sort.map(|key| {
                let next = ListSort { key, descending: current && !sort.descending };
                with_param(base, "sort", next.param())
            });
            Column { label: definition.label, sort_url, aria_sort, numeric: definition.numeric }
        })
        .collect()
}

/// Who changed which fields of an object, from what to what, newest first.
pub fn history(
    conn: &mut PgConnection,
    viewer: &Actor,
    entity: Entity,
    id: i64,
) -> Result<Vec<HistoryEntry>, Error> {
    let entries = audit::history_of(conn, entity, id, 200)?;
    Ok(entries.into_iter().map(|recorded| describe_entry(viewer, recorded)).collect())
}

/// Who made a change, as `viewer` may see it: staff see everyone's email;
/// a store's owner sees members' (their own included), and staff and
/// admins only by their role.
fn actor_shown(viewer: &Actor, entry: &AuditEntry, email: Option<String>, role: Option<Role>) -> String {
    let staff_viewer = viewer.role != Role::Member;
    let oneself = entry.actor_id == Some(viewer.user_id);
    match (email, role) {
        (None, _) => "(deleted user)".to_owned(),
        (Some(_), Some(Role::Staff)) if !staff_viewer && !oneself => "a staff member".to_owned(),
        (Some(_), Some(Role::Admin)) if !staff_viewer && !oneself => "an admin".to_owned(),
        (Some(email), _) => email,
    }
}

/// An audit entry in words, for `viewer`.
pub fn describe_entry(
    viewer: &Actor,
    Recorded { entry, actor_email, actor_role, .. }: Recorded,
) -> HistoryEntry {
    let actor = actor_shown(viewer, &entry, actor_email, actor_role);
    let show = |value: Option<&serde_json::Value>| match value {
        None => "—".to_owned(),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Null) => "(empty)".to_owned(),
        Some(serde_json::Value::Array(list)) if list.is_empty() => "(none)".to_owned(),
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    };
    let changes = match &entry.changes {
        serde_json::Value::Object(fields) => fields
            .iter()
            .map(|(field, change)| Change {
                field: field.replace('_', " "),
                from: show(change.get("from")),
                to: show(change.get("to")),
            })
            .collect(),
        _ => Vec::new(),
    };
    HistoryEntry {
        at: entry.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        actor,
        via: entry.via.to_string(),
        action: entry.action.to_string(),
        changes,
    }
}

/// Where "save", "save and continue editing" and "save and add another"
/// lead; the next object starts with `another` (the same store).
pub fn after_save(
    action: &str,
    section: Section,
    saved: &Described,
    another: &[(&str, String)],
) -> Flash<Redirect> {
    let what = &saved.what;
    let (to, message) = match action {
        "continue" => (section.object(saved.id), format!("Saved {what}. You may go on editing it.")),
        "another" => (section.new_with(another), format!("Saved {what}. Add another below.")),
        _ => (section.list(), format!("Saved {what}.")),
    };
    Flash::success(Redirect::to(to), message)
}

/// The selection of a bulk action.
#[derive(FromForm)]
pub struct BulkForm {
    #[field(default = String::new())]
    pub csrf_token: String,
    #[field(default = Vec::new())]
    pub ids: Vec<i64>,
    /// Set on the confirmation page's button.
    #[field(default = false)]
    pub confirmed: bool,
    /// "Select all N matching": every object of the list (its search and
    /// filters are in the form's address), not only the ticked ones.
    #[field(default = false)]
    pub all_matching: bool,
}

impl CsrfProtected for BulkForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Forms with nothing but their CSRF token (single deletes).
pub use crate::web::ConfirmForm;

/// The stores `actor` manages by name, for pickers and filters (the first 500).
pub fn store_choices(
    conn: &mut PgConnection,
    actor: &Actor,
    selected: Option<i64>,
) -> Result<Vec<Choice>, Error> {
    let names = Store::names(conn, STORE_CHOICES, policy::panel_scope(actor))?;
    Ok(names.into_iter().map(|store| store_choice(store, selected)).collect())
}

/// The store picker with the tags of the chosen store, in one statement.
pub fn store_and_tag_choices(
    conn: &mut PgConnection,
    actor: &Actor,
    selected: Option<i64>,
) -> Result<(Vec<Choice>, Vec<TagRef>), Error> {
    let scope = policy::panel_scope(actor);
    let (stores, tags) = Store::names_and_tags_of(conn, STORE_CHOICES, selected, scope)?;
    Ok((stores.into_iter().map(|store| store_choice(store, selected)).collect(), tags))
}

/// How many stores a picker offers.
const STORE_CHOICES: i64 = 500;

fn store_choice((id, name): (i64, String), selected: Option<i64>) -> Choice {
    Choice { value: id.to_string(), label: name, selected: Some(id) == selected }
}

/// Refuses an edit based on an older version.
pub fn same_version(current: i64, submitted: Option<i64>) -> Result<(), Error> {
    match submitted {
        Some(version) if version == current => Ok(()),
        _ => Err(Error::StaleVersion),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::SortKey;

    const COLUMNS: &[ColumnDef] = &[
        ColumnDef { label: "Name", sort: Some(SortKey::Name), numeric: false },
        ColumnDef { label: "Items", sort: None, numeric: true },
        ColumnDef { label: "Created", sort: Some(SortKey::CreatedAt), numeric: false },
    ];

    fn raw<'a>(search: Option<&'a str>, sort: Option<&'a str>, page: Option<&'a str>) -> RawListQuery<'a> {
        RawListQuery { search, sort, page, per_page: Some("50") }
    }

    #[test]
    fn unknown_sorts_fall_back_to_the_default() {
        let default = ListSort { key: SortKey::CreatedAt, descending: true };
        let (query, _) = list_query(raw(None, Some("password_hash"), None), COLUMNS, default);
        assert_eq!(query.sort, default);
        let (query, _) = list_query(raw(None, Some("price"), None), COLUMNS, default);
        assert_eq!(query.sort, default, "a key of another list");
        let (query, page) = list_query(raw(Some("  x "), Some("-name"), Some("3")), COLUMNS, default);
        assert_eq!((query.sort.key, query.sort.descending, query.offset), (SortKey::Name, true, 100));
        assert_eq!((query.search.as_deref(), page.number, query.limit), (Some("x"), 3, 50));
    }

    #[test]
    fn headers_toggle_the_direction_of_the_current_column() {
        let columns = columns(COLUMNS, "/admin/stores?q=a", ListSort::ascending(SortKey::Name));
        assert_eq!(columns[0].sort_url.as_deref(), Some("/admin/stores?q=a&sort=-name"));
        assert_eq!(columns[0].aria_sort, Some("ascending"));
        assert_eq!((columns[1].sort_url.as_deref(), columns[1].aria_sort), (None, None));
        assert_eq!(columns[2].sort_url.as_deref(), Some("/admin/stores?q=a&sort=created_at"));
    }
}
