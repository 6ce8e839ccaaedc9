//! A list as a CSV file: every object that matches the list's search and
//! filters (not only the page shown), by id, read a batch at a time and
//! streamed as it is read. Memory stays that of one batch however long the
//! list, and each batch holds a connection only while it is read.

use std::pin::Pin;
use std::sync::Arc;

use rocket::futures::Stream;
use rocket::http::ContentType;
use rocket::response::stream::ByteStream;
use rocket::response::{self, Responder, Response};
use rocket::Request;

use super::listing::{self, RawListQuery};
use super::resource::Resource;
use crate::db::Db;
use crate::error::Error;
use crate::models::ListQuery;
use crate::policy::Actor;
use crate::spreadsheet;
use crate::web::PageError;

/// Objects read by one statement of an export.
pub const BATCH: i64 = 1000;

/// The cells of one exported object, after its id.
pub type Record = (i64, Vec<String>);

type Body = Pin<Box<dyn Stream<Item = Vec<u8>> + Send>>;

/// A CSV file to download: UTF-8 with a byte order mark (so that Excel
/// reads it as UTF-8), never cached.
pub struct CsvDownload {
    filename: String,
    body: Body,
}

impl<'r> Responder<'r, 'r> for CsvDownload {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'r> {
        Response::build_from(ByteStream(self.body).respond_to(request)?)
            .header(ContentType::new("text", "csv").with_params(("charset", "utf-8")))
            .raw_header("Content-Disposition", format!("attachment; filename=\"{}\"", self.filename))
            .raw_header("Cache-Control", "no-store")
            .ok()
    }
}

impl CsvDownload {
    /// A file made whole in memory (one that is small by construction).
    pub fn whole(filename: String, bytes: Vec<u8>) -> CsvDownload {
        CsvDownload { filename, body: Box::pin(rocket::futures::stream::iter([bytes])) }
    }
}

/// One batch: the objects after `query.after`.
async fn batch<R: Resource>(
    db: &Db,
    actor: &Arc<Actor>,
    query: &ListQuery,
    filters: &Arc<R::Filters>,
) -> Result<Vec<Record>, Error> {
    let (actor, query, filters) = (actor.clone(), query.clone(), filters.clone());
    super::resource::read_list::<R, _>(db, move |conn| R::export(conn, &actor, &query, &filters)).await
}

/// The list of section `R` with `search` and `filters`, as CSV. The first
/// batch is read before answering, so that a refusal or a database that is
/// down is an error page rather than a cut file; a later batch that fails
/// ends the file with a line that says so.
pub async fn export<R: Resource>(
    db: Db,
    actor: Actor,
    search: Option<&str>,
    filters: R::Filters,
) -> Result<CsvDownload, PageError> {
    let raw = RawListQuery { search, sort: None, page: None, per_page: None };
    let (mut query, _) = listing::list_query(raw, R::COLUMNS, R::DEFAULT_SORT);
    query.offset = 0;
    query.limit = BATCH;
    query.after = Some(0);
    let (actor, filters) = (Arc::new(actor), Arc::new(filters));
    let mut rows = batch::<R>(&db, &actor, &query, &filters).await?;
    let mut head = spreadsheet::BOM.as_bytes().to_vec();
    head.extend(spreadsheet::lines([R::EXPORT_COLUMNS]));
    let body = rocket::response::stream::stream! {
        yield head;
        loop {
            let full = rows.len() as i64 == BATCH;
            let Some(&(last, _)) = rows.last() else { break };
            yield spreadsheet::lines(std::mem::take(&mut rows).into_iter().map(|(_, cells)| cells));
            if !full {
                break;
            }
            query.after = Some(last);
            // Each batch has the database budget of a request.
            match batch::<R>(&db.with_fresh_budget(), &actor, &query, &filters).await {
                Ok(next) => rows = next,
                Err(_) => {
                    yield spreadsheet::lines([[STOPPED_EARLY]]);
                    break;
                }
            }
        }
    };
    let filename = format!("{}-{}.csv", R::SECTION, chrono::Utc::now().format("%Y-%m-%d"));
    Ok(CsvDownload { filename, body: Box::pin(body) })
}

/// The last line of an export cut short.
pub const STOPPED_EARLY: &str =
    "The export stopped early: the database did not answer in time. Download the file again.";

/// A time as exports write it (RFC 3339, UTC, to the second).
pub fn time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
