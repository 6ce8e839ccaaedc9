//! Public pages: stores, items, tags and search, and the HTML error pages.

use rocket::http::Status;
use rocket::request::Request;
use rocket::response::{Flash, Redirect};
use rocket::{catch, catchers, get, routes, Catcher, Route};
use rocket_dyn_templates::Template;
use serde::Serialize;

use super::error::PageError;
use super::layout::Layout;
use super::paging::{with_param, PageNumber, Paging, PER_PAGE};
use super::remembered::{Page, Render, Visit};
use crate::cache::Scope;
use crate::db::Db;
use crate::models::item::RANKED_LIMIT;
use crate::models::{facets, ItemFilter, ItemSort, ItemSortField, EXACT_FILTERED_COUNT_LIMIT};
use crate::price::Price;
use crate::services::items::{self, ItemDetail, ItemPage};
use crate::services::{stores, tags};
use crate::views::ImageView;

pub fn routes() -> Vec<Route> {
    routes![home, store, item, all_items, tag, search]
}

pub fn catchers() -> Vec<Catcher> {
    catchers![login_required, forbidden, not_found, default]
}

#[derive(Serialize)]
struct StoreRow {
    id: i64,
    name: String,
    item_count: i64,
    /// The store has more items than `item_count`, where counting stopped.
    more_items: bool,
}

impl StoreRow {
    /// `counted` items, counted up to one past the limit.
    fn new(id: i64, name: String, counted: i64) -> StoreRow {
        let more_items = counted > EXACT_FILTERED_COUNT_LIMIT;
        StoreRow { id, name, item_count: counted.min(EXACT_FILTERED_COUNT_LIMIT), more_items }
    }
}

#[derive(Serialize)]
struct HomePage {
    layout: Layout,
    stores: Vec<StoreRow>,
    paging: Paging,
}

#[get("/?<page>")]
async fn home(db: Db, visit: Visit<'_>, page: Option<&str>) -> Result<Page, PageError> {
    let (layout, render) = match visit.render() {
        Ok(new) => new,
        Err(remembered) => return Ok(remembered),
    };
    let page = PageNumber::from_query(page);
    let (rows, total) = db.read(move |conn| stores::directory(conn, page.offset(), page.limit())).await?;
    let stores: Vec<StoreRow> =
        rows.into_iter().map(|(s, item_count)| StoreRow::new(s.id, s.name, item_count)).collect();
    let paging = Paging::new(page, stores.len(), total, "/");
    render.listing(Scope::AllStores, paging, "home.html", |paging| HomePage { layout, stores, paging })
}

#[derive(Serialize)]
struct ItemRow {
    id: i64,
    name: String,
    price: String,
    store_id: i64,
    store_name: String,
    tags: Vec<TagLink>,
    /// Its pictures, in order: the first is its thumbnail in lists.
    images: Vec<ImageView>,
    /// In search results, the name cut where the words were found.
    #[serde(skip_serializing_if = "Option::is_none")]
    name_pieces: Option<Vec<Piece>>,
    /// In search results, a fragment of the description around the words.
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<Vec<Piece>>,
}

#[derive(Serialize)]
struct TagLink {
    id: i64,
    name: String,
}

impl From<ItemDetail> for ItemRow {
    fn from(detail: ItemDetail) -> ItemRow {
        let images = ImageView::all_of(&detail.item);
        let ItemDetail { item, store_name, tags } = detail;
        ItemRow {
            images,
            id: item.id,
            name: item.name,
            price: item.price.to_string(),
            store_id: item.store_id,
            store_name,
            tags: tags.into_iter().map(|t| TagLink { id: t.id, name: t.name }).collect(),
            name_pieces: None,
            snippet: None,
        }
    }
}

#[derive(Serialize)]
struct StorePage {
    layout: Layout,
    store: StoreRow,
    /// Who may manage the store besides staff.
    owner_id: Option<i64>,
    tags: Vec<TagLink>,
    selected_tag: Option<i64>,
    /// The order of the items, and the orders offered.
    sort: &'static str,
    sorts: Vec<SortChoice>,
    /// Items a page, as asked for (20, 50 or 100).
    per_page: i64,
    items: Vec<ItemRow>,
    paging: Paging,
}

