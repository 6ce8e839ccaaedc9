//! Tags in the admin panel.

use diesel::PgConnection;
use rocket::form::FromForm;

use super::export::Record;
use super::listing::{same_version, store_choices};
use super::resource::{admin_section, ColumnDef, DeleteSummary, Described, Listed, Resource};
use super::urls::Section;
use super::views::{Cell, Crumb, Field, FieldKind, Filter, Named, Row};
use super::PanelUser;
use crate::error::Error;
use crate::models::{ListQuery, ListSort, SortKey, Tag};
use crate::policy::{self, Actor};
use crate::services::tags::{self, TagDetail};

pub struct Tags;

admin_section!(Tags, PanelUser);

#[derive(FromForm)]
pub struct TagFilters {
    store: Option<i64>,
}

#[derive(FromForm)]
pub struct TagForm {
    store_id: Option<i64>,
    #[field(default = String::new())]
    name: String,
}

impl Resource for Tags {
    const SECTION: Section = Section::Tags;
    const SINGULAR: &'static str = "tag";
    const TITLE: &'static str = "Tags";
    const COLUMNS: &'static [ColumnDef] = &[
        ColumnDef { label: "Name", sort: Some(SortKey::Name), numeric: false },
        ColumnDef { label: "Store", sort: None, numeric: false },
        ColumnDef { label: "Items", sort: None, numeric: true },
        ColumnDef { label: "Created", sort: Some(SortKey::CreatedAt), numeric: false },
    ];
    const DEFAULT_SORT: ListSort = ListSort { key: SortKey::Name, descending: false };

    type Filters = TagFilters;
    type Form = TagForm;
    type Object = TagDetail;

    fn filter_params(filters: &TagFilters) -> Vec<(&'static str, String)> {
        vec![("store", filters.store.map(|s| s.to_string()).unwrap_or_default())]
    }

    fn list(
        conn: &mut PgConnection,
        actor: &Actor,
        query: &ListQuery,
        filters: &TagFilters,
    ) -> Result<Listed, Error> {
        let scope = policy::panel_scope(actor);
        let (rows, total) = Tag::admin_list(conn, query, filters.store, scope)?;
        let choices = store_choices(conn, actor, filters.store)?;
        let rows = rows
            .into_iter()
            .map(|(tag, store_name, count)| Row {
                id: tag.id,
                label: format!("{} ({store_name})", tag.name),
                cells: vec![
                    Cell::link(&tag.name, Section::Tags.object(tag.id)),
                    Cell::link(store_name, Section::Stores.object(tag.store_id)),
                    Cell::link(
                        count,
                        Section::Items
                            .list_with(&[("store", tag.store_id.to_string()), ("tag", tag.id.to_string())]),
                    ),
                    Cell::text(tag.created_at.format("%Y-%m-%d %H:%M")),
                ],
            })
            .collect();
        Ok(Listed { rows, total, filters: vec![Filter { name: "store", label: "Store", choices }] })
    }

    const EXPORT_COLUMNS: &'static [&'static str] =
        &["id", "store_id", "store", "name", "items", "created_at"];

    fn export(
        conn: &mut PgConnection,
        actor: &Actor,
        query: &ListQuery,
        filters: &TagFilters,
    ) -> Result<Vec<Record>, Error> {
        let (rows, _) = Tag::admin_list(conn, query, filters.store, policy::panel_scope(actor))?;
        Ok(rows
            .into_iter()
            .map(|(tag, store_name, count)| {
                let cells = vec![
                    tag.id.to_string(),
                    tag.store_id.to_string(),
                    store_name,
                    tag.name,
                    count.to_string(),
                    super::export::time(tag.created_at),
                ];
                (tag.id, cells)
            })
            .collect())
    }

    fn load(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<TagDetail, Error> {
        tags::detail_managed(conn, actor, id)
    }

    fn describe(detail: &TagDetail) -> Described {
        Described {
            id: detail.tag.id,
            what: format!("tag “{}”", detail.tag.name),
            version: detail.tag.version.into(),
            store_id: Some(detail.tag.store_id),
        }
    }

    fn new_params(filters: &TagFilters) -> Vec<(&'static str, String)> {
        vec![("store_id", filters.store.map(|s| s.to_string()).unwrap_or_default())]
    }

    fn another_params(form: &TagForm) -> Vec<(&'static str, String)> {
        vec![("store_id", form.store_id.map(|id| id.to_string()).unwrap_or_default())]
    }

    fn values(detail: &TagDetail) -> TagForm {
        TagForm { store_id: Some(detail.tag.store_id), name: detail.tag.name.clone() }
    }

    fn fields(
        conn: &mut PgConnection,
        actor: &Actor,
        tag: Option<&TagDetail>,
        form: &TagForm,
    ) -> Result<Vec<Field>, Error> {
        let store = match tag {
            Some(detail) => Field::text("store", "Store", &detail.store_name).kind(FieldKind::Static),
            None => Field::text("store_id", "Store", "").kind(FieldKind::Select).choices(store_choices(
                conn,
                actor,
                form.store_id,
            )?),
        };
        let name =
            Field::text("name", "Name", &form.name).hint("1 to 40 characters, unique within the store.");
        Ok(vec![store, name])
    }

    fn create(conn: &mut PgConnection, actor: &Actor, form: &TagForm) -> Result<TagDetail, Error> {
        let store_id = form.store_id.ok_or_else(|| Error::invalid("store_id", "Choose a store."))?;
        tags::create(conn, actor, store_id, &form.name)
    }

    fn update(
        conn: &mut PgConnection,
        actor: &Actor,
        id: i64,
        form: &TagForm,
        version: Option<i64>,
    ) -> Result<TagDetail, Error> {
        tags::rename(conn, actor, id, &form.name, |current| same_version(current.version.into(), version))?;
        tags::detail(conn, id)
    }

    fn delete_summary(conn: &mut PgConnection, _: &Actor, ids: &[i64]) -> Result<DeleteSummary, Error> {
        let mut objects = Vec::new();
        let mut links = 0;
        // The items of the first tag still carried, to go and untag.
        let mut carried = None;
        for &id in ids {
            let detail = tags::detail(conn, id)?;
            links += detail.item_count;
            if detail.item_count > 0 && carried.is_none() {
                let label = format!("See the items tagged “{}”", detail.tag.name);
                let params = [("store", detail.tag.store_id.to_string()), ("tag", id.to_string())];
                carried = Some(Crumb::link(label, Section::Items.list_with(&params)));
            }
            objects.push(Named { id, label: format!("{} ({})", detail.tag.name, detail.store_name) });
        }
        let what = if ids.len() == 1 { "this tag".to_owned() } else { format!("these {} tags", ids.len()) };
        let problem = (links > 0).then(|| {
            format!("Items still carry {what} ({links} links). Remove the tags from those items first; nothing was deleted.")
        });
        Ok(DeleteSummary { objects, consequences: Vec::new(), problem, problem_link: carried })
    }

    fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<(), Error> {
        tags::delete(conn, actor, id)
    }
}
