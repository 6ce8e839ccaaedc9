//! Importing items from a CSV file in the panel, with plain forms: upload
//! the file, map its columns (guessed from its header), preview every row,
//! then apply or cancel. Previews and applies run in the background, one
//! transaction each, with their progress in the database: the page shows a
//! progress bar that any instance can answer for, and that survives a
//! reload. The file's refused rows download as CSV with a message column.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use rocket::form::FromForm;
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::request::{self, FromRequest, Request};
use rocket::response::{Flash, Redirect};
use rocket::serde::json::Json;
use rocket::tokio::sync::{watch, Semaphore};
use rocket::{get, post, routes, Route};
use rocket_dyn_templates::Template;
use serde::Serialize;
use serde_json::Value;

use super::export::CsvDownload;
use super::listing::ConfirmForm;
use super::views::Crumb;
use super::PanelUser;
use crate::db::{Db, DbPool};
use crate::error::Error;
use crate::models::import::{Import, ImportRow, ImportState, MatchBy, NewImport, Outcome};
use crate::policy::Actor;
use crate::services::imports::{self, Field, Mapping, Options};
use crate::web::{CheckedForm, CsrfProtected, Layout, PageError};

/// Where the imports are.
pub const IMPORTS: &str = "/admin/imports";

pub fn routes() -> Vec<Route> {
    routes![page, upload, import, preview, apply, cancel, progress, refused]
}

/// How many previews and applies run at once on an instance; the others wait.
const JOBS_AT_ONCE: usize = 2;
/// Imports an account keeps, its newest.
const KEPT_PER_USER: i64 = 20;
/// Rows a page of the preview lists.
const ROWS_SHOWN: i64 = 100;
/// A step whose heartbeat is older than this has died with its instance.
const STALE_AFTER: chrono::Duration = chrono::Duration::seconds(60);

fn jobs() -> &'static Semaphore {
    static JOBS: OnceLock<Semaphore> = OnceLock::new();
    JOBS.get_or_init(|| Semaphore::new(JOBS_AT_ONCE))
}

/// Import `id` of `user` (404 for anyone else's).
fn find(conn: &mut diesel::PgConnection, id: i64, user: i64) -> Result<Import, Error> {
    Import::find_of(conn, id, user).map_err(crate::services::not_found_as("import"))
}

fn url(id: i64) -> String {
    format!("{IMPORTS}/{id}")
}

fn crumbs(actor: &Actor, here: Option<String>) -> Vec<Crumb> {
    let mut crumbs = vec![Crumb::panel(actor), Crumb::link("Items", super::urls::Section::Items.list())];
    match here {
        Some(here) => crumbs.extend([Crumb::link("Import", IMPORTS.to_owned()), Crumb::here(here)]),
        None => crumbs.push(Crumb::here("Import".to_owned())),
    }
    crumbs
}

/// An import as its pages show it.
#[derive(Serialize)]
struct ImportView {
    id: i64,
    url: String,
    file_name: String,
    state: &'static str,
    working: bool,
    rows_total: i32,
    rows_done: i32,
    percent: i32,
    new: i32,
    changed: i32,
    unchanged: i32,
    refused: i32,
    message: Option<String>,
    created_at: String,
}

impl ImportView {
    fn of(import: &Import) -> ImportView {
        let counts = import.counted();
        let stale = import.state.working() && chrono::Utc::now() - import.heartbeat > STALE_AFTER;
        let (state, message) = if stale {
            let why = "The work stopped (its server went away): nothing was applied. Preview the file again.";
            (ImportState::Failed, Some(why.to_owned()))
        } else {
            (import.state, import.message.clone())
        };
        ImportView {
            id: import.id,
            url: url(import.id),
            file_name: import.file_name.clone(),
            state: state.as_str(),
            working: state.working(),
            rows_total: import.rows_total,
            rows_done: import.rows_done,
            percent: if import.rows_total > 0 { import.rows_done * 100 / import.rows_total } else { 0 },
            new: counts.new,
            changed: counts.changed,
            unchanged: counts.unchanged,
            refused: counts.refused,
            message,
            created_at: import.created_at.format("%Y-%m-%d %H:%M").to_string(),
        }
    }
}

#[derive(Serialize)]
struct ImportsPage {
    layout: Layout,
    crumbs: Vec<Crumb>,
    title: &'static str,
    action: &'static str,
    max_megabytes: usize,
    max_rows: usize,
    recent: Vec<ImportView>,
}

