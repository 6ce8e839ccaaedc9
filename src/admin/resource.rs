//! An admin section, written once. Each section (stores, items, tags, users)
//! implements [`Resource`]: its columns and sort keys, its filters, its form,
//! how it loads, saves and deletes, and what goes with a delete. The
//! handlers here do everything else the same way for all of them (list, new,
//! create, edit, update with its conflict page, confirm delete, delete, bulk
//! delete, history), and [`admin_section!`] mounts them behind the section's
//! guard.

use diesel::PgConnection;
use rocket::form::{self, DataField, FromForm, Options, ValueField};
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket_dyn_templates::Template;

use super::listing;
use super::urls::Section;
use super::views::{
    Compared, ConflictPage, Crumb, DeletePage, Field, FieldKind, Filter, FormPage, HistoryPage, Inline,
    ListPage, Named, Row,
};
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::{Error, FieldErrors};
use crate::models::{Entity, ListQuery, ListSort, SortKey, Total};
use crate::policy::Actor;
use crate::services::sessions;
use crate::web::{
    CsrfProtected, Draft, FormRefusal, Layout, Listing, PageError, Paging, SentBack, PAGE_SIZES, PER_PAGE,
};

/// A column of a list: its header, the key it sorts by (if it does) and
/// whether it holds numbers (aligned right).
pub struct ColumnDef {
    pub label: &'static str,
    pub sort: Option<SortKey>,
    pub numeric: bool,
}

/// One page of a list, ready to show.
pub struct Listed {
    pub rows: Vec<Row>,
    pub total: Total,
    pub filters: Vec<Filter>,
}

/// What the panel says about one object: how it is named in titles and
/// messages (`store “Corner shop”`), the version an edit is based on, and the
/// store whose live events concern it.
pub struct Described {
    pub id: i64,
    pub what: String,
    pub version: i64,
    pub store_id: Option<i64>,
}

/// The confirmation page of a delete: the objects, what goes with them, and
/// why they cannot go, if they cannot.
pub struct DeleteSummary {
    pub objects: Vec<Named>,
    pub consequences: Vec<String>,
    pub problem: Option<String>,
    /// Where to go about the problem (the items that still carry a tag).
    pub problem_link: Option<Crumb>,
}

/// What one section of the panel declares; the handlers of this module do
/// the rest. Every method runs on a blocking thread with a connection, and
/// goes through the services, so the API's rules and audit apply.
pub trait Resource: 'static {
    const SECTION: Section;
    /// One object, in words (`store`).
    const SINGULAR: &'static str;
    /// The list's title (`Stores`).
    const TITLE: &'static str;
    const SEARCH_LABEL: &'static str = "Search by name";
    const COLUMNS: &'static [ColumnDef];
    const DEFAULT_SORT: ListSort;
    /// Whether the panel creates these objects (users register themselves).
    const CAN_CREATE: bool = true;

    /// The list's filters, from the query.
    type Filters: for<'r> FromForm<'r> + Send + Sync + 'static;
    /// The form's own fields (the CSRF token, version and button are
    /// [`Submitted`]'s). A new object's form reads them from the query too,
    /// so that it may start filled in (`/admin/items/new?store_id=4`); every
    /// field must therefore have a default.
    type Form: for<'r> FromForm<'r> + Send + 'static;
    /// An object as the panel loads it.
    type Object: Send + 'static;

    /// The filters as query parameters, for links that keep them.
    fn filter_params(filters: &Self::Filters) -> Vec<(&'static str, String)>;
    fn list(
        conn: &mut PgConnection,
        actor: &Actor,
        query: &ListQuery,
        filters: &Self::Filters,
    ) -> Result<Listed, Error>;

    /// The header of the list's CSV export; its first column is `id`.
    const EXPORT_COLUMNS: &'static [&'static str];
    /// A batch of the export: the objects of the list with `query`'s search
    /// and these filters whose ids are above `query.after`, by id, at most
    /// `query.limit`, each with its cells under [`Resource::EXPORT_COLUMNS`].
    fn export(
        conn: &mut PgConnection,
        actor: &Actor,
        query: &ListQuery,
        filters: &Self::Filters,
    ) -> Result<Vec<super::export::Record>, Error>;

    fn load(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<Self::Object, Error>;
    fn describe(object: &Self::Object) -> Described;
    /// The fields a new object starts with when added from a list with
    /// these filters (the store of a list filtered by store).
    fn new_params(_filters: &Self::Filters) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// The fields "save and add another" keeps for the next object.
    fn another_params(_form: &Self::Form) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// The form of a stored object.
    fn values(object: &Self::Object) -> Self::Form;
    /// Reads what was typed as people write it in the shop's currency
    /// (`€ 9,90`) into what the rules take (`9.90`).
    fn read_typed(_form: &mut Self::Form, _money: &crate::price::Money) {}
    /// The form's fields showing `form`, for a new object or `object`
    /// (the store pickers offer the stores `actor` manages).
    fn fields(
        conn: &mut PgConnection,
        actor: &Actor,
        object: Option<&Self::Object>,
        form: &Self::Form,
    ) -> Result<Vec<Field>, Error>;
    fn create(conn: &mut PgConnection, actor: &Actor, form: &Self::Form) -> Result<Self::Object, Error>;
    /// Saves `form` over object `id` if it is still at `version`
    /// ([`Error::StaleVersion`] otherwise).
    fn update(
        conn: &mut PgConnection,
        actor: &Actor,
        id: i64,
        form: &Self::Form,
        version: Option<i64>,
    ) -> Result<Self::Object, Error>;

    /// What an object's page shows of the objects within it, read-only
    /// (a store's items and tags), with links to add more.
    fn inlines(
        _conn: &mut PgConnection,
        _actor: &Actor,
        _object: &Self::Object,
    ) -> Result<Vec<Inline>, Error> {
        Ok(Vec::new())
    }

    fn delete_summary(conn: &mut PgConnection, actor: &Actor, ids: &[i64]) -> Result<DeleteSummary, Error>;
    fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<(), Error>;
    /// The message after deleting `count` objects.
    fn deleted_message(count: usize) -> String {
        if count == 1 {
            format!("Deleted the {}.", Self::SINGULAR)
        } else {
            format!("Deleted {count} {}.", Self::SECTION)
        }
    }
}

