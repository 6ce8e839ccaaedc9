//! A panel form sent after its session ended is not lost. Instead of being
//! sent to the login page, its sender gets the login page at once, carrying
//! what was typed. Once they have logged in, the form's page shows it again,
//! filled in, for them to check and save. It works the same without
//! JavaScript.
//!
//! What was typed travels in the login form, sealed to the account whose
//! session typed it (the session cookie still names it): a signed seal that
//! only that account's login opens. Any other account logging in there, on a
//! shared computer say, gets a clean page. The draft then waits in the
//! database for the new session (`form_drafts`, one per session) until the
//! form's page takes it back. It is accepted without a CSRF token, since the
//! session that token belonged to has ended, but only from a page of this
//! site: nothing is saved until the form is sent again, signed in, with a
//! token.

use rocket::data::{Data, FromData, Limits, Outcome as DataOutcome};
use rocket::form::FromForm;
use rocket::http::{RawStr, Status};
use rocket::outcome::Outcome;
use rocket::request::{FromRequest, Request};

use super::csrf::{refused, stated_same_origin, CheckedForm, CsrfProtected};
use super::error::SentBack;
use super::layout::Layout;
use crate::auth::jwt::{TokenKeys, TokenType};
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::Error;
use crate::services::sessions;

/// The most a draft may hold, in bytes (as the table allows).
pub const MAX_DRAFT: usize = 65_536;

/// What a form held: its fields as sent (URL-encoded), without the CSRF
/// token. ASCII only, as browsers encode forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft(String);

impl Draft {
    /// The draft in a form's body, or carried back by the login form; `None`
    /// when it holds nothing or is not what a browser sends.
    pub fn parse(body: &str) -> Option<Draft> {
        if body.len() > MAX_DRAFT || !body.bytes().all(|byte| byte.is_ascii_graphic()) {
            return None;
        }
        let fields: Vec<&str> = body
            .split('&')
            .filter(|field| !field.is_empty() && field.split('=').next() != Some("csrf_token"))
            .collect();
        (!fields.is_empty()).then(|| Draft(fields.join("&")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form `T` the draft was made of, if it still is one.
    pub fn form<T: for<'a> FromForm<'a> + 'static>(&self) -> Option<T> {
        rocket::form::Form::<T>::parse_encoded(RawStr::new(&self.0)).ok()
    }

    /// What seals bind the draft by.
    fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(self.0.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// The draft carried back by a login form with its `seal`, if the seal
    /// is genuine, unexpired, for this very draft, and for `user_id`: the
    /// account that has just logged in.
    pub fn unseal(body: &str, seal: &str, keys: &TokenKeys, user_id: i64) -> Option<Draft> {
        let draft = Draft::parse(body)?;
        let claims = keys.verify(seal, TokenType::Draft).ok()?;
        (claims.user_id().ok() == Some(user_id) && claims.jti == draft.digest()).then_some(draft)
    }
}

/// A draft and the seal that binds it to the account whose session typed it.
#[derive(Debug, Clone)]
pub struct SealedDraft {
    pub draft: Draft,
    pub seal: String,
}

impl SealedDraft {
    /// The login page, there and then, that brings its sender back to the
    /// form's `page` with the draft.
    pub fn log_in_again(self, layout: Layout, config: &AppConfig, page: String) -> SentBack {
        SentBack::new(Status::Unauthorized, super::account::login_page(layout, config, page, Some(self)))
    }
}

/// Keeps the draft for the session just opened, and says where to go to
/// see it: the form's `page`, asked to take it back.
pub async fn keep(db: &Db, session_id: i64, page: String, draft: Draft) -> Result<String, Error> {
    let back = super::with_param(&page, "draft", 1);
    db.run(move |conn| sessions::keep_draft(conn, session_id, &page, draft.as_str())).await?;
    Ok(back)
}

/// A panel form: sent by whom `G` lets in, CSRF-checked, or sent from this
/// site after the browser's session ended, as typed.
pub enum Resumable<G, T> {
    Sent(G, T),
    SessionEnded(SealedDraft),
}

#[rocket::async_trait]
impl<'r, G, T> FromData<'r> for Resumable<G, T>
where
    G: FromRequest<'r, Error = ()> + Send + 'r,
    T: FromForm<'r> + CsrfProtected + Send + 'r,
{
    type Error = ();

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> DataOutcome<'r, Self, ()> {
        match request.guard::<G>().await {
            Outcome::Success(who) => match CheckedForm::<T>::from_data(request, data).await {
                Outcome::Success(form) => Outcome::Success(Resumable::Sent(who, form.0)),
                Outcome::Error(error) => Outcome::Error(error),
                Outcome::Forward(forward) => Outcome::Forward(forward),
            },
            Outcome::Error((status, ())) if status == Status::Unauthorized => {
                match typed(request, data).await {
                    Ok(draft) => Outcome::Success(Resumable::SessionEnded(draft)),
                    Err(status) => Outcome::Error((status, ())),
                }
            }
            Outcome::Error(error) => Outcome::Error(error),
            Outcome::Forward(status) => Outcome::Forward((data, status)),
        }
    }
}

/// What a form sent without a session held, sealed to the account whose
/// session ended. Refused (403) unless it says it comes from this site; with
/// nothing to keep, or no ended session to keep it for, the usual 401 (the
/// login page).
async fn typed(request: &Request<'_>, data: Data<'_>) -> Result<SealedDraft, Status> {
    if !stated_same_origin(request) {
        refused(request, "no session, not from this site");
        return Err(Status::Forbidden);
    }
    if !request.content_type().is_some_and(|kind| kind.is_form()) {
        return Err(Status::Unauthorized);
    }
    let limit = request.limits().get("form").unwrap_or(Limits::FORM);
    let body = match data.open(limit).into_string().await {
        Ok(body) if body.is_complete() => body.into_inner(),
        Ok(_) => return Err(Status::PayloadTooLarge),
        Err(_) => return Err(Status::BadRequest),
    };
    let draft = Draft::parse(&body).ok_or(Status::Unauthorized)?;
    let owner = super::session::cookie_owner(request).ok_or(Status::Unauthorized)?;
    let keys = request.rocket().state::<TokenKeys>().ok_or(Status::Unauthorized)?;
    let seal = keys.draft_seal(owner, draft.digest()).map_err(|_| Status::Unauthorized)?;
    Ok(SealedDraft { draft, seal })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_keeps_the_fields_but_not_the_token() {
        let draft = Draft::parse("csrf_token=secret&name=Caf%C3%A9+Noir&version=3&&csrf_token&price=2.50");
        assert_eq!(draft.map(|d| d.0), Some("name=Caf%C3%A9+Noir&version=3&price=2.50".to_owned()));
    }

    #[test]
    fn a_draft_is_what_a_browser_sends_or_nothing() {
        assert_eq!(Draft::parse(""), None);
        assert_eq!(Draft::parse("csrf_token=secret"), None);
        assert_eq!(Draft::parse("name=a b"), None, "spaces come encoded");
        assert_eq!(Draft::parse("name=\u{0}"), None);
        assert_eq!(Draft::parse("name=Café"), None, "non-ASCII comes encoded");
        assert_eq!(Draft::parse(&format!("name={}", "a".repeat(MAX_DRAFT))), None);
    }

    #[derive(FromForm, Debug, PartialEq)]
    struct Named {
        name: String,
    }

    #[test]
    fn a_draft_gives_back_its_form_decoded() {
        let draft = Draft::parse("name=Caf%C3%A9+Noir").unwrap();
        assert_eq!(draft.form::<Named>(), Some(Named { name: "Café Noir".to_owned() }));
    }
}
