//! The HTML error surface: every domain error as the status of an error page,
//! rendered by the catchers of `public`. The one mapping of the browser side,
//! as `api::Problem` is the API's.

use rocket::http::{Header, Status};
use rocket::request::Request;
use rocket_dyn_templates::Template;

use crate::error::{AuthFailure, Error, FieldErrors, SecondStep};

/// A page that could not be shown: the status and the page that says why.
#[derive(Debug)]
pub struct PageError {
    status: Status,
    /// A change was sent to be committed and the database did not confirm
    /// it: the 503 page says it may have been saved.
    outcome_unknown: bool,
}

/// Set on a request whose change may have been saved although it failed.
pub(super) struct OutcomeUnknown(pub bool);

impl PageError {
    pub fn status(&self) -> Status {
        self.status
    }
}

impl From<Status> for PageError {
    fn from(status: Status) -> PageError {
        PageError { status, outcome_unknown: false }
    }
}

impl From<Error> for PageError {
    fn from(error: Error) -> PageError {
        if let Error::OutcomeUnknown = error {
            return PageError { status: Status::ServiceUnavailable, outcome_unknown: true };
        }
        PageError::from(match error {
            Error::NotFound(_) => Status::NotFound,
            // A page's own input (a query parameter) it cannot show; forms
            // handle their field errors before they get here.
            Error::Invalid(_) => Status::BadRequest,
            Error::Conflict(_) | Error::StaleVersion => Status::Conflict,
            Error::Forbidden => Status::Forbidden,
            Error::Unauthenticated(_) | Error::SecondStep(_) => Status::Unauthorized,
            Error::Throttled { .. } => Status::TooManyRequests,
            Error::Unavailable | Error::OutcomeUnknown | Error::Busy { .. } => Status::ServiceUnavailable,
            Error::Internal(cause) => {
                tracing::error!("page failed: {cause}");
                Status::InternalServerError
            }
        })
    }
}

impl<'r> rocket::response::Responder<'r, 'static> for PageError {
    fn respond_to(self, request: &'r Request<'_>) -> rocket::response::Result<'static> {
        if self.outcome_unknown {
            request.local_cache(|| OutcomeUnknown(true));
        }
        Err(self.status)
    }
}

/// Why a form is sent back to be corrected: its errors by field (`form`
/// for the form as a whole), the status to send it with, and the wait in
/// seconds when it is refused for a while.
#[derive(Debug)]
pub struct FormRefusal {
    pub status: Status,
    pub errors: FieldErrors,
    pub retry_after: Option<u64>,
}

impl FormRefusal {
    /// What `error` says about a form whose uniqueness conflicts concern
    /// `conflict_field`. An error that is not about what was typed (an
    /// outage, a missing object, a refusal) is the page's error instead.
    pub fn of(error: Error, conflict_field: &str) -> Result<FormRefusal, PageError> {
        FormRefusal::or_error(error, conflict_field).map_err(PageError::from)
    }

    /// Like [`FormRefusal::of`], giving back the error that is not the
    /// form's, for code that runs on a connection.
    pub fn or_error(error: Error, conflict_field: &str) -> Result<FormRefusal, Error> {
        let on_form = |message: String| FieldErrors::from([("form".to_owned(), message)]);
        let (status, errors, retry_after) = match error {
            Error::Invalid(errors) => (Status::UnprocessableEntity, errors, None),
            Error::Conflict(why) => {
                (Status::UnprocessableEntity, FieldErrors::from([(conflict_field.to_owned(), why)]), None)
            }
            Error::Unauthenticated(AuthFailure::InvalidCredentials) => {
                (Status::Unauthorized, on_form("Invalid email or password.".to_owned()), None)
            }
            Error::SecondStep(SecondStep::WrongCode) => {
                let message =
                    "That code is not right: type the six digits your app shows now, or a recovery code.";
                (Status::Unauthorized, FieldErrors::from([("code".to_owned(), message.to_owned())]), None)
            }
            Error::Throttled { retry_after_secs } => {
                let minutes = retry_after_secs.div_ceil(60);
                let message = format!("Too many failed attempts. Try again in {minutes} minutes.");
                (Status::TooManyRequests, on_form(message), Some(retry_after_secs))
            }
            Error::Busy { retry_after_secs } => {
                let message = "Too many people are signing in right now. Try again in a moment.".to_owned();
                (Status::ServiceUnavailable, on_form(message), Some(retry_after_secs))
            }
            error @ (Error::NotFound(_)
            | Error::StaleVersion
            | Error::Forbidden
            | Error::Unauthenticated(_)
            | Error::SecondStep(_)
            | Error::Unavailable
            | Error::OutcomeUnknown
            | Error::Internal(_)) => return Err(error),
        };
        Ok(FormRefusal { status, errors, retry_after })
    }

