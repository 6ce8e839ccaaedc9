//! Items from a CSV file: the file is read (UTF-8 with or without its byte
//! order mark; commas, semicolons or tabs), its columns are mapped to
//! fields (guessed from the header), every row is previewed as new,
//! changed (with the fields that change), unchanged or refused (with the
//! reason for each column), and the import is applied all at once, in one
//! transaction, only as previewed: the apply works each row out again and
//! stops, leaving nothing behind, if any row would now do something else
//! or any item it changes has changed since.
//!
//! Rows are worked out [`CHUNK`] at a time, each chunk in a few statements
//! (its items, stores and tags looked up together), so that a file of ten
//! thousand rows costs a few hundred statements, and memory holds one
//! chunk's rows besides the file.

use std::collections::{BTreeMap, HashMap};

use diesel::PgConnection;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::audit::{self, Action, Changes, Subject};
use super::items::item_changes;
use crate::error::{Error, FieldErrors};
use crate::models::import::{Counts, Import, ImportRow, MatchBy, Outcome};
use crate::models::{Item, ItemChanges, ItemDetail, ItemTag, NewItem, Store, Tag, TagRef};
use crate::policy::{self, Actor};
use crate::price::{Money, Price};
use crate::spreadsheet::{split_names, uncell};
use crate::text;

/// The largest file taken.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// The most rows a file may have (under its header).
pub const MAX_ROWS: usize = 50_000;
/// The longest cell read; a longer one refuses its row.
pub const MAX_CELL: usize = 10_000;
/// The most tags a row may give its item.
const MAX_TAGS: usize = super::tags::MAX_LINKS_PER_REQUEST;
/// Rows worked out together.
pub const CHUNK: usize = 500;

/// What a column can be read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Field {
    Id,
    StoreId,
    Store,
    Name,
    Price,
    Description,
    Tags,
}

impl Field {
    pub const ALL: [Field; 7] =
        [Field::Id, Field::StoreId, Field::Store, Field::Name, Field::Price, Field::Description, Field::Tags];

    /// The field's key in forms and mappings (and its column in exports).
    pub fn key(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::StoreId => "store_id",
            Field::Store => "store",
            Field::Name => "name",
            Field::Price => "price",
            Field::Description => "description",
            Field::Tags => "tags",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::Id => "Item id",
            Field::StoreId => "Store id",
            Field::Store => "Store name",
            Field::Name => "Name",
            Field::Price => "Price",
            Field::Description => "Description",
            Field::Tags => "Tags",
        }
    }

    fn from_key(key: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|field| field.key() == key)
    }

    /// The field a header names, as people write headers.
    fn guess(header: &str) -> Option<Field> {
        let words: String = header
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Some(match words.as_str() {
            "id" | "item id" | "product id" => Field::Id,
            "store id" | "shop id" => Field::StoreId,
            "store" | "store name" | "shop" | "shop name" => Field::Store,
            "name" | "item" | "item name" | "product" | "product name" | "title" => Field::Name,
            "price" | "unit price" | "cost" | "amount" => Field::Price,
            "description" | "details" | "desc" => Field::Description,
            "tags" | "tag" | "labels" | "categories" => Field::Tags,
            _ => return None,
        })
    }
}

/// Which column each field is read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping(BTreeMap<Field, usize>);

impl Mapping {
    /// The fields the header names, each from the first column naming it.
    pub fn guess(columns: &[String]) -> Mapping {
        let mut mapping = BTreeMap::new();
        for (n, header) in columns.iter().enumerate() {
            if let Some(field) = Field::guess(header) {
                mapping.entry(field).or_insert(n);
            }
        }
        Mapping(mapping)
    }

    pub fn column(&self, field: Field) -> Option<usize> {
        self.0.get(&field).copied()
    }

    pub fn set(&mut self, field: Field, column: Option<usize>) {
        match column {
            Some(column) => self.0.insert(field, column),
            None => self.0.remove(&field),
        };
    }

    pub fn to_json(&self) -> Value {
        Value::Object(self.0.iter().map(|(field, column)| (field.key().to_owned(), json!(column))).collect())
    }

    pub fn from_json(value: &Value) -> Mapping {
        let fields = value.as_object().into_iter().flatten();
        Mapping(
            fields
                .filter_map(|(key, column)| {
                    Some((Field::from_key(key)?, usize::try_from(column.as_u64()?).ok()?))
                })
                .collect(),
        )
    }

