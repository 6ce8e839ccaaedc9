//! Panel forms sent after their session had ended, each kept for the session
//! its sender logged in with next (at most one per session), until the form's
//! page takes it back.

use diesel::prelude::*;

use crate::schema::form_drafts;

pub struct FormDraft;

impl FormDraft {
    /// Keeps `body` for the session, in place of any draft it had.
    pub fn keep(conn: &mut PgConnection, session_id: i64, page: &str, body: &str) -> QueryResult<usize> {
        diesel::insert_into(form_drafts::table)
            .values((
                form_drafts::session_id.eq(session_id),
                form_drafts::page.eq(page),
                form_drafts::body.eq(body),
            ))
            .on_conflict(form_drafts::session_id)
            .do_update()
            .set((
                form_drafts::page.eq(page),
                form_drafts::body.eq(body),
                form_drafts::created_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
    }

    /// Removes and returns the session's draft of `page`, if it has one.
    pub fn take(conn: &mut PgConnection, session_id: i64, page: &str) -> QueryResult<Option<String>> {
        diesel::delete(
            form_drafts::table
                .filter(form_drafts::session_id.eq(session_id))
                .filter(form_drafts::page.eq(page)),
        )
        .returning(form_drafts::body)
        .get_result(conn)
        .optional()
    }
}