    /// The form's page, rendered with [`FormRefusal::errors`], sent back.
    pub fn send_back(&self, page: Template) -> SentBack {
        SentBack { status: self.status, page, retry_after: self.retry_after }
    }
}

/// A form page sent back with its status (422, 409, 429, ...) and what was
/// typed, with `Retry-After` when the wait is known.
pub struct SentBack {
    status: Status,
    page: Template,
    retry_after: Option<u64>,
}

impl SentBack {
    pub fn new(status: Status, page: Template) -> SentBack {
        SentBack { status, page, retry_after: None }
    }
}

impl<'r> rocket::response::Responder<'r, 'static> for SentBack {
    fn respond_to(self, request: &'r Request<'_>) -> rocket::response::Result<'static> {
        let mut response = (self.status, self.page).respond_to(request)?;
        if let Some(seconds) = self.retry_after {
            response.set_header(Header::new("Retry-After", seconds.to_string()));
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthFailure;

    #[test]
    fn errors_map_to_statuses_once() {
        let cases = [
            (Error::NotFound("store"), 404),
            (Error::invalid("page", "must be a number"), 400),
            (Error::Conflict("dup".into()), 409),
            (Error::StaleVersion, 409),
            (Error::Forbidden, 403),
            (Error::Unauthenticated(AuthFailure::Revoked), 401),
            (Error::Throttled { retry_after_secs: 3 }, 429),
            (Error::Unavailable, 503),
            (Error::OutcomeUnknown, 503),
            (Error::Busy { retry_after_secs: 1 }, 503),
            (Error::Internal("boom".into()), 500),
        ];
        for (error, status) in cases {
            assert_eq!(PageError::from(error).status().code, status);
        }
        assert!(PageError::from(Error::OutcomeUnknown).outcome_unknown);
        assert!(!PageError::from(Error::Unavailable).outcome_unknown);
    }

    #[test]
    fn forms_show_what_was_typed_wrong_and_nothing_else() {
        let refusal = |error| FormRefusal::of(error, "name");
        let invalid = refusal(Error::invalid("price", "must be a number")).unwrap();
        assert_eq!((invalid.status.code, invalid.errors["price"].as_str()), (422, "must be a number"));
        let taken = refusal(Error::Conflict("That name is taken.".into())).unwrap();
        assert_eq!((taken.status.code, taken.errors["name"].as_str()), (422, "That name is taken."));
        let wrong = refusal(Error::Unauthenticated(AuthFailure::InvalidCredentials)).unwrap();
        assert_eq!((wrong.status.code, wrong.errors["form"].as_str()), (401, "Invalid email or password."));
        let throttled = refusal(Error::Throttled { retry_after_secs: 61 }).unwrap();
        assert_eq!((throttled.status.code, throttled.retry_after), (429, Some(61)));
        assert!(throttled.errors["form"].contains("2 minutes"));
        assert_eq!(refusal(Error::Busy { retry_after_secs: 1 }).unwrap().status.code, 503);
        for (error, status) in [
            (Error::Unavailable, 503),
            (Error::NotFound("store"), 404),
            (Error::StaleVersion, 409),
            (Error::Forbidden, 403),
            (Error::Unauthenticated(AuthFailure::Revoked), 401),
            (Error::Internal("boom".into()), 500),
        ] {
            assert_eq!(refusal(error).unwrap_err().status().code, status);
        }
    }
}