    /// Why rows could not be read with this mapping, if they cannot.
    pub fn problem(&self, match_by: MatchBy) -> Option<&'static str> {
        if self.column(Field::Name).is_none() && self.column(Field::Id).is_none() {
            return Some("Choose the column of the items' names (or of their ids).");
        }
        if match_by == MatchBy::Name
            && (self.column(Field::Name).is_none()
                || (self.column(Field::Store).is_none() && self.column(Field::StoreId).is_none()))
        {
            return Some("Matching by store and name needs the columns of both.");
        }
        None
    }
}

/// A file as uploaded, read far enough to map its columns.
#[derive(Debug)]
pub struct Uploaded {
    /// The text, without its byte order mark.
    pub text: Vec<u8>,
    pub delimiter: u8,
    pub columns: Vec<String>,
    pub rows: usize,
}

/// Reads `bytes` as a CSV file with a header row; the message says what
/// is wrong with it, as the person who chose it needs to hear.
pub fn read(bytes: &[u8]) -> Result<Uploaded, String> {
    if bytes.is_empty() {
        return Err("The file is empty.".into());
    }
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "The file is larger than {} MB: split it into smaller ones.",
            MAX_BYTES / 1024 / 1024
        ));
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err("The file is UTF-16 text: save it as “CSV UTF-8” instead.".into());
    }
    let text = bytes.strip_prefix(crate::spreadsheet::BOM.as_bytes()).unwrap_or(bytes);
    if text.contains(&0) {
        return Err("This is not a CSV file: it holds binary data.".into());
    }
    if let Err(error) = std::str::from_utf8(text) {
        let line = text[..error.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(format!(
            "The file is not UTF-8 text (line {line} is not): in Excel, save it as “CSV UTF-8 (Comma delimited)”."
        ));
    }
    let delimiter = sniff_delimiter(text);
    let mut reader = reader(text, delimiter);
    let columns: Vec<String> = match reader.headers() {
        Ok(header) => header.iter().map(|name| name.trim().to_owned()).collect(),
        Err(error) => return Err(format!("The header row cannot be read: {error}.")),
    };
    if columns.iter().all(String::is_empty) {
        return Err("The first row must name the columns.".into());
    }
    let mut rows = 0;
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => rows += 1,
            Err(error) => return Err(format!("The file cannot be read as CSV: {error}.")),
        }
        if rows > MAX_ROWS {
            return Err(format!("The file has more than {MAX_ROWS} rows: split it into smaller ones."));
        }
    }
    if rows == 0 {
        return Err("The file has no rows under its header.".into());
    }
    Ok(Uploaded { text: text.to_vec(), delimiter, columns, rows })
}

/// The delimiter of the header line: whichever of `,`, `;` and tab it
/// holds most of outside quotes (`,` when none).
fn sniff_delimiter(text: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &byte in text {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let delimiters = [b',', b';', b'\t'];
    let (most, _) = counts.iter().enumerate().rev().max_by_key(|(_, count)| **count).unwrap_or((0, &0));
    if counts[most] == 0 {
        b','
    } else {
        delimiters[most]
    }
}

fn reader(text: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(text)
}

/// The delimiter as stored.
pub fn delimiter_name(delimiter: u8) -> &'static str {
    match delimiter {
        b';' => ";",
        b'\t' => "\t",
        _ => ",",
    }
}

/// How an import reads its file.
#[derive(Debug, Clone)]
pub struct Options {
    pub mapping: Mapping,
    pub match_by: MatchBy,
    pub create_tags: bool,
    /// Prices as people write them in the shop's currency (`€ 9,90`).
    pub currency: String,
}

/// A row of the file, read on its own (without the database).
struct Wanted {
    line: i32,
    id: Option<i64>,
    store_id: Option<i64>,
    store_name: Option<String>,
    name: Option<String>,
    price: Option<Price>,
    /// `Some(None)`: the description is cleared.
    description: Option<Option<String>>,
    tags: Option<Vec<String>>,
    problems: FieldErrors,
}

