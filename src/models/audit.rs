//! The audit log: who changed what, through which surface, with the
//! changed fields, written in the same transaction as the change.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::text_enum;
use crate::schema::audit_log;

/// The surface a change came through.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub enum Via {
    Admin,
    Api,
    Web,
    Cli,
}

text_enum!(Via { Admin => "admin", Api => "api", Web => "web", Cli => "cli" });

/// What was done.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub enum Action {
    Create,
    Update,
    Delete,
    /// Tags put on an item.
    Link,
    /// A tag taken off an item.
    Unlink,
}

text_enum!(Action {
    Create => "create",
    Update => "update",
    Delete => "delete",
    Link => "link",
    Unlink => "unlink",
});

/// The kinds of things the audit log names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub enum Entity {
    Store,
    Item,
    Tag,
    User,
}

text_enum!(Entity { Store => "store", Item => "item", Tag => "tag", User => "user" });

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::pg::Pg))]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub via: Via,
    pub action: Action,
    pub entity: Entity,
    pub entity_id: i64,
    pub changes: serde_json::Value,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry {
    pub actor_id: Option<i64>,
    pub via: Via,
    pub action: Action,
    pub entity: Entity,
    pub entity_id: i64,
    pub changes: serde_json::Value,
}

impl NewAuditEntry {
    /// Inserts them all, a thousand a statement.
    pub fn insert_all(conn: &mut PgConnection, entries: &[NewAuditEntry]) -> QueryResult<usize> {
        entries.chunks(1000).try_fold(0, |sum, chunk| {
            Ok(sum + diesel::insert_into(audit_log::table).values(chunk).execute(conn)?)
        })
    }
}

impl AuditEntry {
    /// The history of one object, newest first.
    pub fn of(
        conn: &mut PgConnection,
        entity: Entity,
        entity_id: i64,
        limit: i64,
    ) -> QueryResult<Vec<AuditEntry>> {
        audit_log::table
            .filter(audit_log::entity.eq(entity))
            .filter(audit_log::entity_id.eq(entity_id))
            .order((audit_log::at.desc(), audit_log::id.desc()))
            .limit(limit)
            .select(AuditEntry::as_select())
            .load(conn)
    }
}

impl AuditEntry {
    /// The latest changes anywhere, newest first.
    pub fn recent(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<AuditEntry>> {
        audit_log::table
            .order((audit_log::at.desc(), audit_log::id.desc()))
            .limit(limit)
            .select(AuditEntry::as_select())
            .load(conn)
    }
}