/// A submitted object form: the section's fields, plus what every form of
/// the panel carries (the CSRF token, the version it was read at, and which
/// save button was pressed). An edit form also carries the values it was
/// read with (`original.name`, ...), so that a conflict can tell which
/// fields this edit changed.
pub struct Submitted<F> {
    pub csrf_token: String,
    pub version: Option<i64>,
    pub action: String,
    pub fields: F,
    pub original: Option<F>,
}

impl<F> CsrfProtected for Submitted<F> {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

pub struct SubmittedContext<'r, F: FromForm<'r>> {
    csrf_token: String,
    version: Option<i64>,
    action: String,
    fields: F::Context,
    original: F::Context,
    has_original: bool,
}

#[rocket::async_trait]
impl<'r, F: FromForm<'r>> FromForm<'r> for Submitted<F> {
    type Context = SubmittedContext<'r, F>;

    fn init(opts: Options) -> Self::Context {
        SubmittedContext {
            csrf_token: String::new(),
            version: None,
            action: String::new(),
            fields: F::init(opts),
            original: F::init(opts),
            has_original: false,
        }
    }

    fn push_value(ctxt: &mut Self::Context, field: ValueField<'r>) {
        match field.name.key_lossy().as_str() {
            "csrf_token" => ctxt.csrf_token = field.value.to_owned(),
            "version" => ctxt.version = field.value.parse().ok(),
            "action" => ctxt.action = field.value.to_owned(),
            "original" => {
                ctxt.has_original = true;
                F::push_value(&mut ctxt.original, field.shift());
            }
            _ => F::push_value(&mut ctxt.fields, field),
        }
    }

    async fn push_data(ctxt: &mut Self::Context, field: DataField<'r, '_>) {
        F::push_data(&mut ctxt.fields, field).await
    }

    fn push_error(ctxt: &mut Self::Context, error: form::Error<'r>) {
        F::push_error(&mut ctxt.fields, error)
    }

    fn finalize(ctxt: Self::Context) -> form::Result<'r, Self> {
        let original = if ctxt.has_original { F::finalize(ctxt.original).ok() } else { None };
        Ok(Submitted {
            csrf_token: ctxt.csrf_token,
            version: ctxt.version,
            action: ctxt.action,
            fields: F::finalize(ctxt.fields)?,
            original,
        })
    }
}