impl Wanted {
    fn read(line: i32, record: &csv::StringRecord, options: &Options, money: Option<&Money>) -> Wanted {
        let mut problems = FieldErrors::new();
        let mut cell = |field: Field| -> Option<String> {
            let value = record.get(options.mapping.column(field)?).unwrap_or("");
            if value.chars().count() > MAX_CELL {
                problems.insert(field.key().into(), format!("is longer than {MAX_CELL} characters"));
                return None;
            }
            Some(uncell(value).to_owned())
        };
        let (id, store_id, store, name, price, description, tags) = (
            cell(Field::Id),
            cell(Field::StoreId),
            cell(Field::Store),
            cell(Field::Name),
            cell(Field::Price),
            cell(Field::Description),
            cell(Field::Tags),
        );
        let number = |field: Field, value: Option<String>, problems: &mut FieldErrors| -> Option<i64> {
            let value = value?;
            let value = value.trim();
            if value.is_empty() {
                return None;
            }
            match value.parse::<i64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    problems.insert(field.key().into(), "must be a whole number".into());
                    None
                }
            }
        };
        let id = number(Field::Id, id, &mut problems);
        let store_id = number(Field::StoreId, store_id, &mut problems);
        let store_name = store.map(|s| text::normalize(&s)).filter(|s| !s.is_empty());
        let name = name
            .filter(|n| !n.trim().is_empty() || id.is_none())
            .and_then(|n| text::required_line("name", &n, text::ITEM_NAME_MAX, &mut problems));
        let price = price.filter(|p| !p.trim().is_empty() || id.is_none()).and_then(|typed| {
            let typed = money.map_or_else(|| typed.trim().to_owned(), |m| m.read_typed(&typed));
            match Price::parse(&typed) {
                Ok(price) => Some(price),
                Err(why) => {
                    problems.insert("price".into(), why.to_string());
                    None
                }
            }
        });
        let description = description
            .map(|d| text::optional_paragraphs("description", &d, text::DESCRIPTION_MAX, &mut problems));
        let tags = tags.map(|t| split_names(&t));
        if tags.as_ref().is_some_and(|names| names.len() > MAX_TAGS) {
            problems.insert("tags".into(), format!("may list at most {MAX_TAGS} tags"));
        }
        for tag in tags.iter().flatten() {
            let mut errors = FieldErrors::new();
            if text::required_line("tags", tag, text::TAG_NAME_MAX, &mut errors).is_none() {
                let why = errors.remove("tags").unwrap_or_default();
                problems.insert("tags".into(), format!("“{tag}” {why}"));
            }
        }
        Wanted { line, id, store_id, store_name, name, price, description, tags, problems }
    }
}

/// A tag a row links: one there is, or one to create in the item's store.
#[derive(Debug, Clone)]
enum TagTarget {
    Existing(TagRef),
    New(String),
}

impl TagTarget {
    fn name(&self) -> &str {
        match self {
            TagTarget::Existing(tag) => &tag.name,
            TagTarget::New(name) => name,
        }
    }
}

/// What a row does, worked out against the catalogue.
enum Step {
    Create { store: i64, name: String, price: Price, description: Option<String>, tags: Vec<TagTarget> },
    Update { item: Item, changes: ItemChanges, tags: Option<Vec<TagTarget>> },
    Nothing,
}

/// A row worked out: what the preview records, and what the apply does.
struct Worked {
    row: ImportRow,
    step: Step,
}

/// The catalogue a chunk of rows refers to, looked up together.
struct Catalogue {
    items: HashMap<i64, Item>,
    /// Items by store and folded name (matching by name).
    named: HashMap<(i64, String), Item>,
    stores: HashMap<i64, Store>,
    stores_named: HashMap<String, Store>,
    item_tags: HashMap<i64, Vec<TagRef>>,
    /// Tags by store and folded name.
    tags: HashMap<(i64, String), TagRef>,
}

