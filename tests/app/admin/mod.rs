//! The admin panel.

mod access;
mod bulk;
mod export;
mod forms;
mod lists;
mod owners;
mod pictures;
mod resume;
