//! Second steps of signing in: authenticator apps and passkeys, recovery
//! codes, and the passkey ceremonies under way.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::schema::{passkey_ceremonies, recovery_codes, second_factors};

/// What a second step is.
pub const APP: &str = "totp";
pub const PASSKEY: &str = "passkey";

/// An authenticator app (`kind` [`APP`], with its `secret`) or a passkey
/// ([`PASSKEY`], with its public credential) of an account. An app's
/// secret never leaves the server once it is added; `Debug` leaves it out.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = second_factors, check_for_backend(diesel::pg::Pg))]
pub struct SecondFactor {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    pub name: String,
    pub secret: Option<Vec<u8>>,
    pub last_step: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub passkey: Option<serde_json::Value>,
}

impl std::fmt::Debug for SecondFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondFactor")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

#[derive(Insertable)]
#[diesel(table_name = second_factors)]
pub struct NewSecondFactor<'a> {
    pub user_id: i64,
    pub kind: &'a str,
    pub name: &'a str,
    pub secret: Option<&'a [u8]>,
    pub last_step: Option<i64>,
    pub passkey: Option<&'a serde_json::Value>,
    pub credential_id: Option<&'a [u8]>,
}

impl NewSecondFactor<'_> {
    pub fn insert(&self, conn: &mut PgConnection) -> QueryResult<SecondFactor> {
        diesel::insert_into(second_factors::table)
            .values(self)
            .returning(SecondFactor::as_returning())
            .get_result(conn)
    }
}

impl SecondFactor {
    /// An account's apps and passkeys, oldest first; with `lock`, locked
    /// until the end of the transaction (so that one code is taken once).
    pub fn of_user(conn: &mut PgConnection, user_id: i64, lock: bool) -> QueryResult<Vec<SecondFactor>> {
        let query = second_factors::table
            .filter(second_factors::user_id.eq(user_id))
            .order(second_factors::id.asc())
            .select(SecondFactor::as_select());
        if lock {
            query.for_update().load(conn)
        } else {
            query.load(conn)
        }
    }

    /// Whether the account has a second step.
    pub fn any_of(conn: &mut PgConnection, user_id: i64) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(second_factors::table.filter(second_factors::user_id.eq(user_id))))
            .get_result(conn)
    }

    /// Keeps a passkey's credential as its last use left it (its counter).
    pub fn passkey_used(conn: &mut PgConnection, id: i64, passkey: &serde_json::Value) -> QueryResult<usize> {
        diesel::update(second_factors::table.find(id))
            .set((second_factors::passkey.eq(passkey), second_factors::last_used_at.eq(diesel::dsl::now)))
            .execute(conn)
    }

    /// Records the step of a code taken.
    pub fn used(conn: &mut PgConnection, id: i64, step: i64) -> QueryResult<usize> {
        diesel::update(second_factors::table.find(id))
            .set((second_factors::last_step.eq(step), second_factors::last_used_at.eq(diesel::dsl::now)))
            .execute(conn)
    }

    /// Removes one of the account's apps or passkeys; how many went (0 or 1).
    pub fn delete(conn: &mut PgConnection, user_id: i64, id: i64) -> QueryResult<usize> {
        diesel::delete(second_factors::table.find(id).filter(second_factors::user_id.eq(user_id)))
            .execute(conn)
    }

    /// Removes every app and passkey of the account.
    pub fn delete_all(conn: &mut PgConnection, user_id: i64) -> QueryResult<usize> {
        diesel::delete(second_factors::table.filter(second_factors::user_id.eq(user_id))).execute(conn)
    }
}

/// Recovery codes, kept as hashes.
pub struct RecoveryCode;

impl RecoveryCode {
    /// Replaces the account's codes with these hashes.
    pub fn replace(conn: &mut PgConnection, user_id: i64, hashes: &[String]) -> QueryResult<usize> {
        RecoveryCode::delete_all(conn, user_id)?;
        let rows: Vec<_> = hashes
            .iter()
            .map(|hash| (recovery_codes::user_id.eq(user_id), recovery_codes::code_hash.eq(hash)))
            .collect();
        diesel::insert_into(recovery_codes::table).values(rows).execute(conn)
    }

    /// Takes the unused code of this hash: `true` once, `false` ever after.
    pub fn take(conn: &mut PgConnection, user_id: i64, hash: &str) -> QueryResult<bool> {
        let taken = diesel::update(
            recovery_codes::table.find((user_id, hash)).filter(recovery_codes::used_at.is_null()),
        )
        .set(recovery_codes::used_at.eq(diesel::dsl::now))
        .execute(conn)?;
        Ok(taken == 1)
    }

    /// How many unused codes the account has.
    pub fn left(conn: &mut PgConnection, user_id: i64) -> QueryResult<i64> {
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::used_at.is_null())
            .count()
            .get_result(conn)
    }

    pub fn delete_all(conn: &mut PgConnection, user_id: i64) -> QueryResult<usize> {
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn)
    }
}

/// A passkey ceremony under way: the challenge sent to an account's
/// browser, answered once (or never, and then forgotten).
pub struct PasskeyCeremony;

/// What a ceremony is for.
pub const REGISTER: &str = "register";
pub const SIGN_IN: &str = "sign_in";

impl PasskeyCeremony {
    /// Keeps the `state` of a new ceremony of the account's, which replaces
    /// any other of the same `purpose`; its id.
    pub fn begin(
        conn: &mut PgConnection,
        user_id: i64,
        purpose: &str,
        state: &serde_json::Value,
        expires_at: DateTime<Utc>,
    ) -> QueryResult<i64> {
        let next_id = diesel::dsl::sql::<diesel::sql_types::BigInt>("nextval('passkey_ceremonies_id_seq')");
        diesel::insert_into(passkey_ceremonies::table)
            .values((
                passkey_ceremonies::user_id.eq(user_id),
                passkey_ceremonies::purpose.eq(purpose),
                passkey_ceremonies::state.eq(state),
                passkey_ceremonies::expires_at.eq(expires_at),
            ))
            .on_conflict((passkey_ceremonies::user_id, passkey_ceremonies::purpose))
            .do_update()
            .set((
                passkey_ceremonies::id.eq(next_id),
                passkey_ceremonies::state.eq(state),
                passkey_ceremonies::expires_at.eq(expires_at),
            ))
            .returning(passkey_ceremonies::id)
            .get_result(conn)
    }

    /// Ends ceremony `id` of the account, if it is still under way: its
    /// state, this once.
    pub fn take(
        conn: &mut PgConnection,
        id: i64,
        user_id: i64,
        purpose: &str,
    ) -> QueryResult<Option<serde_json::Value>> {
        diesel::delete(
            passkey_ceremonies::table
                .find(id)
                .filter(passkey_ceremonies::user_id.eq(user_id))
                .filter(passkey_ceremonies::purpose.eq(purpose))
                .filter(passkey_ceremonies::expires_at.gt(diesel::dsl::now)),
        )
        .returning(passkey_ceremonies::state)
        .get_result(conn)
        .optional()
    }

    /// Forgets ceremonies nobody finished; how many.
    pub fn delete_expired(conn: &mut PgConnection) -> QueryResult<usize> {
        diesel::delete(passkey_ceremonies::table.filter(passkey_ceremonies::expires_at.le(diesel::dsl::now)))
            .execute(conn)
    }
}