impl Catalogue {
    fn read(
        conn: &mut PgConnection,
        wanted: &[Wanted],
        match_by: MatchBy,
        lock: bool,
    ) -> Result<Catalogue, Error> {
        let ids: Vec<i64> = match match_by {
            MatchBy::Id => wanted.iter().filter_map(|w| w.id).collect(),
            MatchBy::Name => Vec::new(),
        };
        let items = if lock { Item::lock_all(conn, &ids)? } else { Item::all_of(conn, &ids)? };
        let mut store_ids: Vec<i64> = wanted.iter().filter_map(|w| w.store_id).collect();
        store_ids.extend(items.iter().map(|item| item.store_id));
        let names: Vec<String> = wanted.iter().filter_map(|w| w.store_name.clone()).collect();
        let stores_named: HashMap<String, Store> = if names.is_empty() {
            HashMap::new()
        } else {
            Store::find_named(conn, &names)?.into_iter().map(|s| (s.name.to_lowercase(), s)).collect()
        };
        store_ids.extend(stores_named.values().map(|s| s.id));
        store_ids.sort_unstable();
        store_ids.dedup();
        let stores: HashMap<i64, Store> =
            Store::find_all(conn, &store_ids)?.into_iter().map(|s| (s.id, s)).collect();
        let mut named = HashMap::new();
        let mut all_items: Vec<Item> = items;
        if match_by == MatchBy::Name {
            let item_names: Vec<String> = wanted.iter().filter_map(|w| w.name.clone()).collect();
            let found = Item::named_in_stores(conn, &store_ids, &item_names)?;
            if lock {
                let found_ids: Vec<i64> = found.iter().map(|item| item.id).collect();
                all_items.extend(Item::lock_all(conn, &found_ids)?);
            } else {
                all_items.extend(found);
            }
            for item in &all_items {
                named.entry((item.store_id, item.name.to_lowercase())).or_insert_with(|| item.clone());
            }
        }
        let item_ids: Vec<i64> = all_items.iter().map(|item| item.id).collect();
        let item_tags = ItemTag::tags_of(conn, &item_ids)?;
        let tag_names: Vec<String> = wanted.iter().flat_map(|w| w.tags.iter().flatten().cloned()).collect();
        let tags = if tag_names.is_empty() {
            HashMap::new()
        } else {
            Tag::named_any_in_stores(conn, &store_ids, &tag_names)?
                .into_iter()
                .map(|t| ((t.store_id, t.name.to_lowercase()), TagRef { id: t.id, name: t.name }))
                .collect()
        };
        let items = all_items.into_iter().map(|item| (item.id, item)).collect();
        Ok(Catalogue { items, named, stores, stores_named, item_tags, tags })
    }
}

/// Keeps what earlier rows of the file claimed: an item changes once, and
/// a new item is named once in its store.
#[derive(Default)]
struct Claims {
    items: HashMap<i64, i32>,
    new_items: HashMap<(i64, String), i32>,
}

