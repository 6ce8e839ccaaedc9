//! The browser side: public pages, account pages, their session cookie and
//! CSRF protection, security headers and HTML error pages.

mod account;
mod csrf;
mod error;
mod headers;
mod layout;
mod paging;
pub mod pictures;
mod public;
mod remembered;
mod resume;
pub(crate) mod session;
mod two_step;
mod webhooks;

use rocket::fairing::AdHoc;

pub use csrf::{CheckedForm, ConfirmForm, CsrfProtected};
pub use error::{FormRefusal, PageError, SentBack};
pub use layout::Layout;
pub use paging::{with_param, Listing, PageNumber, Paging, PAGE_SIZES, PER_PAGE};
pub use resume::{Draft, Resumable};
pub use session::{device_cookie, session_cookie, WebUser};

/// Memory for pictures' bytes read once (they never change).
const PICTURE_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Mounts the pages, the stylesheet, the pictures and the HTML catchers.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Web pages", |rocket| async {
        rocket
            .attach(crate::assets::stage())
            .attach(headers::SecurityHeaders)
            .mount("/", public::routes())
            .mount("/", pictures::routes())
            .manage(pictures::PictureCache::new(PICTURE_CACHE_BYTES))
            .mount("/account", account::routes())
            .mount("/account", two_step::routes())
            .mount("/account", webhooks::routes())
            .register("/", public::catchers())
    })
}
