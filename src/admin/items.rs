//! Items in the admin panel; their tag checkboxes offer only their store's tags.

use diesel::PgConnection;
use rocket::form::FromForm;

use super::export::Record;
use super::listing::{same_version, store_and_tag_choices};
use super::resource::{admin_section, ColumnDef, DeleteSummary, Described, Listed, Resource};
use super::urls::Section;
use super::views::{Cell, Choice, Field, FieldKind, Filter, Named, Row};
use super::PanelUser;
use crate::error::Error;
use crate::models::{
    ItemFilter, ItemSort, ItemSortField, ItemSortKey, ListQuery, ListSort, SortKey, Tag, TagRef,
};
use crate::policy::{self, Actor};
use crate::services::items::{self, ItemDetail, ItemInput, ItemPage};
use crate::spreadsheet;

pub struct Items;

admin_section!(Items, PanelUser);

#[derive(FromForm)]
pub struct ItemFilters {
    store: Option<i64>,
    tag: Option<i64>,
}

#[derive(FromForm)]
pub struct ItemForm {
    store_id: Option<i64>,
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    price: String,
    #[field(default = String::new())]
    description: String,
    #[field(default = Vec::new())]
    tag_ids: Vec<i64>,
}

impl ItemForm {
    fn input(&self) -> ItemInput {
        ItemInput {
            name: Some(self.name.clone()),
            price: Some(self.price.trim().to_owned()),
            description: Some(Some(self.description.clone())),
            tag_ids: Some(self.tag_ids.clone()),
        }
    }
}