/// Works a row out. `actor` must manage the store of everything it changes.
fn work_row(
    mut wanted: Wanted,
    catalogue: &Catalogue,
    claims: &mut Claims,
    actor: &Actor,
    options: &Options,
) -> Worked {
    let mut problems = std::mem::take(&mut wanted.problems);
    let line = wanted.line;
    let refused = |problems: FieldErrors, label: Option<&str>| Worked {
        row: ImportRow {
            import_id: 0,
            line,
            outcome: Outcome::Refused,
            item_id: None,
            item_version: None,
            details: json!({ "label": label.unwrap_or(""), "problems": problems }),
        },
        step: Step::Nothing,
    };
    // The store the row names, if it names one.
    let named_store = match (wanted.store_id, &wanted.store_name) {
        (Some(id), _) => match catalogue.stores.get(&id) {
            Some(store) => Some(store),
            None => {
                problems.insert("store_id".into(), format!("names no store (there is none with id {id})"));
                None
            }
        },
        (None, Some(name)) => match catalogue.stores_named.get(&name.to_lowercase()) {
            Some(store) => Some(store),
            None => {
                problems.insert("store".into(), format!("“{name}” is no store's name"));
                None
            }
        },
        (None, None) => None,
    };
    // The item the row changes, if any.
    let existing = match options.match_by {
        MatchBy::Id => match wanted.id {
            Some(id) => match catalogue.items.get(&id) {
                Some(item) => Some(item),
                None => {
                    problems.insert("id".into(), format!("names no item (there is none with id {id})"));
                    return refused(problems, wanted.name.as_deref());
                }
            },
            None => None,
        },
        MatchBy::Name => match (named_store, &wanted.name) {
            (Some(store), Some(name)) => catalogue.named.get(&(store.id, name.to_lowercase())),
            _ => None,
        },
    };
    if let (Some(item), Some(store)) = (existing, named_store) {
        if item.store_id != store.id {
            problems.insert(
                "store".into(),
                "differs from the item's store: items do not move between stores".into(),
            );
        }
    }
    let store = match existing {
        Some(item) => catalogue.stores.get(&item.store_id),
        None => named_store,
    };
    let Some(store) = store else {
        if !problems.contains_key("store") && !problems.contains_key("store_id") {
            problems.insert("store".into(), "must name the store of a new item".into());
        }
        return refused(problems, wanted.name.as_deref());
    };
    if policy::manage_store(actor, store).is_err() {
        problems.insert("store".into(), format!("“{}” is not a store you manage", store.name));
    }
    let label = existing.map(|item| item.name.clone()).or_else(|| wanted.name.clone());
    // Tags of the row, in the item's store.
    let tags = wanted.tags.as_ref().map(|names| {
        let mut targets: Vec<TagTarget> = Vec::new();
        for name in names {
            let target = match catalogue.tags.get(&(store.id, name.to_lowercase())) {
                Some(tag) => TagTarget::Existing(tag.clone()),
                None if options.create_tags => TagTarget::New(name.clone()),
                None => {
                    problems.insert(
                        "tags".into(),
                        format!(
                            "“{name}” is no tag of “{}” (tick “create missing tags” to add it)",
                            store.name
                        ),
                    );
                    continue;
                }
            };
            if !targets.iter().any(|t| t.name().to_lowercase() == name.to_lowercase()) {
                targets.push(target);
            }
        }
        targets.sort_by(|a, b| a.name().cmp(b.name()));
        targets
    });
    // An item changes once; a new one is named once in its store.
    match existing {
        Some(item) => {
            if let Some(first) = claims.items.get(&item.id) {
                problems.insert("id".into(), format!("the same item as line {first}"));
            }
        }
        None => {
            if let Some(name) = &wanted.name {
                if let Some(first) = claims.new_items.get(&(store.id, name.to_lowercase())) {
                    problems.insert("name".into(), format!("the same new item as line {first}"));
                }
            }
        }
    }
    if existing.is_none() {
        if wanted.name.is_none() && !problems.contains_key("name") {
            problems.insert("name".into(), "must be given for a new item".into());
        }
        if wanted.price.is_none() && !problems.contains_key("price") {
            problems.insert("price".into(), "must be given for a new item".into());
        }
    }
    if !problems.is_empty() {
        return refused(problems, label.as_deref());
    }
    match existing {
        Some(item) => {
            claims.items.insert(item.id, line);
            let current_tags = catalogue.item_tags.get(&item.id).cloned().unwrap_or_default();
            let changes = ItemChanges {
                name: wanted.name.filter(|name| *name != item.name),
                price: wanted.price.filter(|price| *price != item.price),
                description: wanted.description.filter(|description| *description != item.description),
            };
            let tags = tags.filter(|targets| {
                let mut now: Vec<&str> = current_tags.iter().map(|t| t.name.as_str()).collect();
                now.sort_unstable();
                let wanted: Vec<&str> = targets.iter().map(TagTarget::name).collect();
                now != wanted || targets.iter().any(|t| matches!(t, TagTarget::New(_)))
            });
            let mut shown = Map::new();
            let mut show = |field: &str, from: String, to: String| {
                shown.insert(field.to_owned(), json!({ "from": from, "to": to }));
            };
            if let Some(name) = &changes.name {
                show("name", item.name.clone(), name.clone());
            }
            if let Some(price) = changes.price {
                show("price", item.price.to_string(), price.to_string());
            }
            if let Some(description) = &changes.description {
                show(
                    "description",
                    item.description.clone().unwrap_or_default(),
                    description.clone().unwrap_or_default(),
                );
            }
            if let Some(targets) = &tags {
                let names = |list: Vec<&str>| list.join(", ");
                show(
                    "tags",
                    names(current_tags.iter().map(|t| t.name.as_str()).collect()),
                    names(targets.iter().map(TagTarget::name).collect()),
                );
            }
            let unchanged = changes.is_empty() && tags.is_none();
            let row = ImportRow {
                import_id: 0,
                line,
                outcome: if unchanged { Outcome::Unchanged } else { Outcome::Changed },
                item_id: Some(item.id),
                item_version: Some(item.version),
                details: json!({ "label": item.name, "changes": shown }),
            };
            let step =
                if unchanged { Step::Nothing } else { Step::Update { item: item.clone(), changes, tags } };
            Worked { row, step }
        }
        None => {
            let (Some(name), Some(price)) = (wanted.name, wanted.price) else {
                return refused(problems, label.as_deref());
            };
            claims.new_items.insert((store.id, name.to_lowercase()), line);
            let tags = tags.unwrap_or_default();
            let description = wanted.description.flatten();
            let mut shown = Map::new();
            shown.insert("store".into(), json!({ "to": store.name }));
            shown.insert("price".into(), json!({ "to": price.to_string() }));
            if let Some(description) = &description {
                shown.insert("description".into(), json!({ "to": description }));
            }
            if !tags.is_empty() {
                let names: Vec<&str> = tags.iter().map(TagTarget::name).collect();
                shown.insert("tags".into(), json!({ "to": names.join(", ") }));
            }
            let row = ImportRow {
                import_id: 0,
                line,
                outcome: Outcome::New,
                item_id: None,
                item_version: None,
                details: json!({ "label": name, "changes": shown }),
            };
            Worked { row, step: Step::Create { store: store.id, name, price, description, tags } }
        }
    }
}

