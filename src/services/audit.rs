//! Audit records, written by every change in the same transaction as the change.

use diesel::PgConnection;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::models::NewAuditEntry;
use crate::policy::Actor;

/// Which fields a change touched, each with its value before and after.
#[derive(Debug, Default)]
pub struct Changes(Map<String, Value>);

impl Changes {
    pub fn new() -> Changes {
        Changes::default()
    }

    /// Records `field` going from `from` to `to`; `None` on either side means
    /// the object did not exist before or does not after. Unchanged fields of
    /// an update are left out.
    pub fn field<T: Serialize + PartialEq>(mut self, field: &str, from: Option<T>, to: Option<T>) -> Changes {
        if from.is_some() && to.is_some() && from == to {
            return self;
        }
        let mut entry = Map::new();
        if let Some(from) = from {
            entry.insert("from".into(), serde_json::to_value(from).unwrap_or(Value::Null));
        }
        if let Some(to) = to {
            entry.insert("to".into(), serde_json::to_value(to).unwrap_or(Value::Null));
        }
        self.0.insert(field.to_owned(), Value::Object(entry));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Writes one audit record. `actor` is `None` for changes with no signed-in
/// user behind them (the command line).
pub fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: i64,
    changes: Changes,
) -> Result<(), Error> {
    NewAuditEntry {
        actor_id: Some(actor.user_id),
        via: actor.via,
        action,
        entity,
        entity_id,
        changes: Value::Object(changes.0),
    }
    .insert(conn)?;
    Ok(())
}
