//! Where the bytes of pictures are kept, behind one small interface:
//! PostgreSQL by default ([`InDatabase`]), so that every instance sees every
//! picture and a picture's record and its bytes are written in one
//! transaction. A folder or an object store can implement [`Store`] too.

use diesel::{PgConnection, RunQueryDsl};

use super::{Prepared, Rendition};
use crate::error::Error;
use crate::models::picture::MAX_PER_ITEM;
use crate::models::{ItemPicture, NewItemPicture, NewPictureBytes, PictureBytes, PictureSize};

/// Keeps, gives back and forgets bytes by their digest.
pub trait Store: Send + Sync {
    /// Keeps `rendition` under its digest; the same bytes are kept once.
    fn keep(&self, conn: &mut PgConnection, rendition: &Rendition) -> Result<(), Error>;
    fn fetch(&self, conn: &mut PgConnection, digest: &str) -> Result<Option<PictureBytes>, Error>;
    /// Forgets the bytes of `digests` that no picture uses; how many went.
    fn forget_unused(&self, conn: &mut PgConnection, digests: &[String]) -> Result<usize, Error>;
}

/// Bytes in the `picture_blobs` table.
pub struct InDatabase;

/// Where this application keeps pictures.
pub fn configured() -> &'static dyn Store {
    &InDatabase
}

impl Store for InDatabase {
    fn keep(&self, conn: &mut PgConnection, rendition: &Rendition) -> Result<(), Error> {
        let row = NewPictureBytes {
            digest: &rendition.digest,
            content_type: rendition.content_type,
            bytes: &rendition.bytes,
        };
        Ok(row.insert(conn)?)
    }

    fn fetch(&self, conn: &mut PgConnection, digest: &str) -> Result<Option<PictureBytes>, Error> {
        Ok(PictureBytes::find(conn, digest)?)
    }

    fn forget_unused(&self, conn: &mut PgConnection, digests: &[String]) -> Result<usize, Error> {
        Ok(PictureBytes::forget_unused(conn, digests)?)
    }
}

/// Adds `prepared` as the item's last picture, with `alt` (`None`: the
/// item's name), its sizes kept in `store`. For the caller's transaction,
/// with the item locked, so that two uploads do not take the same place;
/// `Error::Conflict` when the item has all the pictures it may.
pub fn attach(
    conn: &mut PgConnection,
    store: &dyn Store,
    item_id: i64,
    alt: Option<&str>,
    prepared: &Prepared,
) -> Result<(ItemPicture, Vec<PictureSize>), Error> {
    let (count, position) = ItemPicture::count_and_next_position(conn, item_id)?;
    if count >= MAX_PER_ITEM {
        return Err(Error::Conflict(format!(
            "An item has at most {MAX_PER_ITEM} pictures: remove one before adding another."
        )));
    }
    let dimension =
        |value: u32| i32::try_from(value).map_err(|_| Error::Internal("a picture too wide".into()));
    let picture = NewItemPicture {
        item_id,
        position,
        alt,
        width: dimension(prepared.width)?,
        height: dimension(prepared.height)?,
    }
    .insert(conn)?;
    let mut sizes = Vec::with_capacity(prepared.renditions.len());
    for rendition in &prepared.renditions {
        store.keep(conn, rendition)?;
        sizes.push(PictureSize {
            picture_id: picture.id,
            width: dimension(rendition.width)?,
            height: dimension(rendition.height)?,
            digest: rendition.digest.clone(),
        });
    }
    diesel::insert_into(crate::schema::item_picture_sizes::table).values(&sizes).execute(conn)?;
    Ok((picture, sizes))
}

/// Removes a picture and forgets the bytes nothing else uses.
pub fn detach(conn: &mut PgConnection, store: &dyn Store, picture_id: i64) -> Result<usize, Error> {
    let digests = ItemPicture::delete(conn, picture_id)?;
    store.forget_unused(conn, &digests)
}