/// Works out every row of `source`, a chunk at a time: `each` gets each
/// chunk's rows worked out (with `lock`, the items they change are locked
/// until the end of the transaction), and `progress` how many rows are done.
fn work_out(
    conn: &mut PgConnection,
    actor: &Actor,
    (source, delimiter): (&[u8], u8),
    options: &Options,
    lock: bool,
    progress: &dyn Fn(i32),
    mut each: impl FnMut(&mut PgConnection, Vec<Worked>) -> Result<(), Error>,
) -> Result<(), Error> {
    let money = Money::new(&options.currency);
    let mut reader = reader(source, delimiter);
    let mut claims = Claims::default();
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut done = 0;
    let mut records = reader.records();
    loop {
        let record = records.next();
        if let Some(record) = record.as_ref() {
            let record = record
                .as_ref()
                .map_err(|e| Error::invalid("file", format!("The file cannot be read: {e}.")))?;
            let line = record.position().map_or(0, |p| i32::try_from(p.line()).unwrap_or(i32::MAX));
            chunk.push(Wanted::read(line, record, options, money.as_ref()));
        }
        if chunk.len() == CHUNK || (record.is_none() && !chunk.is_empty()) {
            let wanted = std::mem::take(&mut chunk);
            let catalogue = Catalogue::read(conn, &wanted, options.match_by, lock)?;
            let worked: Vec<Worked> =
                wanted.into_iter().map(|w| work_row(w, &catalogue, &mut claims, actor, options)).collect();
            done += i32::try_from(worked.len()).unwrap_or(0);
            each(conn, worked)?;
            progress(done);
        }
        if record.is_none() {
            return Ok(());
        }
    }
}

/// Previews `import`: records what each row would do, and counts them.
pub fn preview(
    conn: &mut PgConnection,
    actor: &Actor,
    import: &Import,
    source: &[u8],
    options: &Options,
    progress: &dyn Fn(i32),
) -> Result<Counts, Error> {
    let delimiter = import.delimiter_byte();
    crate::db::transaction(conn, |conn| {
        ImportRow::clear(conn, import.id)?;
        let mut counts = Counts::default();
        work_out(conn, actor, (source, delimiter), options, false, progress, |conn, worked| {
            let rows: Vec<ImportRow> = worked
                .into_iter()
                .map(|w| {
                    counts.add(w.row.outcome);
                    ImportRow { import_id: import.id, ..w.row }
                })
                .collect();
            ImportRow::insert_all(conn, &rows)?;
            Ok(())
        })?;
        Ok(counts)
    })
}

/// Why an apply stopped: the row at `line` no longer does what its preview said.
pub fn changed_since(line: i32) -> Error {
    Error::Conflict(format!(
        "The catalogue changed since the preview (first at line {line}): nothing was imported. Preview the file again."
    ))
}

/// Applies `import` as previewed, in one transaction: every row is worked
/// out again and must do what its preview recorded, to the same version of
/// the same item. Refused rows are left out. Returns the counts applied.
pub fn apply(
    conn: &mut PgConnection,
    actor: &Actor,
    import: &Import,
    source: &[u8],
    options: &Options,
    progress: &dyn Fn(i32),
) -> Result<Counts, Error> {
    let delimiter = import.delimiter_byte();
    crate::db::transaction(conn, |conn| {
        let mut counts = Counts::default();
        let mut new_tags: HashMap<(i64, String), TagRef> = HashMap::new();
        work_out(conn, actor, (source, delimiter), options, true, progress, |conn, worked| {
            let (Some(first), Some(last)) = (worked.first(), worked.last()) else { return Ok(()) };
            let previewed = ImportRow::lines(conn, import.id, first.row.line, last.row.line)?;
            let previewed: HashMap<i32, ImportRow> =
                previewed.into_iter().map(|row| (row.line, row)).collect();
            let mut creating: Vec<(NewItem, Vec<TagRef>)> = Vec::new();
            let mut updated = Vec::new();
            for Worked { row, step } in worked {
                let same = previewed.get(&row.line).is_some_and(|p| {
                    p.outcome == row.outcome && p.item_id == row.item_id && p.item_version == row.item_version
                });
                if !same {
                    return Err(changed_since(row.line));
                }
                counts.add(row.outcome);
                match step {
                    Step::Create { store, name, price, description, tags } => {
                        let tags = resolve_tags(conn, actor, store, tags, &mut new_tags)?;
                        creating.push((NewItem { store_id: store, name, price, description }, tags));
                    }
                    Step::Update { item, changes, tags } => {
                        let before = item.clone();
                        let tags_before =
                            ItemTag::tags_of(conn, &[item.id])?.remove(&item.id).unwrap_or_default();
                        let after = if changes.is_empty() {
                            Item::bump_version(conn, item.id)?
                        } else {
                            Item::update(conn, item.id, &changes)?
                        };
                        let tags_after = match tags {
                            Some(tags) => {
                                let tags = resolve_tags(conn, actor, item.store_id, tags, &mut new_tags)?;
                                let ids: Vec<i64> = tags.iter().map(|t| t.id).collect();
                                Some(super::tags::replace_links(conn, item.id, item.store_id, &ids)?)
                            }
                            None => None,
                        };
                        updated.push((before, after, tags_before, tags_after));
                    }
                    Step::Nothing => {}
                }
            }
            let created = create_all(conn, creating)?;
            record(conn, actor, created, updated)
        })?;
        Ok(counts)
    })
}

