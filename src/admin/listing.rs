//! What every admin list and form shares: reading `q`, `sort` and `page`,
//! sortable column headers, the history of an object, and where to go after
//! saving.

use std::collections::HashMap;

use diesel::PgConnection;
use rocket::form::FromForm;
use rocket::response::{Flash, Redirect};

use super::urls::Section;
use super::views::{Change, Column, HistoryEntry};
use crate::error::Error;
use crate::models::{AuditEntry, ListQuery, ListSort, User};
use crate::web::{CsrfProtected, PageNumber, PER_PAGE};

/// Reads the list parameters; `sortable` is the allow-list of sort keys.
pub fn list_query(
    search: Option<&str>,
    sort: Option<&str>,
    page: Option<&str>,
    sortable: &[&'static str],
    default: &'static str,
) -> (ListQuery, PageNumber) {
    let page = PageNumber::from_query(page);
    let requested = sort.unwrap_or(default);
    let (descending, key) = match requested.strip_prefix('-') {
        Some(key) => (true, key),
        None => (false, requested),
    };
    let sort = match sortable.iter().find(|&&allowed| allowed == key) {
        Some(&column) => ListSort { column, descending },
        None => ListSort { column: default.trim_start_matches('-'), descending: default.starts_with('-') },
    };
    let search =
        search.map(crate::text::normalize).filter(|s| !s.is_empty() && !s.chars().any(char::is_control));
    (ListQuery { search, sort, offset: page.offset(), limit: PER_PAGE }, page)
}

pub fn sort_param(sort: crate::models::ListSort) -> String {
    if sort.descending {
        format!("-{}", sort.column)
    } else {
        sort.column.to_owned()
    }
}

/// Column headers: sortable ones link to sort by them (the other way when
/// already sorted by them) and say how the list is sorted.
pub fn columns(
    definitions: &[(&'static str, Option<&'static str>, bool)],
    base: &str,
    sort: crate::models::ListSort,
) -> Vec<Column> {
    let separator = if base.contains('?') { '&' } else { '?' };
    definitions
        .iter()
        .map(|&(label, key, numeric)| {
            let current = key == Some(sort.column);
            let aria_sort = current.then_some(if sort.descending { "descending" } else { "ascending" });
            let sort_url = key.map(|key| {
                let next = if current && !sort.descending { format!("-{key}") } else { key.to_owned() };
                format!("{base}{separator}sort={next}")
            });
            Column { label, sort_url, aria_sort, numeric }
        })
        .collect()
}

/// Who changed which fields of an object, from what to what, newest first.
pub fn history(conn: &mut PgConnection, entity: &str, id: i64) -> Result<Vec<HistoryEntry>, Error> {
    let entries = AuditEntry::of(conn, entity, id, 200)?;
    let actor_ids: Vec<i64> = entries.iter().filter_map(|e| e.actor_id).collect();
    let emails: HashMap<i64, String> = User::emails(conn, &actor_ids)?;
    Ok(entries.into_iter().map(|entry| describe_entry(entry, &emails)).collect())
}

pub fn describe_entry(entry: AuditEntry, emails: &HashMap<i64, String>) -> HistoryEntry {
    let show = |value: Option<&serde_json::Value>| match value {
        None => "—".to_owned(),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Null) => "(empty)".to_owned(),
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
        actor: entry.actor_id.map_or_else(
            || "(deleted user)".to_owned(),
            |id| emails.get(&id).cloned().unwrap_or(format!("user {id}")),
        ),
        via: entry.via.to_string(),
        action: entry.action,
        changes,
    }
}

/// Where "save", "save and continue editing" and "save and add another" lead.
pub fn after_save(action: &str, section: Section, id: i64, what: &str) -> Flash<Redirect> {
    let (to, message) = match action {
        "continue" => (section.object(id), format!("Saved {what}. You may go on editing it.")),
        "another" => (section.new_object(), format!("Saved {what}. Add another below.")),
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
}

impl CsrfProtected for BulkForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Forms with nothing but their CSRF token (single deletes).
#[derive(FromForm)]
pub struct ConfirmForm {
    #[field(default = String::new())]
    pub csrf_token: String,
}

impl CsrfProtected for ConfirmForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Deletes every selected object with `delete`: all of them, or none if one
/// cannot go.
pub async fn delete_all<F>(db: &crate::db::Db, ids: Vec<i64>, delete: F) -> Result<(), Error>
where
    F: Fn(&mut PgConnection, i64) -> Result<(), Error> + Send + 'static,
{
    db.run(move |conn| {
        use diesel::Connection;
        conn.transaction(|conn| ids.iter().try_for_each(|&id| delete(conn, id)))
    })
    .await
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

    #[test]
    fn unknown_sorts_fall_back_to_the_default() {
        let (query, _) = list_query(None, Some("password_hash"), None, &["name"], "-created_at");
        assert_eq!((query.sort.column, query.sort.descending), ("created_at", true));
        let (query, page) = list_query(Some("  x "), Some("-name"), Some("3"), &["name"], "name");
        assert_eq!((query.sort.column, query.sort.descending, query.offset), ("name", true, 40));
        assert_eq!((query.search.as_deref(), page.0), (Some("x"), 3));
    }

    #[test]
    fn headers_toggle_the_direction_of_the_current_column() {
        let sort = ListSort { column: "name", descending: false };
        let columns =
            columns(&[("Name", Some("name"), false), ("Items", None, true)], "/admin/stores?q=a", sort);
        assert_eq!(columns[0].sort_url.as_deref(), Some("/admin/stores?q=a&sort=-name"));
        assert_eq!(columns[0].aria_sort, Some("ascending"));
        assert_eq!((columns[1].sort_url.as_deref(), columns[1].aria_sort), (None, None));
    }
}
