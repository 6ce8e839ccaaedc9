//! Stores in the admin panel.

use diesel::PgConnection;
use rocket::form::FromForm;

use super::export::Record;
use super::listing::same_version;
use super::resource::{admin_section, ColumnDef, DeleteSummary, Described, Listed, NoFilters, Resource};
use super::urls::Section;
use super::views::{Cell, Field, FieldKind, Inline, Named, Row};
use super::PanelUser;
use crate::error::Error;
use crate::models::{ListQuery, ListSort, SortKey, Store, User};
use crate::policy::{self, Actor};
use crate::services::stores;

pub struct Stores;

/// How many of its items and tags a store's page shows.
const INLINE_ROWS: i64 = 10;

admin_section!(Stores, PanelUser);

#[derive(FromForm)]
pub struct StoreForm {
    #[field(default = String::new())]
    name: String,
}

impl Resource for Stores {
    const SECTION: Section = Section::Stores;
    const SINGULAR: &'static str = "store";
    const TITLE: &'static str = "Stores";
    const COLUMNS: &'static [ColumnDef] = &[
        ColumnDef { label: "Name", sort: Some(SortKey::Name), numeric: false },
        ColumnDef { label: "Items", sort: None, numeric: true },
        ColumnDef { label: "Created", sort: Some(SortKey::CreatedAt), numeric: false },
        ColumnDef { label: "Changed", sort: Some(SortKey::UpdatedAt), numeric: false },
    ];
    const DEFAULT_SORT: ListSort = ListSort { key: SortKey::Name, descending: false };

    type Filters = NoFilters;
    type Form = StoreForm;
    type Object = Store;

    fn filter_params(_: &NoFilters) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    fn list(
        conn: &mut PgConnection,
        actor: &Actor,
        query: &ListQuery,
        _: &NoFilters,
    ) -> Result<Listed, Error> {
        let (rows, total) = Store::admin_list(conn, query, policy::panel_scope(actor))?;
        let rows = rows
            .into_iter()
            .map(|(store, items)| Row {
                id: store.id,
                label: store.name.clone(),
                cells: vec![
                    Cell::link(&store.name, Section::Stores.object(store.id)),
                    Cell::link(items, Section::Items.list_with(&[("store", store.id.to_string())])),
                    Cell::text(store.created_at.format("%Y-%m-%d %H:%M")),
                    Cell::text(store.updated_at.format("%Y-%m-%d %H:%M")),
                ],
            })
            .collect();
        Ok(Listed { rows, total, filters: Vec::new() })
    }

    const EXPORT_COLUMNS: &'static [&'static str] =
        &["id", "name", "owner", "items", "created_at", "updated_at"];

    fn export(
        conn: &mut PgConnection,
        actor: &Actor,
        query: &ListQuery,
        _: &NoFilters,
    ) -> Result<Vec<Record>, Error> {
        let (rows, _) = Store::admin_list(conn, query, policy::panel_scope(actor))?;
        let owners: Vec<i64> = rows.iter().filter_map(|(store, _)| store.owner_id).collect();
        let emails = User::emails(conn, &owners)?;
        Ok(rows
            .into_iter()
            .map(|(store, items)| {
                let owner = store.owner_id.and_then(|id| emails.get(&id)).cloned().unwrap_or_default();
                let cells = vec![
                    store.id.to_string(),
                    store.name,
                    owner,
                    items.to_string(),
                    super::export::time(store.created_at),
                    super::export::time(store.updated_at),
                ];
                (store.id, cells)
            })
            .collect())
    }

    fn load(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<Store, Error> {
        stores::get_managed(conn, actor, id)
    }

    fn describe(store: &Store) -> Described {
        Described {
            id: store.id,
            what: format!("store “{}”", store.name),
            version: store.version.into(),
            store_id: Some(store.id),
        }
    }

    fn values(store: &Store) -> StoreForm {
        StoreForm { name: store.name.clone() }
    }

    fn fields(
        conn: &mut PgConnection,
        _: &Actor,
        store: Option<&Store>,
        form: &StoreForm,
    ) -> Result<Vec<Field>, Error> {
        let mut fields =
            vec![Field::text("name", "Name", &form.name).hint("1 to 80 characters, unique among stores.")];
        if let Some(store) = store {
            let owner = stores::owner_email(conn, store)?.unwrap_or_else(|| "nobody".to_owned());
            fields.push(Field::text("owner", "Owner", owner).kind(FieldKind::Static));
        }
        Ok(fields)
    }

    fn create(conn: &mut PgConnection, actor: &Actor, form: &StoreForm) -> Result<Store, Error> {
        stores::create(conn, actor, &form.name)
    }

    fn update(
        conn: &mut PgConnection,
        actor: &Actor,
        id: i64,
        form: &StoreForm,
        version: Option<i64>,
    ) -> Result<Store, Error> {
        stores::rename(conn, actor, id, &form.name, |current| same_version(current.version.into(), version))
    }

    fn inlines(conn: &mut PgConnection, _: &Actor, store: &Store) -> Result<Vec<Inline>, Error> {
        let contents = stores::first_contents(conn, store.id, INLINE_ROWS)?;
        let of_store = [("store", store.id.to_string())];
        let add = [("store_id", store.id.to_string())];
        Ok(vec![
            Inline {
                title: "Items",
                rows: contents
                    .items
                    .into_iter()
                    .map(|(id, name)| Cell::link(name, Section::Items.object(id)))
                    .collect(),
                total: contents.item_count,
                all_url: Section::Items.list_with(&of_store),
                add_url: Section::Items.new_with(&add),
                add_label: "Add an item to this store",
            },
            Inline {
                title: "Tags",
                rows: contents
                    .tags
                    .into_iter()
                    .map(|(id, name)| Cell::link(name, Section::Tags.object(id)))
                    .collect(),
                total: contents.tag_count,
                all_url: Section::Tags.list_with(&of_store),
                add_url: Section::Tags.new_with(&add),
                add_label: "Add a tag to this store",
            },
        ])
    }

    fn delete_summary(conn: &mut PgConnection, _: &Actor, ids: &[i64]) -> Result<DeleteSummary, Error> {
        let mut objects = Vec::new();
        let (mut items, mut tags, mut links) = (0, 0, 0);
        for &id in ids {
            let store = stores::get(conn, id)?;
            let contents = stores::contents(conn, id)?;
            items += contents.items;
            tags += contents.tags;
            links += contents.links;
            objects.push(Named { id, label: store.name });
        }
        Ok(DeleteSummary {
            objects,
            consequences: vec![
                format!("{items} items"),
                format!("{tags} tags"),
                format!("{links} links between those items and tags"),
            ],
            problem: None,
            problem_link: None,
        })
    }

    fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<(), Error> {
        stores::delete(conn, actor, id).map(drop)
    }

    fn deleted_message(count: usize) -> String {
        match count {
            1 => "Deleted the store with its items and tags.".to_owned(),
            n => format!("Deleted {n} stores with their items and tags."),
        }
    }
}