/// The tags of `targets` in `store`, those to create created (once per
/// import, audited like any tag made in the panel), sorted by name.
fn resolve_tags(
    conn: &mut PgConnection,
    actor: &Actor,
    store: i64,
    targets: Vec<TagTarget>,
    new_tags: &mut HashMap<(i64, String), TagRef>,
) -> Result<Vec<TagRef>, Error> {
    let mut tags = Vec::with_capacity(targets.len());
    for target in targets {
        let tag = match target {
            TagTarget::Existing(tag) => tag,
            TagTarget::New(name) => match new_tags.get(&(store, name.to_lowercase())) {
                Some(tag) => tag.clone(),
                None => {
                    let detail = super::tags::create(conn, actor, store, &name)?;
                    let tag = TagRef { id: detail.tag.id, name: detail.tag.name };
                    new_tags.insert((store, name.to_lowercase()), tag.clone());
                    tag
                }
            },
        };
        tags.push(tag);
    }
    tags.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(tags)
}

/// Inserts a chunk's new items in one statement and links their tags in
/// another. A chunk names each new item once in its store (see
/// [`Claims`]), which pairs each inserted item with its tags.
fn create_all(
    conn: &mut PgConnection,
    creating: Vec<(NewItem, Vec<TagRef>)>,
) -> Result<Vec<(Item, Vec<TagRef>)>, Error> {
    if creating.is_empty() {
        return Ok(Vec::new());
    }
    let (new, tags): (Vec<NewItem>, Vec<Vec<TagRef>>) = creating.into_iter().unzip();
    let mut tags_of: HashMap<(i64, String), Vec<TagRef>> =
        new.iter().zip(tags).map(|(item, tags)| ((item.store_id, item.name.clone()), tags)).collect();
    let items = NewItem::insert_all(conn, &new)?;
    let created: Vec<(Item, Vec<TagRef>)> = items
        .into_iter()
        .map(|item| {
            let tags = tags_of.remove(&(item.store_id, item.name.clone())).unwrap_or_default();
            (item, tags)
        })
        .collect();
    let links: Vec<(i64, i64, i64)> = created
        .iter()
        .flat_map(|(item, tags)| tags.iter().map(|tag| (item.id, tag.id, item.store_id)))
        .collect();
    ItemTag::link_all(conn, &links)?;
    Ok(created)
}

type Updated = (Item, Item, Vec<TagRef>, Option<Vec<TagRef>>);

/// Audits and publishes a chunk's new and changed items, in a few statements.
fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    created: Vec<(Item, Vec<TagRef>)>,
    updated: Vec<Updated>,
) -> Result<(), Error> {
    let mut store_ids: Vec<i64> = created.iter().map(|(item, _)| item.store_id).collect();
    store_ids.extend(updated.iter().map(|(item, ..)| item.store_id));
    store_ids.sort_unstable();
    store_ids.dedup();
    let names: HashMap<i64, String> =
        Store::find_all(conn, &store_ids)?.into_iter().map(|s| (s.id, s.name)).collect();
    let detail = |item: Item, tags: Vec<TagRef>| {
        let store_name = names.get(&item.store_id).cloned().unwrap_or_default();
        ItemDetail { item, store_name, tags }
    };
    let ids = |tags: &[TagRef]| super::items::tag_ids_of(tags);
    let creations = created
        .into_iter()
        .map(|(item, tags)| {
            let mut changes = item_changes(None, Some(&item));
            if !tags.is_empty() {
                changes = changes.field("tag_ids", None, Some(ids(&tags)));
            }
            (Subject::item(&detail(item, tags)), changes)
        })
        .collect();
    audit::record_all(conn, actor, Action::Create, creations)?;
    let updates = updated
        .into_iter()
        .map(|(before, after, tags_before, tags_after)| {
            let mut changes: Changes = item_changes(Some(&before), Some(&after));
            if let Some(tags) = &tags_after {
                changes = changes.field("tag_ids", Some(ids(&tags_before)), Some(ids(tags)));
            }
            (Subject::item(&detail(after, tags_after.unwrap_or(tags_before))), changes)
        })
        .collect();
    audit::record_all(conn, actor, Action::Update, updates)
}