/// The filters of a list that has none beside its search.
pub struct NoFilters;

#[rocket::async_trait]
impl<'r> FromForm<'r> for NoFilters {
    type Context = ();

    fn init(_: Options) {}

    fn push_value(_: &mut (), _: ValueField<'r>) {}

    async fn push_data(_: &mut (), _: DataField<'r, '_>) {}

    fn finalize(_: ()) -> form::Result<'r, Self> {
        Ok(NoFilters)
    }
}

/// Where a saved form leads, or the form (or conflict page) sent back with
/// its status and what was typed.
pub type FormOutcome = Result<Result<Flash<Redirect>, SentBack>, PageError>;

fn not_creatable<R: Resource>() -> Result<(), PageError> {
    if R::CAN_CREATE {
        Ok(())
    } else {
        Err(PageError::from(Error::NotFound("page")))
    }
}

pub async fn list<R: Resource>(
    db: Db,
    actor: Actor,
    layout: Layout,
    raw: listing::RawListQuery<'_>,
    filters: R::Filters,
) -> Result<Listing, PageError> {
    let (query, page) = listing::list_query(raw, R::COLUMNS, R::DEFAULT_SORT);
    let search = query.search.clone().unwrap_or_default();
    let sort = query.sort;
    let filter_params = R::filter_params(&filters);
    let filtered = !search.is_empty() || filter_params.iter().any(|(_, value)| !value.is_empty());
    let new_params = R::new_params(&filters);
    let mut params = vec![("q", search.clone())];
    params.extend(filter_params.iter().cloned());
    let params_of_list = params.clone();
    let per_page = if page.size == PER_PAGE { String::new() } else { page.size.to_string() };
    params.push(("per_page", per_page));
    let listed = read_list::<R, _>(&db, move |conn| R::list(conn, &actor, &query, &filters)).await?;
    let columns = listing::columns(R::COLUMNS, &R::SECTION.list_with(&params), sort);
    params.push(("sort", sort.param()));
    let paging = Paging::of_total(page, listed.rows.len(), listed.total, &R::SECTION.list_with(&params));
    Ok(Listing::of(paging, |paging| {
        let page = ListPage {
            crumbs: crumbs::<R>(&actor, Vec::new()),
            layout,
            title: R::TITLE,
            singular: R::SINGULAR,
            list_url: R::SECTION.list(),
            new_url: R::CAN_CREATE.then(|| R::SECTION.new_with(&new_params)),
            bulk_delete_url: super::urls::with_query(R::SECTION.bulk_delete(), &params_of_list),
            export_url: super::urls::with_query(R::SECTION.export(), &params_of_list),
            bulk_change_url: (R::SECTION == Section::Items).then(|| {
                super::urls::with_query(format!("{}/bulk-change", R::SECTION.list()), &params_of_list)
            }),
            columns,
            rows: listed.rows,
            search,
            filtered,
            search_label: R::SEARCH_LABEL,
            filters: listed.filters,
            sort: sort.param(),
            per_page: page.size,
            page_sizes: PAGE_SIZES,
            paging,
        };
        Template::render("admin/list.html", page)
    }))
}

/// Reads for a list of section `R` (its page, its export): from a replica
/// when there is one, but accounts from the primary. Changes to accounts
/// are not announced by events, which is what tells how far a replica
/// must be.
pub async fn read_list<R: Resource, T: Send + 'static>(
    db: &Db,
    work: impl Fn(&mut PgConnection) -> Result<T, Error> + Send + Sync + 'static,
) -> Result<T, Error> {
    if R::SECTION.entity() == Entity::User {
        db.run(work).await
    } else {
        db.read(work).await
    }
}

