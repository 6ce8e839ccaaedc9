//! The contexts of the panel's generic templates: one list page, one form,
//! one delete confirmation, one history and one conflict page serve every
//! kind of object.

use serde::Serialize;

use crate::error::FieldErrors;
use crate::web::{Layout, Paging};

/// A step of the breadcrumbs; the last, the page itself, links nowhere.
#[derive(Debug, Serialize)]
pub struct Crumb {
    pub label: String,
    pub href: Option<String>,
}

impl Crumb {
    pub fn link(label: impl Into<String>, href: String) -> Crumb {
        Crumb { label: label.into(), href: Some(href) }
    }

    pub fn here(label: String) -> Crumb {
        Crumb { label, href: None }
    }

    /// The panel itself: "Admin" to staff, the account page to members.
    pub fn panel(actor: &crate::policy::Actor) -> Crumb {
        if actor.is_staff() {
            Crumb::link("Admin", super::urls::DASHBOARD.to_owned())
        } else {
            Crumb::link("Your account", "/account".to_owned())
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Column {
    pub label: &'static str,
    /// Where a click on the header sorts; `None` for columns that do not sort.
    pub sort_url: Option<String>,
    /// `ascending` or `descending` on the column the list is sorted by.
    pub aria_sort: Option<&'static str>,
    pub numeric: bool,
}

#[derive(Debug, Serialize)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    /// `text` is a price, written in the site's currency.
    pub money: bool,
    /// A small picture before the text (an item's first).
    pub thumb: Option<crate::views::ImageSizeView>,
}

impl Cell {
    pub fn text(text: impl ToString) -> Cell {
        Cell { text: text.to_string(), href: None, money: false, thumb: None }
    }

    pub fn link(text: impl ToString, href: String) -> Cell {
        Cell { text: text.to_string(), href: Some(href), money: false, thumb: None }
    }

    pub fn money(price: crate::price::Price) -> Cell {
        Cell { text: price.to_string(), href: None, money: true, thumb: None }
    }

    /// The same cell with the smallest size of `image` before its text.
    pub fn with_thumb(mut self, image: Option<crate::views::ImageView>) -> Cell {
        self.thumb = image.and_then(|image| image.sizes.into_iter().next());
        self
    }
}

#[derive(Debug, Serialize)]
pub struct Row {
    pub id: i64,
    /// Names the row for its checkbox.
    pub label: String,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Serialize, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Serialize)]
pub struct Filter {
    pub name: &'static str,
    pub label: &'static str,
    pub choices: Vec<Choice>,
}

#[derive(Debug, Serialize)]
pub struct ListPage {
    pub layout: Layout,
    pub crumbs: Vec<Crumb>,
    pub title: &'static str,
    pub singular: &'static str,
    /// Where the search and filters go.
    pub list_url: String,
    /// The form for a new object, where the panel creates them.
    pub new_url: Option<String>,
    /// The bulk delete, with the list's search and filters for "select all".
    pub bulk_delete_url: String,
    /// Where the selection goes to be changed (items only).
    pub bulk_change_url: Option<String>,
    /// The whole list (its search and filters) as a CSV file.
    pub export_url: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    pub search: String,
    /// Whether a search or a filter narrows the list (so that an empty one
    /// says "Nothing matches" rather than that there is nothing yet).
    pub filtered: bool,
    pub search_label: &'static str,
    pub filters: Vec<Filter>,
    pub sort: String,
    /// Rows a page, and the sizes offered.
    pub per_page: i64,
    pub page_sizes: [i64; 3],
    pub paging: Paging,
}

/// How a form field is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    Text,
    Textarea,
    /// One of `choices`.
    Select,
    /// Any of `choices`.
    Checkboxes,
    /// Yes or no (`value` is `true` or `false`).
    Checkbox,
    /// Shown, not edited.
    Static,
}

#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub value: String,
    pub choices: Vec<Choice>,
    pub hint: &'static str,
    pub required: bool,
    /// The label of a button beside the field that shows the form again
    /// for the value chosen, without saving (see [`Field::reload`]).
    pub reload: Option<&'static str>,
    /// The checkboxes field a select fills with the tags of the chosen
    /// store (the script of `static/forms.js`).
    pub fills_tags: Option<&'static str>,
}

impl Field {
    pub fn text(name: &'static str, label: &'static str, value: impl ToString) -> Field {
        Field {
            name,
            label,
            kind: FieldKind::Text,
            value: value.to_string(),
            choices: Vec::new(),
            hint: "",
            required: true,
            reload: None,
            fills_tags: None,
        }
    }

    pub fn kind(mut self, kind: FieldKind) -> Field {
        self.kind = kind;
        self
    }

    /// Not required, so no `required` attribute.
    pub fn optional(mut self) -> Field {
        self.required = false;
        self
    }

