//! Taking an uploaded file in: a bounded number at once, read from its
//! temporary file, prepared on the picture workers. The API and the panel
//! both upload this way.

use std::sync::OnceLock;
use std::time::Duration;

use rocket::fs::TempFile;
use rocket::tokio::sync::Semaphore;

use super::{Prepared, Refusal, MAX_BYTES};
use crate::error::Error;

/// Uploads read and prepared at once; past them a request waits
/// [`UPLOAD_PATIENCE`] for a place (its file on disk, not in memory), then
/// is answered 503. Each holds at most [`MAX_BYTES`] in memory while it is
/// prepared, besides the pixels its worker decodes.
fn places() -> &'static Semaphore {
    static PLACES: OnceLock<Semaphore> = OnceLock::new();
    PLACES.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()) * 2))
}

/// Long enough for a burst of fifty 12-megapixel uploads on two cores.
const UPLOAD_PATIENCE: Duration = Duration::from_secs(20);

/// The sizes of an uploaded picture, or why it is refused; `Err` when no
/// place came free in time (`Error::Busy`) or the file cannot be read.
pub async fn prepare(file: &TempFile<'_>) -> Result<Result<Prepared, Refusal>, Error> {
    let _place = rocket::tokio::time::timeout(UPLOAD_PATIENCE, places().acquire())
        .await
        .map_err(|_| Error::Busy { retry_after_secs: 1 })?
        .map_err(|_| Error::Internal("the upload places are closed".into()))?;
    let bytes = crate::request::read_upload(file, MAX_BYTES).await?;
    super::workers().run(move || super::prepare(&bytes)).await
}
