//! The pages: public, account, and their security.

mod account;
mod pages;
mod passkeys;
mod security;
mod sessions;
mod two_step;
mod webhooks;