/// The form page of a new object (`editing` is `None`) or of a stored one.
fn form_page<R: Resource>(
    actor: &Actor,
    layout: Layout,
    editing: Option<Described>,
    version: Option<i64>,
    fields: Vec<Field>,
    errors: FieldErrors,
) -> FormPage {
    let id = editing.as_ref().map(|d| d.id);
    let here = editing.as_ref().map_or_else(|| format!("Add {}", R::SINGULAR), |d| capitalized(&d.what));
    FormPage {
        crumbs: crumbs::<R>(actor, vec![Crumb::here(here)]),
        layout,
        title: editing
            .as_ref()
            .map_or_else(|| format!("Add {}", R::SINGULAR), |d| format!("Change {}", d.what)),
        singular: R::SINGULAR,
        id,
        version,
        store_id: editing.as_ref().and_then(|d| d.store_id),
        action: id.map_or_else(|| R::SECTION.list(), |id| R::SECTION.object(id)),
        history_url: id.map(|id| R::SECTION.history(id)),
        two_step_reset_url: id
            .filter(|_| R::SECTION == Section::Users)
            .map(|id| format!("{}/two-step/reset", R::SECTION.object(id))),
        pictures_url: id.and_then(|id| R::SECTION.pictures(id)),
        site_url: id.and_then(|id| R::SECTION.on_site(id)),
        delete_url: id.map(|id| R::SECTION.delete(id)),
        can_add_another: R::CAN_CREATE,
        fields,
        errors,
        originals: Vec::new(),
        inlines: Vec::new(),
        restored: false,
    }
}

fn render_form(page: FormPage) -> Template {
    Template::render("admin/form.html", page)
}

/// What the session kept of the form on `page` when it was sent after the
/// session before had ended; taken once (`None` when the page was not asked
/// to look, or nothing is kept).
fn take_draft<R: Resource>(
    conn: &mut PgConnection,
    draft_of: Option<i64>,
    page: &str,
) -> Result<Option<Submitted<R::Form>>, Error> {
    let Some(session_id) = draft_of else { return Ok(None) };
    let kept = sessions::take_draft(conn, session_id, page)?;
    Ok(kept.as_deref().and_then(Draft::parse).and_then(|draft| draft.form()))
}

/// The form for a new object, from the query, or from a draft of the
/// session `draft_of`.
pub async fn new<R: Resource>(
    db: Db,
    actor: Actor,
    layout: Layout,
    form: R::Form,
    draft_of: Option<i64>,
) -> Result<Template, PageError> {
    not_creatable::<R>()?;
    let (fields, restored) = db
        .run(move |conn| {
            let draft = take_draft::<R>(conn, draft_of, &R::SECTION.new_object())?;
            let restored = draft.is_some();
            let form = draft.map_or(form, |draft| draft.fields);
            Ok::<_, Error>((R::fields(conn, &actor, None, &form)?, restored))
        })
        .await?;
    let mut page = form_page::<R>(&actor, layout, None, None, fields, FieldErrors::new());
    page.restored = restored;
    Ok(render_form(page))
}

/// Reads the typed values of a sent form in the shop's currency.
pub fn read_typed<R: Resource>(submitted: &mut Submitted<R::Form>, config: &AppConfig) {
    if let Some(money) = crate::price::Money::new(&config.currency) {
        R::read_typed(&mut submitted.fields, &money);
    }
}

pub async fn create<R: Resource>(
    db: Db,
    actor: Actor,
    layout: Layout,
    submitted: Submitted<R::Form>,
) -> FormOutcome {
    not_creatable::<R>()?;
    let Submitted { action, fields: form, .. } = submitted;
    if action == "reload" {
        // The form again for what was chosen (a store's tags), unsaved.
        let fields = db.run(move |conn| R::fields(conn, &actor, None, &form)).await?;
        let page = form_page::<R>(&actor, layout, None, None, fields, FieldErrors::new());
        return Ok(Err(SentBack::new(Status::Ok, render_form(page))));
    }
    let another = R::another_params(&form);
    let outcome = db
        .run(move |conn| match R::create(conn, &actor, &form) {
            Ok(object) => Ok(Ok(R::describe(&object))),
            Err(error) => {
                let refusal = FormRefusal::or_error(error, "name")?;
                Ok(Err((R::fields(conn, &actor, None, &form)?, refusal)))
            }
        })
        .await?;
    match outcome {
        Ok(saved) => Ok(Ok(listing::after_save(&action, R::SECTION, &saved, &another))),
        Err((fields, refusal)) => {
            let page = form_page::<R>(&actor, layout, None, None, fields, refusal.errors.clone());
            Ok(Err(refusal.send_back(render_form(page))))
        }
    }
}