/// The upload form, and this user's latest imports.
#[get("/")]
async fn page(db: Db, panel: PanelUser, layout: Layout) -> Result<Template, PageError> {
    let user = panel.actor.user_id;
    let recent = db.run(move |conn| Ok(Import::recent_of(conn, user, 10)?)).await?;
    let page = ImportsPage {
        layout,
        crumbs: crumbs(&panel.actor, None),
        title: "Import items",
        action: IMPORTS,
        max_megabytes: imports::MAX_BYTES / 1024 / 1024,
        max_rows: imports::MAX_ROWS,
        recent: recent.iter().map(ImportView::of).collect(),
    };
    Ok(Template::render("admin/imports.html", page))
}

#[derive(FromForm)]
struct UploadForm<'r> {
    #[field(default = String::new())]
    csrf_token: String,
    file: Option<TempFile<'r>>,
}

impl CsrfProtected for UploadForm<'_> {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Reads the file far enough to map its columns, and keeps it.
#[post("/", data = "<form>")]
async fn upload(
    db: Db,
    panel: PanelUser,
    form: CheckedForm<UploadForm<'_>>,
) -> Result<Flash<Redirect>, PageError> {
    let back = || Redirect::to(IMPORTS);
    let Some(file) = form.0.file.as_ref().filter(|f| f.len() > 0) else {
        return Ok(Flash::error(back(), "Choose a CSV file to import."));
    };
    let file_name = file
        .raw_name()
        .map(|name| name.dangerous_unsafe_unsanitized_raw().as_str().to_owned())
        .map(|name| crate::text::normalize(&name).chars().take(200).collect::<String>())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "upload.csv".to_owned());
    let bytes = crate::request::read_upload(file, imports::MAX_BYTES).await?;
    let read = match rocket::tokio::task::spawn_blocking(move || imports::read(&bytes)).await {
        Ok(Ok(read)) => read,
        Ok(Err(why)) => return Ok(Flash::error(back(), format!("“{file_name}” cannot be imported. {why}"))),
        Err(_) => return Err(Error::Internal("reading an upload panicked".into()).into()),
    };
    let user_id = panel.actor.user_id;
    let import = db
        .run(move |conn| {
            // An account keeps its latest imports (and a week of them at most).
            Import::keep_newest(conn, user_id, KEPT_PER_USER - 1)?;
            let mapping = Mapping::guess(&read.columns);
            Ok(NewImport {
                user_id,
                file_name: &file_name,
                source: &read.text,
                delimiter: imports::delimiter_name(read.delimiter),
                header: serde_json::json!(read.columns),
                mapping: mapping.to_json(),
                rows_total: i32::try_from(read.rows).unwrap_or(i32::MAX),
            }
            .insert(conn)?)
        })
        .await?;
    Ok(Flash::success(
        Redirect::to(url(import.id)),
        "Check which column holds what, then preview the import.",
    ))
}

/// A column of the file, for the mapping form.
#[derive(Serialize)]
struct ColumnChoice {
    index: usize,
    name: String,
}

#[derive(Serialize)]
struct FieldChoice {
    key: &'static str,
    label: &'static str,
    column: Option<usize>,
}

/// A previewed row.
#[derive(Serialize)]
struct RowView {
    line: i32,
    outcome: &'static str,
    item_id: Option<i64>,
    label: String,
    /// `field: from → to`, or `column: why`.
    notes: Vec<String>,
}

impl RowView {
    fn of(row: ImportRow) -> RowView {
        let label = row.details.get("label").and_then(Value::as_str).unwrap_or_default().to_owned();
        let notes = match row.outcome {
            Outcome::Refused => imports::problems(&row.details),
            _ => {
                let changes = row.details.get("changes").and_then(Value::as_object).into_iter().flatten();
                changes
                    .map(|(field, change)| {
                        let side = |side: &str| change.get(side).and_then(Value::as_str).map(str::to_owned);
                        let show = |text: String| if text.is_empty() { "(none)".to_owned() } else { text };
                        match (side("from"), side("to")) {
                            (Some(from), Some(to)) => format!("{field}: {} → {}", show(from), show(to)),
                            (None, Some(to)) => format!("{field}: {}", show(to)),
                            _ => field.clone(),
                        }
                    })
                    .collect()
            }
        };
        RowView { line: row.line, outcome: row.outcome.as_str(), item_id: row.item_id, label, notes }
    }
}

