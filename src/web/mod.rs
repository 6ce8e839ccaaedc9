//! The browser side: public pages, account pages, their session cookie and
//! CSRF protection, security headers and HTML error pages.

mod account;
mod csrf;
mod error;
mod headers;
mod layout;
mod paging;
mod public;
mod remembered;
mod resume;
pub(crate) mod session;

use rocket::fairing::AdHoc;

pub use csrf::{CheckedForm, CsrfProtected};
pub use error::{FormRefusal, PageError, SentBack};
pub use layout::Layout;
pub use paging::{with_param, Listing, PageNumber, Paging, PAGE_SIZES, PER_PAGE};
pub use resume::{Draft, Resumable};
pub use session::{device_cookie, session_cookie, WebUser};

/// Mounts the pages, the stylesheet and the HTML catchers.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Web pages", |rocket| async {
        rocket
            .attach(crate::assets::stage())
            .attach(headers::SecurityHeaders)
            .mount("/", public::routes())
            .mount("/account", account::routes())
            .register("/", public::catchers())
    })
}
