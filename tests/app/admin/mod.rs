//! The admin panel.

mod access;
mod bulk;
mod export;
mod forms;
mod imports;
mod lists;
mod owners;
mod pictures;
mod resume;
mod search;