#[derive(Serialize)]
struct Tab {
    outcome: &'static str,
    label: &'static str,
    count: i32,
    href: String,
    current: bool,
}

#[derive(Serialize)]
struct ImportPage {
    layout: Layout,
    crumbs: Vec<Crumb>,
    title: String,
    import: ImportView,
    progress_url: String,
    columns: Vec<ColumnChoice>,
    fields: Vec<FieldChoice>,
    match_by: &'static str,
    create_tags: bool,
    tabs: Vec<Tab>,
    rows: Vec<RowView>,
    next: Option<String>,
    refused_url: String,
}

fn outcome_of(word: Option<&str>) -> Option<Outcome> {
    word.and_then(Outcome::parse)
}

/// An import at whatever step it stands: the mapping form, the progress
/// of the step at work, the preview with its rows (`show` of them, after
/// line `after`), or the end.
#[get("/<id>?<show>&<after>")]
async fn import(
    db: Db,
    panel: PanelUser,
    layout: Layout,
    id: i64,
    show: Option<&str>,
    after: Option<i32>,
) -> Result<Template, PageError> {
    let user = panel.actor.user_id;
    let wanted = outcome_of(show);
    let (import, rows) = db
        .run(move |conn| {
            let import = find(conn, id, user)?;
            let counts = import.counted();
            let shown = wanted.unwrap_or(if counts.refused > 0 {
                Outcome::Refused
            } else if counts.changed > 0 {
                Outcome::Changed
            } else {
                Outcome::New
            });
            let rows = match import.state {
                ImportState::Previewed | ImportState::Applied => {
                    ImportRow::with_outcome(conn, id, shown, after.unwrap_or(0), ROWS_SHOWN + 1)?
                }
                _ => Vec::new(),
            };
            Ok::<_, Error>((import, (shown, rows)))
        })
        .await?;
    let (shown, mut rows) = rows;
    let next = (rows.len() as i64 > ROWS_SHOWN).then(|| {
        rows.truncate(usize::try_from(ROWS_SHOWN).unwrap_or(0));
        let last = rows.last().map_or(0, |row| row.line);
        format!("{}?show={}&after={last}", url(id), shown.as_str())
    });
    let view = ImportView::of(&import);
    let counts = import.counted();
    let tabs = [
        (Outcome::Refused, "Refused", counts.refused),
        (Outcome::Changed, "Changed", counts.changed),
        (Outcome::New, "New", counts.new),
        (Outcome::Unchanged, "Unchanged", counts.unchanged),
    ]
    .into_iter()
    .map(|(outcome, label, count)| Tab {
        outcome: outcome.as_str(),
        label,
        count,
        href: format!("{}?show={}", url(id), outcome.as_str()),
        current: outcome == shown,
    })
    .collect();
    let header: Vec<String> = serde_json::from_value(import.header.clone()).unwrap_or_default();
    let mapping = Mapping::from_json(&import.mapping);
    let page = ImportPage {
        layout,
        crumbs: crumbs(&panel.actor, Some(format!("“{}”", import.file_name))),
        title: format!("Import of “{}”", import.file_name),
        progress_url: format!("{}/progress", url(id)),
        refused_url: format!("{}/refused.csv", url(id)),
        columns: header.into_iter().enumerate().map(|(index, name)| ColumnChoice { index, name }).collect(),
        fields: Field::ALL
            .into_iter()
            .map(|field| FieldChoice {
                key: field.key(),
                label: field.label(),
                column: mapping.column(field),
            })
            .collect(),
        match_by: import.match_by.as_str(),
        create_tags: import.create_tags,
        tabs,
        rows: rows.into_iter().map(RowView::of).collect(),
        next,
        import: view,
    };
    Ok(Template::render("admin/import.html", page))
}

/// The mapping and options of a preview.
#[derive(FromForm)]
struct PreviewForm {
    #[field(default = String::new())]
    csrf_token: String,
    /// Each field's column (`map.name=2`); empty for none.
    #[field(default = HashMap::new())]
    map: HashMap<String, String>,
    #[field(default = String::new())]
    match_by: String,
    #[field(default = false)]
    create_tags: bool,
}