/// An object's form, as stored, or as a draft of the session `draft_of` left
/// it (at the version it was read at, so that a change made meanwhile is
/// still a conflict).
pub async fn edit<R: Resource>(
    db: Db,
    actor: Actor,
    layout: Layout,
    id: i64,
    draft_of: Option<i64>,
) -> Result<Template, PageError> {
    let (described, version, fields, originals, inlines, restored) = db
        .run(move |conn| {
            let object = R::load(conn, &actor, id)?;
            let stored = R::values(&object);
            let draft = take_draft::<R>(conn, draft_of, &R::SECTION.object(id))?;
            let described = R::describe(&object);
            let inlines = R::inlines(conn, &actor, &object)?;
            let restored = draft.is_some();
            let (version, fields, originals) = match draft {
                Some(Submitted { version, fields, original, .. }) => (
                    version,
                    R::fields(conn, &actor, Some(&object), &fields)?,
                    R::fields(conn, &actor, Some(&object), original.as_ref().unwrap_or(&stored))?,
                ),
                None => {
                    let fields = R::fields(conn, &actor, Some(&object), &stored)?;
                    (Some(described.version), fields.clone(), fields)
                }
            };
            Ok::<_, Error>((described, version, fields, originals, inlines, restored))
        })
        .await?;
    let mut page = form_page::<R>(&actor, layout, Some(described), version, fields, FieldErrors::new());
    page.inlines = inlines;
    page.originals = originals;
    page.restored = restored;
    Ok(render_form(page))
}

/// How an update went.
enum Updated {
    Saved(Described),
    /// Someone saved first: the current object, and its fields three ways.
    Stale(Described, Merge),
    /// Refused: the object, the fields as submitted and as first read.
    Invalid(Described, Vec<Field>, Vec<Field>, FormRefusal),
}

pub async fn update<R: Resource>(
    db: Db,
    actor: Actor,
    layout: Layout,
    id: i64,
    submitted: Submitted<R::Form>,
) -> FormOutcome {
    let Submitted { action, version, fields: form, original, .. } = submitted;
    let another = R::another_params(&form);
    let outcome = db
        .run(move |conn| match R::update(conn, &actor, id, &form, version) {
            Ok(object) => Ok(Updated::Saved(R::describe(&object))),
            Err(Error::StaleVersion) => {
                let current = R::load(conn, &actor, id)?;
                let yours = R::fields(conn, &actor, Some(&current), &form)?;
                let theirs = R::fields(conn, &actor, Some(&current), &R::values(&current))?;
                let read = match &original {
                    Some(original) => Some(R::fields(conn, &actor, Some(&current), original)?),
                    None => None,
                };
                Ok(Updated::Stale(R::describe(&current), Merge { yours, theirs, read }))
            }
            Err(error) => {
                let refusal = FormRefusal::or_error(error, "name")?;
                let current = R::load(conn, &actor, id)?;
                let fields = R::fields(conn, &actor, Some(&current), &form)?;
                // Still the values the form was first read with.
                let read = match &original {
                    Some(original) => R::fields(conn, &actor, Some(&current), original)?,
                    None => R::fields(conn, &actor, Some(&current), &R::values(&current))?,
                };
                Ok(Updated::Invalid(R::describe(&current), fields, read, refusal))
            }
        })
        .await?;
    match outcome {
        Updated::Saved(saved) => Ok(Ok(listing::after_save(&action, R::SECTION, &saved, &another))),
        Updated::Stale(current, merge) => {
            let object = Crumb::link(capitalized(&current.what), R::SECTION.object(id));
            let compared = merge.compare();
            let (fields, current_fields) = merge.reapplied();
            let page = ConflictPage {
                crumbs: crumbs::<R>(&actor, vec![object, Crumb::here("Edit conflict".to_owned())]),
                layout,
                title: format!("{} was changed by someone else", capitalized(&current.what)),
                edit_url: R::SECTION.object(id),
                compared,
                version: current.version,
                fields,
                current_fields,
                errors: FieldErrors::new(),
            };
            Ok(Err(SentBack::new(Status::Conflict, Template::render("admin/conflict.html", page))))
        }
        Updated::Invalid(current, fields, read, refusal) => {
            // The form stays based on the version it was read at.
            let mut page =
                form_page::<R>(&actor, layout, Some(current), version, fields, refusal.errors.clone());
            page.originals = read;
            Ok(Err(refusal.send_back(render_form(page))))
        }
    }
}