const BY_NAME: ItemSort = ItemSort { field: ItemSortField::Name, descending: false };

#[allow(clippy::too_many_arguments)] // one per query parameter
#[get("/stores/<id>?<tag>&<sort>&<page>&<per_page>")]
async fn store(
    db: Db,
    visit: Visit<'_>,
    id: i64,
    tag: Option<i64>,
    sort: Option<&str>,
    page: Option<&str>,
    per_page: Option<&str>,
) -> Result<Page, PageError> {
    let (layout, render) = match visit.render() {
        Ok(new) => new,
        Err(remembered) => return Ok(remembered),
    };
    let page = PageNumber::from_query(page).sized(per_page);
    // By name unless asked otherwise: the order live updates keep.
    let (sort_name, _, order) =
        STORE_ORDERS.iter().copied().find(|&(name, _, _)| Some(name) == sort).unwrap_or(STORE_ORDERS[1]);
    let sorts = STORE_ORDERS.iter().map(|&(value, label, _)| SortChoice { value, label }).collect();
    let filter =
        ItemFilter { store_id: Some(id), tag_ids: tag.into_iter().collect(), ..ItemFilter::default() };
    let ((store, store_tags, item_count), (items, total)) = db
        .read(move |conn| {
            let store = stores::with_tags_and_item_count(conn, id)?;
            let listing = ItemPage { after: None, offset: page.offset(), limit: page.limit() };
            Ok((store, items::list(conn, &filter, order, listing)?))
        })
        .await?;
    let mut base = format!("/stores/{id}");
    if let Some(tag) = tag {
        base = with_param(&base, "tag", tag);
    }
    if sort_name != STORE_ORDERS[1].0 {
        base = with_param(&base, "sort", sort_name);
    }
    if page.size != PER_PAGE {
        base = with_param(&base, "per_page", page.size);
    }
    let items: Vec<ItemRow> = items.into_iter().map(ItemRow::from).collect();
    let paging = Paging::of_total(page, items.len(), total, &base);
    render.listing(Scope::Store(id), paging, "store.html", |paging| StorePage {
        layout,
        owner_id: store.owner_id,
        store: StoreRow::new(store.id, store.name, item_count),
        tags: store_tags.into_iter().map(|t| TagLink { id: t.id, name: t.name }).collect(),
        selected_tag: tag,
        sort: sort_name,
        sorts,
        per_page: page.size,
        items,
        paging,
    })
}

#[derive(Serialize)]
struct ItemPageContext {
    layout: Layout,
    item: ItemRow,
    description: Option<String>,
    /// Where the site is, for the absolute address of the picture that
    /// represents the page when it is shared (`og:image`).
    site: String,
}

#[get("/items/<id>")]
async fn item(db: Db, visit: Visit<'_>, site: crate::request::SiteUrl, id: i64) -> Result<Page, PageError> {
    let (layout, render) = match visit.render() {
        Ok(new) => new,
        Err(remembered) => return Ok(remembered),
    };
    let detail = db.read(move |conn| items::detail(conn, id)).await?;
    let (scope, description) = (Scope::Store(detail.item.store_id), detail.item.description.clone());
    let context = ItemPageContext { layout, item: ItemRow::from(detail), description, site: site.0 };
    render.page(Status::Ok, scope, "item.html", context)
}

#[derive(Serialize)]
struct TagPage {
    layout: Layout,
    tag: TagLink,
    store: StoreRow,
    items: Vec<ItemRow>,
    paging: Paging,
}

#[get("/tags/<id>?<page>")]
async fn tag(db: Db, visit: Visit<'_>, id: i64, page: Option<&str>) -> Result<Page, PageError> {
    let (layout, render) = match visit.render() {
        Ok(new) => new,
        Err(remembered) => return Ok(remembered),
    };
    let page = PageNumber::from_query(page);
    let (detail, items, total) = db
        .read(move |conn| {
            let detail = tags::detail(conn, id)?;
            let filter = ItemFilter { tag_ids: vec![id], ..ItemFilter::default() };
            let listing = ItemPage { after: None, offset: page.offset(), limit: page.limit() };
            let (items, total) = items::list(conn, &filter, BY_NAME, listing)?;
            Ok((detail, items, total))
        })
        .await?;
    let items: Vec<ItemRow> = items.into_iter().map(ItemRow::from).collect();
    let paging = Paging::of_total(page, items.len(), total, &format!("/tags/{id}"));
    let tags::TagDetail { tag, store_name, item_count } = detail;
    render.listing(Scope::Store(tag.store_id), paging, "tag.html", |paging| TagPage {
        layout,
        store: StoreRow::new(tag.store_id, store_name, item_count),
        tag: TagLink { id: tag.id, name: tag.name },
        items,
        paging,
    })
}

