//! Integration tests of the JSON API against a real PostgreSQL: every test
//! runs the whole application on a database of its own.

mod harness;

mod accounts;
mod docs;
mod errors;
mod items;
mod stores;
mod tags;
mod tokens;
