//! How many of everything there is, for the admin panel's front page.

use diesel::PgConnection;

use crate::error::Error;
use crate::models::{Item, ItemFilter, Store, Tag, User};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub stores: i64,
    /// Exact up to a limit, the planner's estimate beyond.
    pub items: i64,
    pub tags: i64,
    pub users: i64,
}

pub fn counts(conn: &mut PgConnection) -> Result<Counts, Error> {
    Ok(Counts {
        stores: Store::count(conn)?,
        items: Item::total(conn, &ItemFilter::default())?.count,
        tags: Tag::count(conn)?,
        users: User::count(conn)?,
    })
}
