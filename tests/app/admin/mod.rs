//! The admin panel.

mod access;
mod forms;
mod lists;
mod owners;
mod pictures;
mod resume;