impl Resource for Items {
    const SECTION: Section = Section::Items;
    const SINGULAR: &'static str = "item";
    const TITLE: &'static str = "Items";
    const COLUMNS: &'static [ColumnDef] = &[
        ColumnDef { label: "Name", sort: Some(SortKey::Name), numeric: false },
        ColumnDef { label: "Store", sort: None, numeric: false },
        ColumnDef { label: "Tags", sort: None, numeric: false },
        ColumnDef { label: "Price", sort: Some(SortKey::Price), numeric: true },
        ColumnDef { label: "Created", sort: Some(SortKey::CreatedAt), numeric: false },
    ];
    const DEFAULT_SORT: ListSort = ListSort { key: SortKey::Name, descending: false };

    type Filters = ItemFilters;
    type Form = ItemForm;
    type Object = ItemDetail;

    fn filter_params(filters: &ItemFilters) -> Vec<(&'static str, String)> {
        let param = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
        vec![("store", param(filters.store)), ("tag", param(filters.tag))]
    }

    fn list(
        conn: &mut PgConnection,
        actor: &Actor,
        query: &ListQuery,
        filters: &ItemFilters,
    ) -> Result<Listed, Error> {
        // The list offers the first three (see `COLUMNS`).
        let field = match query.sort.key {
            SortKey::Price => ItemSortField::Price,
            SortKey::CreatedAt => ItemSortField::CreatedAt,
            SortKey::Name | SortKey::Email | SortKey::Role | SortKey::UpdatedAt => ItemSortField::Name,
        };
        let filter = item_filter(actor, query, filters);
        let sort = ItemSort { field, descending: query.sort.descending };
        let page = ItemPage { after: None, offset: query.offset, limit: query.limit };
        let (details, total) = items::list(conn, &filter, sort, page)?;
        let (stores, store_tags) = store_and_tag_choices(conn, actor, filters.store)?;
        let rows = details
            .into_iter()
            .map(|ItemDetail { item, store_name, tags }| Row {
                id: item.id,
                label: item.name.clone(),
                cells: vec![
                    Cell::link(&item.name, Section::Items.object(item.id))
                        .with_thumb(crate::views::ImageView::all_of(&item).into_iter().next()),
                    Cell::link(store_name, Section::Stores.object(item.store_id)),
                    Cell::text(tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")),
                    Cell::money(item.price),
                    Cell::text(item.created_at.format("%Y-%m-%d %H:%M")),
                ],
            })
            .collect();
        let mut shown = vec![Filter { name: "store", label: "Store", choices: stores }];
        if filters.store.is_some() {
            shown.push(Filter {
                name: "tag",
                label: "Tag",
                choices: tag_choices(store_tags, filters.tag.as_slice()),
            });
        }
        Ok(Listed { rows, total, filters: shown })
    }

    const EXPORT_COLUMNS: &'static [&'static str] =
        &["id", "store_id", "store", "name", "price", "description", "tags"];

    fn export(
        conn: &mut PgConnection,
        actor: &Actor,
        query: &ListQuery,
        filters: &ItemFilters,
    ) -> Result<Vec<Record>, Error> {
        let filter = item_filter(actor, query, filters);
        // Without words to rank by, a relevance order is the order of ids.
        let sort = ItemSort { field: ItemSortField::Relevance, descending: false };
        let after = query.after.map(|id| (ItemSortKey::Relevance(0.0), id));
        let (details, _) =
            items::list(conn, &filter, sort, ItemPage { after, offset: 0, limit: query.limit })?;
        Ok(details
            .into_iter()
            .map(|ItemDetail { item, store_name, tags }| {
                let cells = vec![
                    item.id.to_string(),
                    item.store_id.to_string(),
                    store_name,
                    item.name,
                    item.price.to_string(),
                    item.description.unwrap_or_default(),
                    spreadsheet::join_names(tags.iter().map(|t| t.name.as_str())),
                ];
                (item.id, cells)
            })
            .collect())
    }

    fn load(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<ItemDetail, Error> {
        items::detail_managed(conn, actor, id)
    }

    fn describe(detail: &ItemDetail) -> Described {
        Described {
            id: detail.item.id,
            what: format!("item “{}”", detail.item.name),
            version: detail.item.version.into(),
            store_id: Some(detail.item.store_id),
        }
    }

    fn new_params(filters: &ItemFilters) -> Vec<(&'static str, String)> {
        let param = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
        vec![("store_id", param(filters.store)), ("tag_ids", param(filters.tag))]
    }

    fn another_params(form: &ItemForm) -> Vec<(&'static str, String)> {
        vec![("store_id", form.store_id.map(|id| id.to_string()).unwrap_or_default())]
    }

    fn read_typed(form: &mut ItemForm, money: &crate::price::Money) {
        form.price = money.read_typed(&form.price);
    }

    fn values(detail: &ItemDetail) -> ItemForm {
        ItemForm {
            store_id: Some(detail.item.store_id),
            name: detail.item.name.clone(),
            price: detail.item.price.to_string(),
            description: detail.item.description.clone().unwrap_or_default(),
            tag_ids: detail.tags.iter().map(|t| t.id).collect(),
        }
    }

    fn fields(
        conn: &mut PgConnection,
        actor: &Actor,
        item: Option<&ItemDetail>,
        form: &ItemForm,
    ) -> Result<Vec<Field>, Error> {
        let (store, store_tags, hint) = match item {
            Some(detail) => {
                let tags = Tag::all_in_store(conn, detail.item.store_id)?;
                (
                    Field::text("store", "Store", &detail.store_name).kind(FieldKind::Static),
                    tags.into_iter().map(|t| TagRef { id: t.id, name: t.name }).collect(),
                    "Tags of this item's store.",
                )
            }
            None => {
                let (stores, tags) = store_and_tag_choices(conn, actor, form.store_id)?;
                (
                    Field::text("store_id", "Store", "")
                        .kind(FieldKind::Select)
                        .choices(stores)
                        .fills_tags("tag_ids")
                        .reload("Show this store's tags"),
                    tags,
                    "Tags of the chosen store; pick the store first to see them.",
                )
            }
        };
        Ok(vec![
            store,
            Field::text("name", "Name", &form.name).hint("1 to 80 characters."),
            Field::text("price", "Price", &form.price)
                .hint("For example 12.50 or 12,50; at most two decimals."),
            Field::text("description", "Description", &form.description).kind(FieldKind::Textarea).optional(),
            Field::text("tag_ids", "Tags", "")
                .kind(FieldKind::Checkboxes)
                .choices(tag_choices(store_tags, &form.tag_ids))
                .hint(hint),
        ])
    }

    fn create(conn: &mut PgConnection, actor: &Actor, form: &ItemForm) -> Result<ItemDetail, Error> {
        let store_id = form.store_id.ok_or_else(|| Error::invalid("store_id", "Choose a store."))?;
        items::create(conn, actor, store_id, form.input())
    }

    fn update(
        conn: &mut PgConnection,
        actor: &Actor,
        id: i64,
        form: &ItemForm,
        version: Option<i64>,
    ) -> Result<ItemDetail, Error> {
        items::update(conn, actor, id, form.input(), |current| {
            same_version(current.item.version.into(), version)
        })
    }

    fn delete_summary(conn: &mut PgConnection, _: &Actor, ids: &[i64]) -> Result<DeleteSummary, Error> {
        let mut objects = Vec::new();
        let mut links = 0;
        for &id in ids {
            let detail = items::detail(conn, id)?;
            links += detail.tags.len();
            objects.push(Named { id, label: format!("{} ({})", detail.item.name, detail.store_name) });
        }
        Ok(DeleteSummary {
            objects,
            consequences: vec![format!("{links} tag links (the tags themselves stay)")],
            problem: None,
            problem_link: None,
        })
    }

    fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<(), Error> {
        items::delete(conn, actor, id)
    }
}

/// The items of the list: its search and filters, within what `actor` manages.
pub(super) fn item_filter(actor: &Actor, query: &ListQuery, filters: &ItemFilters) -> ItemFilter {
    ItemFilter {
        store_id: filters.store,
        owner_id: policy::panel_scope(actor),
        tag_ids: filters.tag.into_iter().collect(),
        name_contains: query.search.clone(),
        ..ItemFilter::default()
    }
}

/// A store's tags as choices, the `selected` ones ticked.
fn tag_choices(tags: Vec<TagRef>, selected: &[i64]) -> Vec<Choice> {
    tags.into_iter()
        .map(|t| Choice { value: t.id.to_string(), label: t.name, selected: selected.contains(&t.id) })
        .collect()
}
