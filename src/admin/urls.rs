//! The admin panel's URLs, written once: the links, form actions and
//! redirects of the handlers come from here, and `mod.rs` mounts each
//! section's routes at its [`Section::list`] URL. Templates are given the
//! URLs they link to.

use std::fmt;

use crate::models::Entity;

/// The dashboard.
pub const DASHBOARD: &str = "/admin";

/// A section of the panel: one kind of object, its list and its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Stores,
    Items,
    Tags,
    Users,
}

impl Section {
    /// The section's name in URLs and templates (`stores`).
    pub fn name(self) -> &'static str {
        match self {
            Section::Stores => "stores",
            Section::Items => "items",
            Section::Tags => "tags",
            Section::Users => "users",
        }
    }

    /// The section of an audited kind of object.
    pub fn of_entity(entity: Entity) -> Section {
        match entity {
            Entity::Store => Section::Stores,
            Entity::Item => Section::Items,
            Entity::Tag => Section::Tags,
            Entity::User => Section::Users,
        }
    }

    /// How the audit log names the section's objects.
    pub fn entity(self) -> Entity {
        match self {
            Section::Stores => Entity::Store,
            Section::Items => Entity::Item,
            Section::Tags => Entity::Tag,
            Section::Users => Entity::User,
        }
    }

    /// The list, where the section's routes are mounted.
    pub fn list(self) -> String {
        format!("{DASHBOARD}/{self}")
    }

    /// The list with its search and filters; empty values are left out.
    pub fn list_with(self, params: &[(&str, String)]) -> String {
        with_query(self.list(), params)
    }

    /// An object's edit page (also where its form posts).
    pub fn object(self, id: i64) -> String {
        format!("{}/{id}", self.list())
    }

    /// The form for a new object.
    pub fn new_object(self) -> String {
        format!("{}/new", self.list())
    }

    /// The form for a new object, starting with `params` (the store of a
    /// list filtered by store).
    pub fn new_with(self, params: &[(&str, String)]) -> String {
        with_query(self.new_object(), params)
    }

    /// An object's history.
    /// The object's public page, for sections that have one.
    pub fn on_site(self, id: i64) -> Option<String> {
        match self {
            Section::Stores => Some(format!("/stores/{id}")),
            Section::Items => Some(format!("/items/{id}")),
            Section::Tags => Some(format!("/tags/{id}")),
            Section::Users => None,
        }
    }

    /// An object's pictures, for sections whose objects have them.
    pub fn pictures(self, id: i64) -> Option<String> {
        (self == Section::Items).then(|| format!("{}/pictures", self.object(id)))
    }

    pub fn history(self, id: i64) -> String {
        format!("{}/history", self.object(id))
    }

    /// An object's delete confirmation.
    pub fn delete(self, id: i64) -> String {
        format!("{}/delete", self.object(id))
    }

    /// The bulk delete of a selection.
    pub fn bulk_delete(self) -> String {
        format!("{}/bulk-delete", self.list())
    }

    /// The list as a CSV file (add the list's search and filters).
    pub fn export(self) -> String {
        format!("{}/export.csv", self.list())
    }
}

/// `path` with the non-empty `params` as its query.
pub fn with_query(path: String, params: &[(&str, String)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", rocket::http::RawStr::new(value).percent_encode()))
        .collect();
    if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_section_has_its_urls() {
        assert_eq!(Section::Stores.list(), "/admin/stores");
        assert_eq!(Section::Items.object(7), "/admin/items/7");
        assert_eq!(Section::Tags.new_object(), "/admin/tags/new");
        assert_eq!(Section::Users.delete(3), "/admin/users/3/delete");
        assert_eq!(Section::Items.bulk_delete(), "/admin/items/bulk-delete");
        assert_eq!(Section::Items.history(7), "/admin/items/7/history");
        assert_eq!(Section::Users.export(), "/admin/users/export.csv");
        assert_eq!(Section::Items.new_with(&[("store", "4".into())]), "/admin/items/new?store=4");
        for section in [Section::Stores, Section::Items, Section::Tags, Section::Users] {
            assert_eq!(Section::of_entity(section.entity()), section);
        }
        let filtered = Section::Items.list_with(&[("q", "a b&c".into()), ("store", String::new())]);
        assert_eq!(filtered, "/admin/items?q=a%20b%26c");
        assert_eq!(Section::Stores.list_with(&[("q", String::new())]), "/admin/stores");
    }
}