/// Where a page of section `R` is: the panel, the section's list, then
/// `trail`. The panel is "Admin" to staff and the account page to members.
fn crumbs<R: Resource>(actor: &Actor, trail: Vec<Crumb>) -> Vec<Crumb> {
    let panel = Crumb::panel(actor);
    let section = if trail.is_empty() {
        Crumb::here(R::TITLE.to_owned())
    } else {
        Crumb::link(R::TITLE, R::SECTION.list())
    };
    let mut crumbs = vec![panel, section];
    crumbs.extend(trail);
    crumbs
}

/// An object's form three ways after a stale edit: with the values
/// submitted, with the current ones, and (when the form says) with the ones
/// it was read with.
struct Merge {
    yours: Vec<Field>,
    theirs: Vec<Field>,
    read: Option<Vec<Field>>,
}

impl Merge {
    /// Whether this edit changed field `n`: it differs from what the form
    /// was read with (or, when that is unknown, from the current value).
    fn changed(&self, n: usize) -> bool {
        let base = self.read.as_ref().unwrap_or(&self.theirs);
        self.yours[n].shown() != base[n].shown()
    }

    /// Each editable field with the value submitted and the current one.
    fn compare(&self) -> Vec<Compared> {
        (0..self.yours.len())
            .filter(|&n| self.yours[n].kind != FieldKind::Static)
            .map(|n| {
                let (yours, current) = (self.yours[n].shown(), self.theirs[n].shown());
                Compared { label: self.yours[n].label, changed: self.changed(n), yours, current }
            })
            .collect()
    }

