//! Imports of items from CSV files, and what their previews found row by row.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::text_enum;
use crate::schema::{import_rows, imports};

/// Where an import stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub enum ImportState {
    /// The file is read; its columns wait to be mapped.
    Uploaded,
    Previewing,
    Previewed,
    Applying,
    Applied,
    /// The last step failed (`message` says why); nothing was applied.
    Failed,
    Cancelled,
}

text_enum!(ImportState {
    Uploaded => "uploaded",
    Previewing => "previewing",
    Previewed => "previewed",
    Applying => "applying",
    Applied => "applied",
    Failed => "failed",
    Cancelled => "cancelled",
});

impl ImportState {
    /// Whether a step is at work.
    pub fn working(self) -> bool {
        matches!(self, ImportState::Previewing | ImportState::Applying)
    }
}

/// How rows find the items they change.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub enum MatchBy {
    /// By the `id` column; rows without one are new items.
    Id,
    /// By store and name (ignoring case); rows naming no item of their store are new.
    Name,
}

text_enum!(MatchBy { Id => "id", Name => "name" });

/// What the preview found for a row.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub enum Outcome {
    New,
    Changed,
    Unchanged,
    Refused,
}

text_enum!(Outcome { New => "new", Changed => "changed", Unchanged => "unchanged", Refused => "refused" });

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = imports, check_for_backend(diesel::pg::Pg))]
pub struct Import {
    pub id: i64,
    pub user_id: i64,
    pub file_name: String,
    pub delimiter: String,
    pub header: serde_json::Value,
    pub mapping: serde_json::Value,
    pub match_by: MatchBy,
    pub create_tags: bool,
    pub state: ImportState,
    pub rows_total: i32,
    pub rows_done: i32,
    pub counts: serde_json::Value,
    pub message: Option<String>,
    pub heartbeat: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl Import {
    /// The byte between the file's cells.
    pub fn delimiter_byte(&self) -> u8 {
        self.delimiter.as_bytes().first().copied().unwrap_or(b',')
    }

    /// What the last preview or apply counted.
    pub fn counted(&self) -> Counts {
        serde_json::from_value(self.counts.clone()).unwrap_or_default()
    }
}

#[derive(Insertable)]
#[diesel(table_name = imports)]
pub struct NewImport<'a> {
    pub user_id: i64,
    pub file_name: &'a str,
    pub source: &'a [u8],
    pub delimiter: &'a str,
    pub header: serde_json::Value,
    pub mapping: serde_json::Value,
    pub rows_total: i32,
}

/// A row's outcome as the preview records it.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = import_rows, check_for_backend(diesel::pg::Pg))]
pub struct ImportRow {
    pub import_id: i64,
    pub line: i32,
    pub outcome: Outcome,
    pub item_id: Option<i64>,
    pub item_version: Option<i32>,
    pub details: serde_json::Value,
}

/// The counts of a finished preview or apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub new: i32,
    pub changed: i32,
    pub unchanged: i32,
    pub refused: i32,
}

impl Counts {
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::New => self.new += 1,
            Outcome::Changed => self.changed += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Refused => self.refused += 1,
        }
    }
}

impl NewImport<'_> {
    pub fn insert(&self, conn: &mut PgConnection) -> QueryResult<Import> {
        diesel::insert_into(imports::table).values(self).returning(Import::as_returning()).get_result(conn)
    }
}

impl Import {
    /// The import `id` of `user_id`.
    pub fn find_of(conn: &mut PgConnection, id: i64, user_id: i64) -> QueryResult<Import> {
        imports::table
            .filter(imports::id.eq(id))
            .filter(imports::user_id.eq(user_id))
            .select(Import::as_select())
            .first(conn)
    }

    /// The latest imports of `user_id`, newest first.
    pub fn recent_of(conn: &mut PgConnection, user_id: i64, limit: i64) -> QueryResult<Vec<Import>> {
        imports::table
            .filter(imports::user_id.eq(user_id))
            .order(imports::id.desc())
            .limit(limit)
            .select(Import::as_select())
            .load(conn)
    }

    /// The file of an import still to apply.
    pub fn source(conn: &mut PgConnection, id: i64) -> QueryResult<Option<Vec<u8>>> {
        imports::table.find(id).select(imports::source).first(conn)
    }

