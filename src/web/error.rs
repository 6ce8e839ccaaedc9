//! The HTML error surface: every domain error as the status of an error page,
//! rendered by the catchers of `public`. The one mapping of the browser side,
//! as `api::Problem` is the API's.

use rocket::http::Status;
use rocket::request::Request;

use crate::error::Error;

/// A page that could not be shown: the status and the page that says why.
#[derive(Debug)]
pub struct PageError(Status);

impl PageError {
    pub fn status(&self) -> Status {
        self.0
    }
}

impl From<Error> for PageError {
    fn from(error: Error) -> PageError {
        PageError(match error {
            Error::NotFound(_) => Status::NotFound,
            // A page's own input (a query parameter) it cannot show; forms
            // handle their field errors before they get here.
            Error::Invalid(_) => Status::BadRequest,
            Error::Conflict(_) | Error::StaleVersion => Status::Conflict,
            Error::Forbidden => Status::Forbidden,
            Error::Unauthenticated(_) => Status::Unauthorized,
            Error::Throttled { .. } => Status::TooManyRequests,
            Error::Unavailable | Error::Busy { .. } => Status::ServiceUnavailable,
            Error::Internal(cause) => {
                tracing::error!("page failed: {cause}");
                Status::InternalServerError
            }
        })
    }
}

impl<'r> rocket::response::Responder<'r, 'static> for PageError {
    fn respond_to(self, _: &'r Request<'_>) -> rocket::response::Result<'static> {
        Err(self.0)
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
            (Error::Busy { retry_after_secs: 1 }, 503),
            (Error::Internal("boom".into()), 500),
        ];
        for (error, status) in cases {
            assert_eq!(PageError::from(error).status().code, status);
        }
    }
}