#[derive(Serialize, Default)]
struct SearchForm {
    q: String,
    tag: String,
    /// A tag chosen among the counts, by id.
    tag_id: String,
    /// A store chosen among the counts, by id.
    store: String,
    min_price: String,
    max_price: String,
    sort: &'static str,
}

impl SearchForm {
    /// The address of this search, with `changes` (name, value) made; empty
    /// values are left out.
    fn url(&self, changes: &[(&str, &str)]) -> String {
        let mut params = [
            ("q", self.q.as_str()),
            ("tag", &self.tag),
            ("tag_id", &self.tag_id),
            ("store", &self.store),
            ("min_price", &self.min_price),
            ("max_price", &self.max_price),
            ("sort", self.sort),
        ];
        for &(name, value) in changes {
            if let Some(param) = params.iter_mut().find(|(n, _)| *n == name) {
                param.1 = value;
            }
        }
        let query: Vec<String> =
            params.iter().filter(|(_, v)| !v.is_empty()).map(|(n, v)| format!("{n}={}", encode(v))).collect();
        format!("/search?{}", query.join("&"))
    }
}

/// The orders of search results, by their `sort` parameter, with their labels.
/// The best match comes first when words are given, newest first otherwise
/// (also fast for a common word in a large catalogue).
const SEARCH_ORDERS: [(&str, &str, ItemSort); 5] = [
    ("relevance", "Best match", ItemSort { field: ItemSortField::Relevance, descending: false }),
    ("newest", "Newest first", ItemSort { field: ItemSortField::CreatedAt, descending: true }),
    ("name", "Name", BY_NAME),
    ("price", "Price, lowest first", ItemSort { field: ItemSortField::Price, descending: false }),
    ("-price", "Price, highest first", ItemSort { field: ItemSortField::Price, descending: true }),
];

/// The orders of a store's items: those of a search without words; by name
/// unless asked otherwise.
const STORE_ORDERS: &[(&str, &str, ItemSort)] = SEARCH_ORDERS.split_at(1).1;

#[derive(Serialize)]
struct SortChoice {
    value: &'static str,
    label: &'static str,
}

/// A choice beside the results, with how many items it leaves.
#[derive(Serialize)]
struct FacetChoice {
    label: String,
    count: i64,
    url: String,
    chosen: bool,
}

#[derive(Serialize)]
struct FacetGroups {
    /// The counts are estimates (more items match than were counted).
    approximate: bool,
    tags: Vec<FacetChoice>,
    stores: Vec<FacetChoice>,
    prices: Vec<FacetChoice>,
    /// Where the chosen tag, store or price band is let go, if any is chosen.
    clear_tag: Option<String>,
    clear_store: Option<String>,
    clear_price: Option<String>,
}

/// A result's name and description, cut where the typed words were found.
#[derive(Serialize)]
struct Piece {
    text: String,
    found: bool,
}

fn pieces(pieces: crate::models::search::Pieces) -> Vec<Piece> {
    pieces.into_iter().map(|(text, found)| Piece { text, found }).collect()
}

#[derive(Serialize)]
struct SearchPage {
    layout: Layout,
    heading: &'static str,
    form: SearchForm,
    sorts: Vec<SortChoice>,
    errors: std::collections::BTreeMap<String, String>,
    /// Tag names to choose from in the tag field.
    tag_names: Vec<String>,
    items: Vec<ItemRow>,
    paging: Option<Paging>,
    facets: Option<FacetGroups>,
    /// No item has the words: the items shown are the first of those with
    /// the words corrected to the catalogue's, and the search for these.
    corrected: Option<(String, String)>,
    /// The relevance order ranks this many of more matches.
    ranked_of: Option<(i64, i64)>,
}