    /// Moves the import from one of `from` to `to`, with a fresh heartbeat
    /// and no message; `false` when it was in none of them (another
    /// request moved it first).
    pub fn start(
        conn: &mut PgConnection,
        id: i64,
        from: &[ImportState],
        to: ImportState,
    ) -> QueryResult<bool> {
        let moved = diesel::update(imports::table.find(id).filter(imports::state.eq_any(from)))
            .set((
                imports::state.eq(to),
                imports::rows_done.eq(0),
                imports::message.eq(None::<String>),
                imports::heartbeat.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        Ok(moved == 1)
    }

    /// Sets the mapping and options a preview reads the file with.
    pub fn set_mapping(
        conn: &mut PgConnection,
        id: i64,
        mapping: serde_json::Value,
        match_by: MatchBy,
        create_tags: bool,
    ) -> QueryResult<usize> {
        diesel::update(imports::table.find(id))
            .set((
                imports::mapping.eq(mapping),
                imports::match_by.eq(match_by),
                imports::create_tags.eq(create_tags),
            ))
            .execute(conn)
    }

    /// How far the step at work has come (and that it is alive).
    pub fn progress(conn: &mut PgConnection, id: i64, done: i32) -> QueryResult<usize> {
        diesel::update(imports::table.find(id))
            .set((imports::rows_done.eq(done), imports::heartbeat.eq(diesel::dsl::now)))
            .execute(conn)
    }

    /// Ends the step at work: `state`, the counts found, and why it failed.
    pub fn finish(
        conn: &mut PgConnection,
        id: i64,
        state: ImportState,
        counts: Counts,
        message: Option<&str>,
    ) -> QueryResult<usize> {
        let keep_source = !matches!(state, ImportState::Applied | ImportState::Cancelled);
        diesel::update(imports::table.find(id))
            .set((
                imports::state.eq(state),
                imports::rows_done.eq(imports::rows_total),
                imports::counts.eq(serde_json::to_value(counts).unwrap_or_default()),
                imports::message.eq(message),
            ))
            .execute(conn)?;
        if !keep_source {
            diesel::update(imports::table.find(id)).set(imports::source.eq(None::<Vec<u8>>)).execute(conn)?;
        }
        Ok(1)
    }

    /// Deletes the imports made before `before` that no step works on, with
    /// their files and rows.
    pub fn delete_before(conn: &mut PgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
        let working = [ImportState::Previewing, ImportState::Applying];
        diesel::delete(
            imports::table.filter(imports::created_at.lt(before)).filter(imports::state.ne_all(working)),
        )
        .execute(conn)
    }

    /// Deletes the imports of `user_id` beyond its newest `keep` that no
    /// step works on: what one account keeps stays bounded.
    pub fn keep_newest(conn: &mut PgConnection, user_id: i64, keep: i64) -> QueryResult<usize> {
        let newest: Vec<i64> = imports::table
            .filter(imports::user_id.eq(user_id))
            .order(imports::id.desc())
            .limit(keep)
            .select(imports::id)
            .load(conn)?;
        let working = [ImportState::Previewing, ImportState::Applying];
        diesel::delete(
            imports::table
                .filter(imports::user_id.eq(user_id))
                .filter(imports::id.ne_all(newest))
                .filter(imports::state.ne_all(working)),
        )
        .execute(conn)
    }

    /// Marks the import failed with `message`, whatever step it was at.
    pub fn fail(conn: &mut PgConnection, id: i64, message: &str) -> QueryResult<usize> {
        diesel::update(imports::table.find(id))
            .set((imports::state.eq(ImportState::Failed), imports::message.eq(message)))
            .execute(conn)
    }
}

impl ImportRow {
    /// Forgets what an earlier preview found.
    pub fn clear(conn: &mut PgConnection, import_id: i64) -> QueryResult<usize> {
        diesel::delete(import_rows::table.filter(import_rows::import_id.eq(import_id))).execute(conn)
    }

    /// Inserts them all, a thousand a statement.
    pub fn insert_all(conn: &mut PgConnection, rows: &[ImportRow]) -> QueryResult<usize> {
        rows.chunks(1000).try_fold(0, |sum, chunk| {
            Ok(sum + diesel::insert_into(import_rows::table).values(chunk).execute(conn)?)
        })
    }

    /// The rows of lines `from..=to`, by line.
    pub fn lines(conn: &mut PgConnection, import_id: i64, from: i32, to: i32) -> QueryResult<Vec<ImportRow>> {
        import_rows::table
            .filter(import_rows::import_id.eq(import_id))
            .filter(import_rows::line.between(from, to))
            .order(import_rows::line.asc())
            .select(ImportRow::as_select())
            .load(conn)
    }

    /// The first `limit` rows of one outcome after line `after`, by line.
    pub fn with_outcome(
        conn: &mut PgConnection,
        import_id: i64,
        outcome: Outcome,
        after: i32,
        limit: i64,
    ) -> QueryResult<Vec<ImportRow>> {
        import_rows::table
            .filter(import_rows::import_id.eq(import_id))
            .filter(import_rows::outcome.eq(outcome))
            .filter(import_rows::line.gt(after))
            .order(import_rows::line.asc())
            .limit(limit)
            .select(ImportRow::as_select())
            .load(conn)
    }
}
