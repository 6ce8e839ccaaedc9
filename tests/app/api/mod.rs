//! The JSON API under /api.

mod accounts;
mod cors;
mod docs;
mod errors;
mod headers;
mod idempotency;
mod images;
mod items;
mod rate_limits;
mod search;
mod stores;
mod tags;
mod throttling;
mod tokens;
mod webhooks;