/// Items by words, tag, store and price range.
#[allow(clippy::too_many_arguments)] // one per query parameter
#[get("/search?<q>&<tag>&<tag_id>&<store>&<min_price>&<max_price>&<sort>&<page>")]
async fn search(
    db: Db,
    visit: Visit<'_>,
    config: &rocket::State<crate::config::AppConfig>,
    q: Option<String>,
    tag: Option<String>,
    tag_id: Option<String>,
    store: Option<String>,
    min_price: Option<String>,
    max_price: Option<String>,
    sort: Option<&str>,
    page: Option<&str>,
) -> Result<Page, PageError> {
    let (layout, render) = match visit.render() {
        Ok(new) => new,
        Err(remembered) => return Ok(remembered),
    };
    // Prices as people type them in the shop's currency (`€ 9,90`).
    let typed = |price: Option<String>| {
        let price = price.unwrap_or_default();
        crate::price::Money::new(&config.currency).map_or(price.clone(), |money| money.read_typed(&price))
    };
    let asked = SearchForm {
        q: q.unwrap_or_default(),
        tag: tag.unwrap_or_default(),
        tag_id: tag_id.unwrap_or_default(),
        store: store.unwrap_or_default(),
        min_price: typed(min_price),
        max_price: typed(max_price),
        sort: "",
    };
    search_page(db, layout, render, asked, sort, page, false).await
}

/// Every item, newest first or in another order: the search with nothing
/// to narrow it.
#[get("/items?<sort>&<page>")]
async fn all_items(
    db: Db,
    visit: Visit<'_>,
    sort: Option<&str>,
    page: Option<&str>,
) -> Result<Page, PageError> {
    let (layout, render) = match visit.render() {
        Ok(new) => new,
        Err(remembered) => return Ok(remembered),
    };
    search_page(db, layout, render, SearchForm::default(), sort, page, true).await
}

/// How many tag names the search form suggests.
const TAG_SUGGESTIONS: i64 = 200;

/// A positive id typed in a query parameter; `Err` for anything else.
fn chosen_id(raw: &str) -> Result<Option<i64>, ()> {
    match raw.trim() {
        "" => Ok(None),
        raw => raw.parse::<i64>().ok().filter(|&id| id > 0).map(Some).ok_or(()),
    }
}