/// The refused rows of `source` as CSV: the file's own columns and cells,
/// and a `message` column that says why, column by column. `problems`
/// gives each refused line's reasons.
pub fn refused_rows(source: &[u8], delimiter: u8, problems: &HashMap<i32, String>) -> Vec<u8> {
    let mut reader = reader(source, delimiter);
    let mut header: Vec<String> =
        reader.headers().map(|h| h.iter().map(str::to_owned).collect()).unwrap_or_default();
    header.push("message".into());
    let mut rows = vec![header];
    for record in reader.records().flatten() {
        let line = record.position().map_or(0, |p| i32::try_from(p.line()).unwrap_or(i32::MAX));
        if let Some(message) = problems.get(&line) {
            let mut row: Vec<String> = record.iter().map(|cell| uncell(cell).to_owned()).collect();
            row.push(message.clone());
            rows.push(row);
        }
    }
    let mut out = crate::spreadsheet::BOM.as_bytes().to_vec();
    out.extend(crate::spreadsheet::lines(rows));
    out
}

/// A refused row's reasons in one sentence per column.
pub fn problems_in_words(details: &Value) -> String {
    problems(details).join("; ")
}

/// A refused row's reasons, `column: why` each.
pub fn problems(details: &Value) -> Vec<String> {
    let problems = details.get("problems").and_then(Value::as_object).into_iter().flatten();
    problems.map(|(column, message)| format!("{column}: {}", message.as_str().unwrap_or_default())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_guessed_as_people_write_them() {
        let columns: Vec<String> = ["Item ID", "Store", "Product name", " PRICE ", "Details", "Tags", "name"]
            .map(String::from)
            .into();
        let mapping = Mapping::guess(&columns);
        assert_eq!(mapping.column(Field::Id), Some(0));
        assert_eq!(mapping.column(Field::Store), Some(1));
        assert_eq!(mapping.column(Field::Name), Some(2), "the first column naming it");
        assert_eq!(mapping.column(Field::Price), Some(3));
        assert_eq!(mapping.column(Field::Description), Some(4));
        assert_eq!(mapping.column(Field::Tags), Some(5));
        assert_eq!(mapping.column(Field::StoreId), None);
        assert_eq!(Mapping::from_json(&mapping.to_json()), mapping);
    }

    #[test]
    fn files_are_read_with_their_delimiter_and_refused_with_a_reason() {
        let excel = b"\xEF\xBB\xBFname;price\r\n\"Lamp; desk\";12,50\r\nChair;3\r\n";
        let read = read(excel).unwrap();
        assert_eq!((read.delimiter, read.rows), (b';', 2));
        assert_eq!(read.columns, ["name", "price"]);
        assert!(!read.text.starts_with(b"\xEF"), "the byte order mark is left out");
        assert_eq!(super::read(b"a,b\n1,2\n").unwrap().delimiter, b',');
        assert_eq!(super::read(b"a\tb\n1\t2\n").unwrap().delimiter, b'\t');
        assert!(super::read(b"").unwrap_err().contains("empty"));
        assert!(super::read(b"name\n").unwrap_err().contains("no rows"));
        assert!(super::read(b"name\nLamp\xE9\n").unwrap_err().contains("not UTF-8 text (line 2"));
        assert!(super::read(b"\xFF\xFEn\x00").unwrap_err().contains("UTF-16"));
        assert!(super::read(b"name\nA\x00B\n").unwrap_err().contains("binary"));
        let many = format!("name\n{}", "x\n".repeat(MAX_ROWS + 1));
        assert!(super::read(many.as_bytes()).unwrap_err().contains("more than 50000 rows"));
    }
}