    /// The form that re-applies this edit onto the current version: the
    /// fields it changed with the values submitted, the others as they are
    /// now; and the current fields, which that form counts as read.
    fn reapplied(self) -> (Vec<Field>, Vec<Field>) {
        let changed: Vec<bool> = (0..self.yours.len()).map(|n| self.changed(n)).collect();
        let Merge { yours, theirs, .. } = self;
        let mut merged = Vec::with_capacity(yours.len());
        let mut current = Vec::with_capacity(theirs.len());
        for ((mine, now), changed) in yours.into_iter().zip(theirs).zip(changed) {
            merged.push(if changed { mine } else { now.clone() });
            current.push(now);
        }
        (merged, current)
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// The confirmation page of deleting `ids`; `problem` says why they were not.
async fn delete_page<R: Resource>(
    db: &Db,
    actor: Actor,
    layout: Layout,
    ids: Vec<i64>,
    action: String,
    problem: Option<String>,
) -> Result<Template, PageError> {
    let summary = db
        .run(move |conn| {
            // Only what the actor may manage is shown, as on every page: an
            // owner asking about another owner's object gets 403.
            ids.iter().try_for_each(|&id| R::load(conn, &actor, id).map(drop))?;
            R::delete_summary(conn, &actor, &ids)
        })
        .await?;
    let what = match summary.objects.len() {
        1 => format!("this {}", R::SINGULAR),
        n => format!("these {n} {}", R::SECTION),
    };
    let title = format!("Delete {what}?");
    let page = DeletePage {
        crumbs: crumbs::<R>(&actor, vec![Crumb::here(title.clone())]),
        layout,
        title,
        objects: summary.objects,
        consequences: summary.consequences,
        action,
        cancel: R::SECTION.list(),
        problem: summary.problem.or(problem),
        problem_link: summary.problem_link,
    };
    Ok(Template::render("admin/delete.html", page))
}

pub async fn confirm_delete<R: Resource>(
    db: Db,
    actor: Actor,
    layout: Layout,
    id: i64,
) -> Result<Template, PageError> {
    delete_page::<R>(&db, actor, layout, vec![id], R::SECTION.delete(id), None).await
}

/// Deletes every selected object, or none if one cannot go: then the
/// confirmation page says why, with 409.
async fn delete_selection<R: Resource>(
    db: Db,
    actor: Actor,
    layout: Layout,
    ids: Vec<i64>,
    confirm_url: String,
) -> FormOutcome {
    let selected = ids.clone();
    let deleted = db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                selected.iter().try_for_each(|&id| R::delete(conn, &actor, id))
            })
        })
        .await;
    match deleted {
        Ok(()) => Ok(Ok(Flash::success(Redirect::to(R::SECTION.list()), R::deleted_message(ids.len())))),
        Err(Error::Conflict(why)) => {
            let page = delete_page::<R>(&db, actor, layout, ids, confirm_url, Some(why)).await?;
            Ok(Err(SentBack::new(Status::Conflict, page)))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn delete<R: Resource>(db: Db, actor: Actor, layout: Layout, id: i64) -> FormOutcome {
    delete_selection::<R>(db, actor, layout, vec![id], R::SECTION.delete(id)).await
}

/// How many objects "select all matching" takes at once.
pub const MAX_MATCHING: i64 = 200;

pub async fn bulk_delete<R: Resource>(
    db: Db,
    actor: Actor,
    layout: Layout,
    search: Option<&str>,
    filters: R::Filters,
    form: listing::BulkForm,
) -> FormOutcome {
    let listing::BulkForm { mut ids, confirmed, all_matching, .. } = form;
    if all_matching && !confirmed {
        let raw = listing::RawListQuery { search, sort: None, page: None, per_page: None };
        let (mut query, _) = listing::list_query(raw, R::COLUMNS, R::DEFAULT_SORT);
        query.limit = MAX_MATCHING + 1;
        let listed = db.run(move |conn| R::list(conn, &actor, &query, &filters)).await?;
        if listed.rows.len() as i64 > MAX_MATCHING {
            let message = format!(
                "“Select all” takes at most {MAX_MATCHING} {} at a time: narrow the list with the search or filters first.",
                R::SECTION
            );
            return Ok(Ok(Flash::error(Redirect::to(R::SECTION.list()), message)));
        }
        ids = listed.rows.iter().map(|row| row.id).collect();
    }
    if ids.is_empty() {
        let message = format!("Select the {} to delete first.", R::SECTION);
        return Ok(Ok(Flash::error(Redirect::to(R::SECTION.list()), message)));
    }
    if !confirmed {
        let page = delete_page::<R>(&db, actor, layout, ids, R::SECTION.bulk_delete(), None).await?;
        return Ok(Err(SentBack::new(Status::Ok, page)));
    }
    delete_selection::<R>(db, actor, layout, ids, R::SECTION.bulk_delete()).await
}

pub async fn history<R: Resource>(
    db: Db,
    actor: Actor,
    layout: Layout,
    id: i64,
) -> Result<Template, PageError> {
    let (described, entries) = db
        .run(move |conn| {
            let object = R::load(conn, &actor, id)?;
            Ok((R::describe(&object), listing::history(conn, &actor, R::SECTION.entity(), id)?))
        })
        .await?;
    let object = Crumb::link(capitalized(&described.what), R::SECTION.object(id));
    let page = HistoryPage {
        crumbs: crumbs::<R>(&actor, vec![object, Crumb::here("History".to_owned())]),
        layout,
        title: format!("History of {}", described.what),
        back: R::SECTION.object(id),
        entries,
    };
    Ok(Template::render("admin/history.html", page))
}

/// Mounts a [`Resource`]'s pages behind `$guard` (which gives the `actor`):
/// in the section's module, `admin_section!(Stores, Staff);` defines its
/// `routes()`.
macro_rules! admin_section {
    ($resource:ty, $guard:ty) => {
        pub fn routes() -> Vec<rocket::Route> {
            rocket::routes![
                list,
                new,
                create,
                edit,
                update,
                confirm_delete,
                delete,
                bulk_delete,
                history,
                export
            ]
        }

        type This = $resource;
        type SectionFilters = <$resource as $crate::admin::resource::Resource>::Filters;
        type SectionForm = $crate::web::Resumable<
            $guard,
            $crate::admin::resource::Submitted<<$resource as $crate::admin::resource::Resource>::Form>,
        >;
        type Page = Result<rocket_dyn_templates::Template, $crate::web::PageError>;

        #[allow(clippy::too_many_arguments)] // one per query parameter
        #[rocket::get("/?<q>&<sort>&<page>&<per_page>&<filters..>")]
        async fn list(
            db: $crate::db::Db,
            who: $guard,
            layout: $crate::web::Layout,
            q: Option<&str>,
            sort: Option<&str>,
            page: Option<&str>,
            per_page: Option<&str>,
            filters: SectionFilters,
        ) -> Result<$crate::web::Listing, $crate::web::PageError> {
            let raw = $crate::admin::listing::RawListQuery { search: q, sort, page, per_page };
            $crate::admin::resource::list::<This>(db, who.actor, layout, raw, filters).await
        }

        // `draft` asks the form to take back what the session kept of it
        // (a form sent after the session before had ended).
        #[rocket::get("/new?<draft>&<form..>")]
        async fn new(
            db: $crate::db::Db,
            who: $guard,
            layout: $crate::web::Layout,
            draft: Option<&str>,
            form: <$resource as $crate::admin::resource::Resource>::Form,
        ) -> Page {
            let draft_of = draft.map(|_| who.user.session.id);
            $crate::admin::resource::new::<This>(db, who.actor, layout, form, draft_of).await
        }

        #[rocket::post("/", data = "<form>")]
        async fn create(
            db: $crate::db::Db,
            config: &rocket::State<$crate::config::AppConfig>,
            layout: $crate::web::Layout,
            form: SectionForm,
        ) -> $crate::admin::resource::FormOutcome {
            match form {
                $crate::web::Resumable::Sent(who, mut form) => {
                    $crate::admin::resource::read_typed::<This>(&mut form, config);
                    $crate::admin::resource::create::<This>(db, who.actor, layout, form).await
                }
                $crate::web::Resumable::SessionEnded(draft) => {
                    let page = <This as $crate::admin::resource::Resource>::SECTION.new_object();
                    Ok(Err(draft.log_in_again(layout, config, page)))
                }
            }
        }

        #[rocket::get("/<id>?<draft>")]
        async fn edit(
            db: $crate::db::Db,
            who: $guard,
            layout: $crate::web::Layout,
            id: i64,
            draft: Option<&str>,
        ) -> Page {
            let draft_of = draft.map(|_| who.user.session.id);
            $crate::admin::resource::edit::<This>(db, who.actor, layout, id, draft_of).await
        }

        #[rocket::post("/<id>", data = "<form>")]
        async fn update(
            db: $crate::db::Db,
            config: &rocket::State<$crate::config::AppConfig>,
            layout: $crate::web::Layout,
            id: i64,
            form: SectionForm,
        ) -> $crate::admin::resource::FormOutcome {
            match form {
                $crate::web::Resumable::Sent(who, mut form) => {
                    $crate::admin::resource::read_typed::<This>(&mut form, config);
                    $crate::admin::resource::update::<This>(db, who.actor, layout, id, form).await
                }
                $crate::web::Resumable::SessionEnded(draft) => {
                    let page = <This as $crate::admin::resource::Resource>::SECTION.object(id);
                    Ok(Err(draft.log_in_again(layout, config, page)))
                }
            }
        }

        #[rocket::get("/<id>/delete")]
        async fn confirm_delete(
            db: $crate::db::Db,
            who: $guard,
            layout: $crate::web::Layout,
            id: i64,
        ) -> Page {
            $crate::admin::resource::confirm_delete::<This>(db, who.actor, layout, id).await
        }

        #[rocket::post("/<id>/delete", data = "<_form>")]
        async fn delete(
            db: $crate::db::Db,
            who: $guard,
            layout: $crate::web::Layout,
            id: i64,
            _form: $crate::web::CheckedForm<$crate::admin::listing::ConfirmForm>,
        ) -> $crate::admin::resource::FormOutcome {
            $crate::admin::resource::delete::<This>(db, who.actor, layout, id).await
        }

        #[rocket::post("/bulk-delete?<q>&<filters..>", data = "<form>")]
        async fn bulk_delete(
            db: $crate::db::Db,
            who: $guard,
            layout: $crate::web::Layout,
            q: Option<&str>,
            filters: SectionFilters,
            form: $crate::web::CheckedForm<$crate::admin::listing::BulkForm>,
        ) -> $crate::admin::resource::FormOutcome {
            $crate::admin::resource::bulk_delete::<This>(db, who.actor, layout, q, filters, form.0).await
        }

        #[rocket::get("/export.csv?<q>&<filters..>")]
        async fn export(
            db: $crate::db::Db,
            who: $guard,
            q: Option<&str>,
            filters: SectionFilters,
        ) -> Result<$crate::admin::export::CsvDownload, $crate::web::PageError> {
            $crate::admin::export::export::<This>(db, who.actor, q, filters).await
        }

        #[rocket::get("/<id>/history")]
        async fn history(db: $crate::db::Db, who: $guard, layout: $crate::web::Layout, id: i64) -> Page {
            $crate::admin::resource::history::<This>(db, who.actor, layout, id).await
        }
    };
}
pub(crate) use admin_section;
