//! The service layer: every operation the API and the web pages offer, with
//! its validation, its authorization (through `policy`) and its audit record,
//! each in one transaction. Surfaces call these and only translate the result.

pub mod accounts;
pub mod audit;
pub mod bulk;
pub mod events;
pub mod imports;
pub mod items;
pub mod overview;
pub mod pictures;
pub mod sessions;
pub mod stores;
pub mod tags;
pub mod two_step;
pub mod webhooks;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::error::Error;

/// Turns a unique violation of the index `constraint` into `conflict`, and
/// any other database error into the generic mapping.
fn unique_or(error: DieselError, constraint: &str, conflict: impl FnOnce() -> Error) -> Error {
    match &error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(constraint) =>
        {
            conflict()
        }
        _ => Error::from(error),
    }
}

/// `NotFound` for the named kind of resource, other errors unchanged.
pub fn not_found_as(what: &'static str) -> impl FnOnce(DieselError) -> Error {
    move |error| match error {
        DieselError::NotFound => Error::NotFound(what),
        other => Error::from(other),
    }
}
