//! Integration tests against a real PostgreSQL: every test runs the whole
//! application on a database of its own, through Rocket's local client.

mod harness;

mod admin;
mod api;
mod live;
mod outage;
mod pictures;
mod process;
mod web;
