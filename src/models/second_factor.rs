//! Second steps of signing in: authenticator apps, and recovery codes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::schema::{recovery_codes, second_factors};

/// An authenticator app of an account. Its secret never leaves the server
/// once it is added; `Debug` leaves it out.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = second_factors, check_for_backend(diesel::pg::Pg))]
pub struct SecondFactor {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub secret: Vec<u8>,
    pub last_step: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for SecondFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondFactor")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

#[derive(Insertable)]
#[diesel(table_name = second_factors)]
pub struct NewSecondFactor<'a> {
    pub user_id: i64,
    pub kind: &'a str,
    pub name: &'a str,
    pub secret: &'a [u8],
    pub last_step: Option<i64>,
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
    /// An account's apps, oldest first; with `lock`, locked until the end
    /// of the transaction (so that one code is taken once).
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

    /// Records the step of a code taken.
    pub fn used(conn: &mut PgConnection, id: i64, step: i64) -> QueryResult<usize> {
        diesel::update(second_factors::table.find(id))
            .set((second_factors::last_step.eq(step), second_factors::last_used_at.eq(diesel::dsl::now)))
            .execute(conn)
    }

    /// Removes one of the account's apps; how many went (0 or 1).
    pub fn delete(conn: &mut PgConnection, user_id: i64, id: i64) -> QueryResult<usize> {
        diesel::delete(second_factors::table.find(id).filter(second_factors::user_id.eq(user_id)))
            .execute(conn)
    }

    /// Removes every app of the account.
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