async fn search_page(
    db: Db,
    layout: Layout,
    render: Render<'_>,
    asked: SearchForm,
    sort: Option<&str>,
    page: Option<&str>,
    everything: bool,
) -> Result<Page, PageError> {
    let page = PageNumber::from_query(page);
    let q = crate::text::normalize(&asked.q);
    let default_order = if q.is_empty() { SEARCH_ORDERS[1] } else { SEARCH_ORDERS[0] };
    let (sort_name, _, order) =
        SEARCH_ORDERS.iter().copied().find(|&(name, _, _)| Some(name) == sort).unwrap_or(default_order);
    let sorts = SEARCH_ORDERS.iter().map(|&(value, label, _)| SortChoice { value, label }).collect();
    let form = SearchForm { sort: sort_name, ..asked };
    let heading = if everything { "All items" } else { "Search items" };
    let mut errors = std::collections::BTreeMap::new();
    let mut filter = ItemFilter::default();
    if q.chars().any(char::is_control) || q.chars().count() > 80 {
        errors.insert("q".to_owned(), "Use at most 80 ordinary characters.".to_owned());
    } else if !q.is_empty() {
        filter.words = Some(q.clone());
    }
    for (field, raw, slot) in [
        ("min_price", &form.min_price, &mut filter.min_price),
        ("max_price", &form.max_price, &mut filter.max_price),
    ] {
        let raw = raw.trim();
        if !raw.is_empty() {
            match Price::parse(raw) {
                Ok(price) => *slot = Some(price),
                Err(why) => {
                    errors.insert(field.to_owned(), format!("The price {why}."));
                }
            }
        }
    }
    if let (Some(lowest), Some(highest)) = (filter.min_price, filter.max_price) {
        if lowest > highest {
            errors.insert(
                "min_price".to_owned(),
                "The lowest price is above the highest: lower it, or raise the highest.".to_owned(),
            );
        }
    }
    match chosen_id(&form.tag_id) {
        Ok(id) => filter.tag_ids.extend(id),
        Err(()) => {
            errors.insert("tag_id".to_owned(), "Choose a tag from the list.".to_owned());
        }
    }
    match chosen_id(&form.store) {
        Ok(id) => filter.store_id = id,
        Err(()) => {
            errors.insert("store".to_owned(), "Choose a store from the list.".to_owned());
        }
    }
    let tag_name = crate::text::normalize(&form.tag);
    if !tag_name.is_empty() {
        filter.tag_named = Some(tag_name);
    }
    let searching = !filter.is_empty();
    if !errors.is_empty() || !(searching || everything) {
        let status = if errors.is_empty() { Status::Ok } else { Status::UnprocessableEntity };
        let tag_names = db.read(|conn| tags::names_for_suggestions(conn, TAG_SUGGESTIONS)).await?;
        let page = SearchPage {
            layout,
            heading,
            form,
            sorts,
            errors,
            tag_names,
            items: vec![],
            paging: None,
            facets: None,
            corrected: None,
            ranked_of: None,
        };
        return render.page(status, Scope::AllStores, "search.html", page);
    }
    let listing = ItemPage { after: None, offset: page.offset(), limit: page.limit() };
    let (found, highlights, counts, tag_names) = db
        .read(move |conn| {
            let found = items::search(conn, &filter, order, listing.clone())?;
            let highlights = match found.corrected.as_ref().or(filter.words.as_ref()) {
                Some(words) => {
                    let ids: Vec<i64> = found.items.iter().map(|d| d.item.id).collect();
                    crate::models::search::highlights(conn, &ids, words)?
                }
                None => Default::default(),
            };
            let counts = if searching && found.corrected.is_none() {
                Some(facets::count(conn, &filter, facets::FacetKinds::ALL)?)
            } else {
                None
            };
            Ok((found, highlights, counts, tags::names_for_suggestions(conn, TAG_SUGGESTIONS)?))
        })
        .await?;
    let mut highlights = highlights;
    let items: Vec<ItemRow> = found
        .items
        .into_iter()
        .map(|detail| {
            let found = highlights.remove(&detail.item.id);
            let mut row = ItemRow::from(detail);
            if let Some(found) = found {
                row.name_pieces = Some(pieces(found.name));
                row.snippet = found.snippet.map(pieces);
            }
            row
        })
        .collect();
    let mut base = if everything { format!("/items?sort={}", encode(form.sort)) } else { form.url(&[]) };
    // A relevance order lists the ranked matches only.
    let ranked = order.field == ItemSortField::Relevance && !q.is_empty();
    let mut total = found.total;
    let mut ranked_of = None;
    if ranked && total.count > RANKED_LIMIT {
        ranked_of = Some((RANKED_LIMIT, total.count));
        total = crate::models::Total { count: RANKED_LIMIT, approximate: false };
    }
    let corrected = found.corrected.map(|words| {
        let url = form.url(&[("q", &words), ("sort", "")]);
        (words, url)
    });
    if let Some((_, url)) = &corrected {
        // One page of the corrected search here; its own page has them all.
        total = crate::models::Total { count: items.len() as i64, approximate: false };
        base = url.clone();
    }
    let paging = Paging::of_total(page, items.len(), total, &base);
    let facets = counts.map(|counts| facet_groups(&form, counts));
    render.listing(Scope::AllStores, paging, "search.html", |paging| SearchPage {
        layout,
        heading,
        form,
        sorts,
        errors,
        tag_names,
        items,
        paging: Some(paging),
        facets,
        corrected,
        ranked_of,
    })
}

