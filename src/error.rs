//! The domain error: what went wrong, in the service layer's words and with
//! no HTTP in it. Each surface maps it once: `api::Problem` for the API,
//! `web::PageError` for pages and the admin panel.

use std::collections::BTreeMap;
use std::fmt;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Field name → what is wrong with it, in a sentence a user can act on.
pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, Clone)]
pub enum Error {
    /// The resource does not exist; the word names its kind (`"store"`).
    NotFound(&'static str),
    /// The input is well-formed but breaks a rule.
    Invalid(FieldErrors),
    /// The change conflicts with what is stored (a duplicate name, a tag still in use).
    Conflict(String),
    /// The caller is known but may not do this.
    Forbidden,
    /// The caller has not proven who they are, or the proof no longer holds.
    Unauthenticated(AuthFailure),
    /// The password was right, and the account's second step is missing or wrong.
    SecondStep(SecondStep),
    /// The change was based on a version of the resource that is no longer current.
    StaleVersion,
    /// Too many attempts; the caller may try again after this many seconds.
    Throttled { retry_after_secs: u64 },
    /// The database is unreachable, or did not answer in time.
    Unavailable,
    /// A commit was sent, and the database did not say whether it was made
    /// (it stopped answering, or the connection was lost): the change may
    /// have been applied.
    OutcomeUnknown,
    /// The server is at capacity for this kind of work (password hashing);
    /// the caller may try again after this many seconds.
    Busy { retry_after_secs: u64 },
    /// A bug or an unexpected failure. The message is logged, never shown.
    Internal(String),
}

/// What a login still lacks once its password is right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondStep {
    /// The account signs in in two steps: a code must follow the password
    /// (the web asks for it on a page of its own).
    Needed { user_id: i64 },
    /// The code given is none of the account's.
    WrongCode,
    /// Staff must have a second step, and this account has none yet.
    EnrolFirst,
}

/// Why a request carries no usable identity. Each has a stable machine code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credentials at all on a route that needs them.
    Required,
    /// Malformed, badly signed, or of the wrong kind.
    InvalidToken,
    Expired,
    /// Logged out, rotated, deactivated, or the password changed since.
    Revoked,
    /// The route needs a token obtained by logging in just now.
    FreshRequired,
    /// The same, asked of a personal access token, which never is one (403).
    FreshLoginRequired,
    /// The email and password do not match an active account.
    InvalidCredentials,
}

impl AuthFailure {
    pub fn code(self) -> &'static str {
        match self {
            AuthFailure::Required => "authorization_required",
            AuthFailure::InvalidToken => "invalid_token",
            AuthFailure::Expired => "token_expired",
            AuthFailure::Revoked => "token_revoked",
            AuthFailure::FreshRequired | AuthFailure::FreshLoginRequired => "fresh_token_required",
            AuthFailure::InvalidCredentials => "invalid_credentials",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            AuthFailure::Required => "This request needs a bearer token.",
            AuthFailure::InvalidToken => "The token is not valid.",
            AuthFailure::Expired => "The token has expired.",
            AuthFailure::Revoked => "The token has been revoked.",
            AuthFailure::FreshRequired => {
                "This request needs the access token of a fresh login: log in again (POST /api/login)."
            }
            AuthFailure::FreshLoginRequired => {
                "A personal access token cannot do this. Log in again (POST /api/login) and use the \
                 access token of that login."
            }
            AuthFailure::InvalidCredentials => "Invalid email or password.",
        }
    }
}

impl Error {
    /// A validation error on a single field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Error {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), message.into());
        Error::Invalid(errors)
    }

    /// `Ok(())` when no field failed, otherwise all of them at once.
    pub fn check(errors: FieldErrors) -> Result<(), Error> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(errors))
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound(what) => write!(f, "{what} not found"),
            Error::Invalid(errors) => write!(f, "invalid input: {errors:?}"),
            Error::Conflict(why) => write!(f, "conflict: {why}"),
            Error::Forbidden => f.write_str("forbidden"),
            Error::Unauthenticated(why) => write!(f, "unauthenticated: {}", why.code()),
            Error::SecondStep(step) => write!(f, "second step: {step:?}"),
            Error::StaleVersion => f.write_str("stale version"),
            Error::Throttled { retry_after_secs } => {
                write!(f, "throttled for {retry_after_secs} s")
            }
            Error::Unavailable => f.write_str("database unavailable"),
            Error::OutcomeUnknown => f.write_str("commit sent, outcome unknown"),
            Error::Busy { retry_after_secs } => write!(f, "busy; retry in {retry_after_secs} s"),
            Error::Internal(why) => write!(f, "internal error: {why}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<DieselError> for Error {
    /// Services translate the constraint violations they expect into precise
    /// errors first; this is the fallback for everything else.
    fn from(error: DieselError) -> Error {
        match error {
            DieselError::NotFound => Error::NotFound("resource"),
            DieselError::DatabaseError(kind, info) => match kind {
                DatabaseErrorKind::UniqueViolation => {
                    Error::Conflict("A resource with these values already exists.".into())
                }
                DatabaseErrorKind::ForeignKeyViolation => {
                    Error::Conflict("The change would leave a dangling reference.".into())
                }
                DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => {
                    Error::Internal(format!("unvalidated input reached the database: {}", info.message()))
                }
                DatabaseErrorKind::ClosedConnection
                | DatabaseErrorKind::UnableToSendCommand
                | DatabaseErrorKind::ReadOnlyTransaction
                | DatabaseErrorKind::SerializationFailure => Error::Unavailable,
                _ if is_outage_message(info.message()) => Error::Unavailable,
                _ => Error::Internal(format!("database error: {}", info.message())),
            },
            other => Error::Internal(format!("database error: {other}")),
        }
    }
}

/// Whether `error` says the connection to the server was lost, so that
/// whatever was last sent may or may not have been carried out.
pub fn is_connection_loss(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | DieselError::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _) => true,
        DieselError::DatabaseError(_, info) => is_outage_message(info.message()),
        _ => false,
    }
}

/// Messages libpq and PostgreSQL give when the server went away or gave up,
/// which diesel does not classify.
fn is_outage_message(message: &str) -> bool {
    [
        "server closed the connection",
        "terminating connection",
        "connection to server",
        "canceling statement due to statement timeout",
        "canceling statement due to user request",
        "the database system is",
        "no connection to the server",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::DatabaseErrorInformation;

    struct Info(&'static str);

    impl DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn db_error(kind: DatabaseErrorKind, message: &'static str) -> Error {
        Error::from(DieselError::DatabaseError(kind, Box::new(Info(message))))
    }

    #[test]
    fn not_found_maps_to_not_found() {
        assert!(matches!(Error::from(DieselError::NotFound), Error::NotFound(_)));
    }

    #[test]
    fn lost_connections_map_to_unavailable() {
        assert!(matches!(db_error(DatabaseErrorKind::ClosedConnection, "x"), Error::Unavailable));
        assert!(matches!(
            db_error(DatabaseErrorKind::Unknown, "server closed the connection unexpectedly"),
            Error::Unavailable
        ));
        assert!(matches!(
            db_error(DatabaseErrorKind::Unknown, "canceling statement due to statement timeout"),
            Error::Unavailable
        ));
    }

    #[test]
    fn duplicates_map_to_conflict_and_the_rest_to_internal() {
        assert!(matches!(db_error(DatabaseErrorKind::UniqueViolation, "dup"), Error::Conflict(_)));
        assert!(matches!(db_error(DatabaseErrorKind::Unknown, "syntax error"), Error::Internal(_)));
    }
}