impl CsrfProtected for PreviewForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Previews the file with the columns as mapped.
#[post("/<id>/preview", data = "<form>")]
async fn preview(
    db: Db,
    pool: Background,
    config: &rocket::State<crate::config::AppConfig>,
    panel: PanelUser,
    id: i64,
    form: CheckedForm<PreviewForm>,
) -> Result<Flash<Redirect>, PageError> {
    let form = form.0;
    let user = panel.actor.user_id;
    let import = db.run(move |conn| find(conn, id, user)).await?;
    let columns = import.header.as_array().map_or(0, Vec::len);
    let mut mapping = Mapping::default();
    for field in Field::ALL {
        let column = form.map.get(field.key()).and_then(|c| c.parse::<usize>().ok()).filter(|&c| c < columns);
        mapping.set(field, column);
    }
    let match_by = MatchBy::parse(&form.match_by).unwrap_or(MatchBy::Id);
    if let Some(problem) = mapping.problem(match_by) {
        return Ok(Flash::error(Redirect::to(url(id)), problem));
    }
    let options =
        Options { mapping, match_by, create_tags: form.create_tags, currency: config.currency.clone() };
    let stored = (options.mapping.to_json(), match_by, options.create_tags);
    let from = [ImportState::Uploaded, ImportState::Previewed, ImportState::Failed];
    let stale = ImportView::of(&import).state == ImportState::Failed.as_str();
    let started = db
        .run(move |conn| {
            if stale && import.state.working() {
                Import::fail(conn, id, "stopped")?;
            }
            Import::set_mapping(conn, id, stored.0, stored.1, stored.2)?;
            Ok::<_, Error>(Import::start(conn, id, &from, ImportState::Previewing)?)
        })
        .await?;
    if !started {
        return Ok(Flash::error(Redirect::to(url(id)), "This import cannot be previewed now."));
    }
    spawn(pool, panel.actor, id, options, Step::Preview)?;
    Ok(Flash::success(Redirect::to(url(id)), "Previewing…"))
}