    pub fn hint(mut self, hint: &'static str) -> Field {
        self.hint = hint;
        self
    }

    /// With JavaScript, choosing a store puts its tags in the checkboxes
    /// field `target` at once.
    pub fn fills_tags(mut self, target: &'static str) -> Field {
        self.fills_tags = Some(target);
        self
    }

    /// Without JavaScript, a button beside the field that sends the form
    /// back to be shown again for the value chosen (a store's tags), saving
    /// nothing: the form's `action` is `reload`, posted like a save, so that
    /// what was typed and the CSRF token stay out of the address.
    pub fn reload(mut self, label: &'static str) -> Field {
        self.reload = Some(label);
        self
    }

    pub fn choices(mut self, choices: Vec<Choice>) -> Field {
        self.choices = choices;
        self
    }

    /// The value as the form shows it, in words: the chosen labels of a
    /// select or checkboxes, "yes" or "no" for a checkbox.
    pub fn shown(&self) -> String {
        let chosen = || {
            self.choices
                .iter()
                .filter(|c| c.selected)
                .map(|c| c.label.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self.kind {
            FieldKind::Select | FieldKind::Checkboxes => chosen(),
            FieldKind::Checkbox => if self.value == "true" { "yes" } else { "no" }.to_owned(),
            // Browsers send a textarea's line breaks as CRLF.
            FieldKind::Textarea => self.value.replace("\r\n", "\n"),
            FieldKind::Text | FieldKind::Static => self.value.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FormPage {
    pub layout: Layout,
    pub crumbs: Vec<Crumb>,
    pub title: String,
    /// Names the object's kind for its live events (`store`).
    pub singular: &'static str,
    /// Set when editing.
    pub id: Option<i64>,
    /// The version the form was read at, for optimistic locking.
    pub version: Option<i64>,
    /// The store the object belongs to (a store's own id): its live events
    /// tell the form when the object changes elsewhere. `None` for users.
    pub store_id: Option<i64>,
    pub action: String,
    /// Set when editing.
    pub history_url: Option<String>,
    /// Where an admin takes a user's second step away.
    pub two_step_reset_url: Option<String>,
    /// Set when editing an object with pictures (an item).
    pub pictures_url: Option<String>,
    /// The object's page on the site, if it has one.
    pub site_url: Option<String>,
    pub delete_url: Option<String>,
    pub can_add_another: bool,
    pub fields: Vec<Field>,
    pub errors: FieldErrors,
    /// An edit form's fields as it was first read, sent back with it
    /// (`original.name`, ...) so that a conflict can tell what it changed.
    pub originals: Vec<Field>,
    /// What the object holds, shown read-only below the form.
    pub inlines: Vec<Inline>,
    /// The form holds what was typed before a session ended, not yet saved.
    pub restored: bool,
}

/// Some of the objects within an object (a store's items), read-only, with
/// links to them all and to add one.
#[derive(Debug, Serialize)]
pub struct Inline {
    pub title: &'static str,
    pub rows: Vec<Cell>,
    pub total: i64,
    pub all_url: String,
    pub add_url: String,
    pub add_label: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Named {
    pub id: i64,
    pub label: String,
}

#[derive(Debug, Serialize)]
pub struct DeletePage {
    pub layout: Layout,
    pub crumbs: Vec<Crumb>,
    pub title: String,
    pub objects: Vec<Named>,
    /// What goes with them, one sentence each.
    pub consequences: Vec<String>,
    pub action: String,
    pub cancel: String,
    pub problem: Option<String>,
    pub problem_link: Option<Crumb>,
}

#[derive(Debug, Serialize)]
pub struct Change {
    pub field: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Serialize)]
pub struct HistoryEntry {
    pub at: String,
    pub actor: String,
    pub via: String,
    pub action: String,
    pub changes: Vec<Change>,
}

#[derive(Debug, Serialize)]
pub struct HistoryPage {
    pub layout: Layout,
    pub crumbs: Vec<Crumb>,
    pub title: String,
    pub back: String,
    pub entries: Vec<HistoryEntry>,
}

#[derive(Debug, Serialize)]
pub struct Compared {
    pub label: &'static str,
    pub yours: String,
    pub current: String,
    /// Your edit changed this field.
    pub changed: bool,
}

/// A stale edit: each field's submitted and current values, and the form
/// again with the submitted values at the current version, to save them
/// over it after all.
#[derive(Debug, Serialize)]
pub struct ConflictPage {
    pub layout: Layout,
    pub crumbs: Vec<Crumb>,
    pub title: String,
    pub edit_url: String,
    pub compared: Vec<Compared>,
    pub version: i64,
    /// Your changes over the current values.
    pub fields: Vec<Field>,
    /// The current values, which the re-apply form counts as read.
    pub current_fields: Vec<Field>,
    pub errors: FieldErrors,
}
