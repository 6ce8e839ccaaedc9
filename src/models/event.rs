//! The events table: one row per committed change to the catalogue, numbered
//! after its commit, in the order rows become visible, by the cluster's
//! sequencer (`crate::events::sequencer`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::text_enum;
use crate::schema::events;

/// What happened, as clients see it in the `event:` field of the stream.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub enum EventKind {
    StoreCreated,
    StoreUpdated,
    StoreDeleted,
    ItemCreated,
    ItemUpdated,
    ItemTagsChanged,
    ItemDeleted,
    TagCreated,
    TagUpdated,
    TagDeleted,
}

text_enum!(EventKind {
    StoreCreated => "store.created",
    StoreUpdated => "store.updated",
    StoreDeleted => "store.deleted",
    ItemCreated => "item.created",
    ItemUpdated => "item.updated",
    ItemTagsChanged => "item.tags_changed",
    ItemDeleted => "item.deleted",
    TagCreated => "tag.created",
    TagUpdated => "tag.updated",
    TagDeleted => "tag.deleted",
});

impl EventKind {
    pub const ALL: [EventKind; 10] = [
        EventKind::StoreCreated,
        EventKind::StoreUpdated,
        EventKind::StoreDeleted,
        EventKind::ItemCreated,
        EventKind::ItemUpdated,
        EventKind::ItemTagsChanged,
        EventKind::ItemDeleted,
        EventKind::TagCreated,
        EventKind::TagUpdated,
        EventKind::TagDeleted,
    ];
}

/// A committed and numbered event. Rows the sequencer has not numbered yet
/// are never read as events (`id > n` and `max(id)` leave them out).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub struct StoredEvent {
    #[diesel(select_expression = events::id.assume_not_null())]
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    pub entity_id: i64,
    pub store_id: i64,
    pub object: Option<serde_json::Value>,
    /// The primary's WAL position when it was numbered (bytes from `0/0`):
    /// its change is in the WAL before it. `None` for events numbered
    /// before positions were recorded.
    pub lsn: Option<i64>,
}

/// An event to publish: its row is numbered by the sequencer once the
/// transaction has committed, and never exists if it rolls back.
#[derive(Debug, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent {
    pub kind: EventKind,
    pub entity_id: i64,
    pub store_id: i64,
    pub object: Option<serde_json::Value>,
    /// Who made the change.
    pub actor_id: Option<i64>,
}

impl NewEvent {
    pub fn insert(&self, conn: &mut PgConnection) -> QueryResult<usize> {
        diesel::insert_into(events::table).values(self).execute(conn)
    }

    /// Inserts them all, in order, a thousand a statement.
    pub fn insert_all(conn: &mut PgConnection, events: &[NewEvent]) -> QueryResult<usize> {
        events.chunks(1000).try_fold(0, |sum, chunk| {
            Ok(sum + diesel::insert_into(events::table).values(chunk).execute(conn)?)
        })
    }
}

/// The ids the table holds, oldest and newest; `None` when it is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRange {
    pub oldest: i64,
    pub newest: i64,
}

/// How far the numbered events reach, whether committed ones still wait for
/// their number, and where in the primary's WAL a replica must have replayed
/// to before it may serve one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Horizon {
    /// The newest id, `0` when there is none.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub newest: i64,
    /// Committed events the sequencer has not numbered yet.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub pending: bool,
    /// The WAL position (bytes from `0/0`) that every change the client
    /// made is before: the position recorded with its newest event, or
    /// the primary's current one while that event waits for its number.
    /// For an unknown client (`None`), the current position: everything
    /// committed so far.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub written: i64,
}

impl Horizon {
    /// Where the events stand as of now (this statement's snapshot), and
    /// where the changes of `client` end. Asked of the primary.
    pub fn now(conn: &mut PgConnection, client: Option<i64>) -> QueryResult<Horizon> {
        diesel::sql_query(
            "SELECT coalesce((SELECT max(id) FROM events), 0) AS newest, \
             EXISTS (SELECT 1 FROM events WHERE id IS NULL) AS pending, \
             CASE WHEN $1::bigint IS NULL \
                    OR EXISTS (SELECT 1 FROM events WHERE id IS NULL AND actor_id = $1) \
                  THEN (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint \
                  ELSE coalesce((SELECT lsn FROM events WHERE actor_id = $1 AND id IS NOT NULL \
                                 ORDER BY id DESC LIMIT 1), 0) \
             END AS written",
        )
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>, _>(client)
        .get_result(conn)
    }
}

impl StoredEvent {
    /// Up to `limit` events after `after`, in order, optionally of one store.
    pub fn after(
        conn: &mut PgConnection,
        after: i64,
        store_id: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<StoredEvent>> {
        let mut query =
            events::table.filter(events::id.gt(after)).order(events::id).limit(limit).into_boxed();
        if let Some(store_id) = store_id {
            query = query.filter(events::store_id.eq(store_id));
        }
        query.select(StoredEvent::as_select()).load(conn)
    }

    pub fn range(conn: &mut PgConnection) -> QueryResult<Option<EventRange>> {
        let (oldest, newest) = events::table
            .select((diesel::dsl::min(events::id), diesel::dsl::max(events::id)))
            .get_result::<(Option<i64>, Option<i64>)>(conn)?;
        Ok(oldest.zip(newest).map(|(oldest, newest)| EventRange { oldest, newest }))
    }

    /// Deletes the events before the first one of `before` or later (by id,
    /// which grows with time), always keeping the newest, so that the table
    /// tells how far back it reaches. Walks the ids from the oldest: the
    /// table needs no index on time, which every change would pay for.
    pub fn prune(conn: &mut PgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
        diesel::sql_query(
            "DELETE FROM events WHERE id < coalesce( \
                 (SELECT min(id) FROM events WHERE id IS NOT NULL AND at >= $1), \
                 (SELECT max(id) FROM events))",
        )
        .bind::<diesel::sql_types::Timestamptz, _>(before)
        .execute(conn)
    }
}