/// Applies a previewed import.
#[post("/<id>/apply", data = "<_form>")]
async fn apply(
    db: Db,
    pool: Background,
    config: &rocket::State<crate::config::AppConfig>,
    panel: PanelUser,
    id: i64,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Flash<Redirect>, PageError> {
    let user = panel.actor.user_id;
    let (import, started) = db
        .run(move |conn| {
            let import = find(conn, id, user)?;
            let counts = import.counted();
            let started = counts.new + counts.changed > 0
                && Import::start(conn, id, &[ImportState::Previewed], ImportState::Applying)?;
            Ok::<_, Error>((import, started))
        })
        .await?;
    if !started {
        return Ok(Flash::error(Redirect::to(url(id)), "This import has nothing to apply now."));
    }
    let options = Options {
        mapping: Mapping::from_json(&import.mapping),
        match_by: import.match_by,
        create_tags: import.create_tags,
        currency: config.currency.clone(),
    };
    spawn(pool, panel.actor, id, options, Step::Apply)?;
    Ok(Flash::success(Redirect::to(url(id)), "Importing…"))
}

/// Cancels an import that is not at work, and forgets its file.
#[post("/<id>/cancel", data = "<_form>")]
async fn cancel(
    db: Db,
    panel: PanelUser,
    id: i64,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Flash<Redirect>, PageError> {
    let user = panel.actor.user_id;
    let cancelled = db
        .run(move |conn| {
            find(conn, id, user)?;
            let from = [ImportState::Uploaded, ImportState::Previewed, ImportState::Failed];
            if Import::start(conn, id, &from, ImportState::Cancelled)? {
                ImportRow::clear(conn, id)?;
                Import::finish(conn, id, ImportState::Cancelled, Default::default(), None)?;
                return Ok::<_, Error>(true);
            }
            Ok(false)
        })
        .await?;
    if cancelled {
        Ok(Flash::success(Redirect::to(IMPORTS), "Import cancelled: nothing was imported."))
    } else {
        Ok(Flash::error(Redirect::to(url(id)), "This import cannot be cancelled now."))
    }
}

#[derive(Serialize)]
struct Progress {
    state: &'static str,
    done: i32,
    total: i32,
}

/// Where the step at work stands, for the page's progress bar.
#[get("/<id>/progress")]
async fn progress(db: Db, panel: PanelUser, id: i64) -> Result<Json<Progress>, PageError> {
    let user = panel.actor.user_id;
    let import = db.run(move |conn| find(conn, id, user)).await?;
    let view = ImportView::of(&import);
    Ok(Json(Progress { state: view.state, done: view.rows_done, total: view.rows_total }))
}

/// The refused rows of the preview, as the file had them, with why.
#[get("/<id>/refused.csv")]
async fn refused(db: Db, panel: PanelUser, id: i64) -> Result<CsvDownload, PageError> {
    let user = panel.actor.user_id;
    let csv = db
        .run(move |conn| {
            let import = find(conn, id, user)?;
            let source = Import::source(conn, id)?.ok_or(Error::NotFound("file"))?;
            let limit = i64::from(import.rows_total) + 1;
            let rows = ImportRow::with_outcome(conn, id, Outcome::Refused, 0, limit)?;
            let problems =
                rows.iter().map(|row| (row.line, imports::problems_in_words(&row.details))).collect();
            Ok::<_, Error>(imports::refused_rows(&source, import.delimiter_byte(), &problems))
        })
        .await?;
    Ok(CsvDownload::whole(format!("import-{id}-refused-rows.csv"), csv))
}

type Pool = rocket_sync_db_pools::ConnectionPool<DbPool, crate::db::Pg>;

/// The pool background steps take their connections from.
struct Background(Pool);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Background {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match DbPool::pool(request.rocket()) {
            Some(pool) => request::Outcome::Success(Background(pool.clone())),
            None => request::Outcome::Error((Status::ServiceUnavailable, ())),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Preview,
    Apply,
}

/// Runs a preview or an apply in the background: one transaction on a
/// connection of its own, its progress written from another every time it
/// moves (and at least every few seconds, as its heartbeat).
fn spawn(
    Background(pool): Background,
    actor: Actor,
    id: i64,
    options: Options,
    step: Step,
) -> Result<(), Error> {
    rocket::tokio::spawn(async move {
        let Ok(_turn) = jobs().acquire().await else { return };
        let (sender, receiver) = watch::channel(0);
        let work = async {
            let connection = pool.get().await.ok_or(Error::Unavailable)?;
            connection
                .run(move |conn| {
                    let import = find(conn, id, actor.user_id)?;
                    let source = Import::source(conn, id)?.ok_or(Error::NotFound("file"))?;
                    let progress = |done: i32| {
                        let _ = sender.send(done);
                    };
                    match step {
                        Step::Preview => {
                            imports::preview(conn, &actor, &import, &source, &options, &progress)
                        }
                        Step::Apply => imports::apply(conn, &actor, &import, &source, &options, &progress),
                    }
                })
                .await
        };
        let (outcome, ()) = rocket::tokio::join!(work, report(&pool, id, receiver));
        let finished = match (&outcome, step) {
            (Ok(_), Step::Preview) => ImportState::Previewed,
            (Ok(_), Step::Apply) => ImportState::Applied,
            (Err(_), _) => ImportState::Failed,
        };
        let message = outcome.as_ref().err().map(|error| failure(step, error));
        let counts = outcome.unwrap_or_default();
        if let Some(connection) = pool.get().await {
            let _ = connection
                .run(move |conn| Import::finish(conn, id, finished, counts, message.as_deref()))
                .await;
        }
    });
    Ok(())
}

/// Writes the progress `receiver` sees until its sender is gone.
async fn report(pool: &Pool, id: i64, mut receiver: watch::Receiver<i32>) {
    loop {
        // A change, or five seconds without one (the heartbeat); or the end.
        let waited = rocket::tokio::time::timeout(Duration::from_secs(5), receiver.changed()).await;
        if let Ok(Err(_)) = waited {
            return;
        }
        let done = *receiver.borrow_and_update();
        if let Some(connection) = pool.get().await {
            let _ = connection.run(move |conn| Import::progress(conn, id, done)).await;
        }
        rocket::tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Why a step failed, for the person who started it.
fn failure(step: Step, error: &Error) -> String {
    let what = match step {
        Step::Preview => "The preview failed",
        Step::Apply => "The import failed: nothing was imported",
    };
    match error {
        Error::Conflict(why) => why.clone(),
        Error::Invalid(errors) => {
            format!("{what}: {}.", errors.values().cloned().collect::<Vec<_>>().join("; "))
        }
        Error::Forbidden => format!("{what}: a row changes what you do not manage."),
        Error::Unavailable | Error::OutcomeUnknown => {
            format!("{what}: the database did not answer. Try again.")
        }
        other => {
            tracing::error!(error = %other, "an import step failed");
            format!("{what}: the database refused a change. Try again, or ask an admin to look at the log.")
        }
    }
}