/// The counts as choices: each a link to this search narrowed by it.
fn facet_groups(form: &SearchForm, counts: facets::Facets) -> FacetGroups {
    let tags = counts.tags.unwrap_or_default().into_iter().map(|tag| {
        let id = tag.id.to_string();
        FacetChoice {
            label: format!("{} ({})", tag.name, tag.store_name),
            count: tag.count,
            chosen: form.tag_id == id,
            url: form.url(&[("tag_id", &id)]),
        }
    });
    let stores = counts.stores.unwrap_or_default().into_iter().map(|store| {
        let id = store.id.to_string();
        FacetChoice {
            label: store.name,
            count: store.count,
            chosen: form.store == id,
            url: form.url(&[("store", &id)]),
        }
    });
    let prices = counts.price.unwrap_or_default().into_iter().map(|band| {
        let (min, max) = (band.min.to_string(), band.max.map(|m| m.to_string()).unwrap_or_default());
        FacetChoice {
            label: if max.is_empty() { format!("{min} and up") } else { format!("{min} to {max}") },
            count: band.count,
            chosen: form.min_price == min && form.max_price == max,
            url: form.url(&[("min_price", &min), ("max_price", &max)]),
        }
    });
    let clear = |chosen: bool, changes: &[(&str, &str)]| chosen.then(|| form.url(changes));
    FacetGroups {
        approximate: counts.approximate,
        tags: tags.collect(),
        stores: stores.collect(),
        prices: prices.filter(|band| band.count > 0 || band.chosen).collect(),
        clear_tag: clear(!form.tag_id.is_empty(), &[("tag_id", "")]),
        clear_store: clear(!form.store.is_empty(), &[("store", "")]),
        clear_price: clear(
            !(form.min_price.is_empty() && form.max_price.is_empty()),
            &[("min_price", ""), ("max_price", "")],
        ),
    }
}

fn encode(text: &str) -> String {
    rocket::http::RawStr::new(text).percent_encode().to_string()
}

#[derive(Serialize)]
struct ErrorPage {
    layout: Layout,
    status: u16,
    title: &'static str,
    message: &'static str,
}

fn error_page(status: Status, layout: Layout) -> Template {
    error_page_of(status, layout, false)
}

/// The error page; `outcome_unknown` when a change was sent and the database
/// never said whether it was saved.
fn error_page_of(status: Status, layout: Layout, outcome_unknown: bool) -> Template {
    let (title, message) = match status.code {
        503 if outcome_unknown => (
            "Perhaps saved",
            "The database stopped answering after your change was sent to be saved, so it may have \
             been saved. Check before sending it again.",
        ),
        403 => (
            "Not allowed",
            "You may not see this page, or the form you sent has expired. Go back, reload it and try again.",
        ),
        404 => ("Page not found", "There is nothing at this address. It may have been deleted."),
        503 => (
            "Temporarily unavailable",
            "The service is having trouble reaching its database. Try again in a minute.",
        ),
        500..=599 => {
            ("Something went wrong", "Something went wrong on our side. It has been logged; try again later.")
        }
        _ => (
            "Request not understood",
            "The request could not be handled. Check the address or the form and try again.",
        ),
    };
    Template::render("error.html", ErrorPage { layout, status: status.code, title, message })
}

/// Pages that need a signed-in user send visitors to the login page and back.
#[catch(401)]
fn login_required(request: &Request<'_>) -> Redirect {
    let next = request.uri().to_string();
    Redirect::to(format!("/account/login?next={}", encode(&next)))
}

#[catch(403)]
async fn forbidden(request: &Request<'_>) -> Result<Flash<Redirect>, (Status, Template)> {
    if request.local_cache(|| crate::admin::EnrolFirst(false)).0 {
        let message =
            "Staff and admins sign in in two steps: add an authenticator app to use the admin panel.";
        return Ok(Flash::error(Redirect::to("/account/two-step"), message));
    }
    Err((Status::Forbidden, error_page(Status::Forbidden, layout(request).await)))
}

#[catch(404)]
async fn not_found(request: &Request<'_>) -> (Status, Template) {
    (Status::NotFound, error_page(Status::NotFound, layout(request).await))
}

#[catch(default)]
async fn default(status: Status, request: &Request<'_>) -> (Status, Template) {
    // A page address with an unparsable id names nothing; a form that does
    // not parse stays 422.
    let reading = matches!(request.method(), rocket::http::Method::Get | rocket::http::Method::Head);
    let status = if status == Status::UnprocessableEntity && reading { Status::NotFound } else { status };
    let outcome_unknown = request.local_cache(|| super::error::OutcomeUnknown(false)).0;
    (status, error_page_of(status, layout(request).await, outcome_unknown))
}

async fn layout(request: &Request<'_>) -> Layout {
    match request.guard::<Layout>().await.succeeded() {
        Some(layout) => layout,
        None => Layout { user: None, csrf_token: String::new(), flash: None, events_after: None },
    }
}
