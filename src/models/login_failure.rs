use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::schema::login_failures;

/// Failed logins, kept in the database so that every instance throttles alike.
pub struct LoginFailure;

impl LoginFailure {
    /// Failures since `since` for the account and for the client, and the
    /// oldest of them that counts towards the larger of the two limits.
    pub fn count_since(
        conn: &mut PgConnection,
        account: &str,
        client: &str,
        since: DateTime<Utc>,
    ) -> QueryResult<FailureCounts> {
        let for_account = login_failures::table
            .filter(login_failures::account.eq(account))
            .filter(login_failures::at.gt(since));
        let for_client = login_failures::table
            .filter(login_failures::client.eq(client))
            .filter(login_failures::at.gt(since));
        let (account_count, account_oldest) = for_account
            .select((diesel::dsl::count_star(), diesel::dsl::min(login_failures::at)))
            .first::<(i64, Option<DateTime<Utc>>)>(conn)?;
        let (client_count, client_oldest) = for_client
            .select((diesel::dsl::count_star(), diesel::dsl::min(login_failures::at)))
            .first::<(i64, Option<DateTime<Utc>>)>(conn)?;
        Ok(FailureCounts { account_count, account_oldest, client_count, client_oldest })
    }

    pub fn record(conn: &mut PgConnection, account: &str, client: &str) -> QueryResult<usize> {
        diesel::insert_into(login_failures::table)
            .values((login_failures::account.eq(account), login_failures::client.eq(client)))
            .execute(conn)
    }

    /// Forgets failures older than `before`, and after a successful login
    /// those of the account.
    pub fn forget(
        conn: &mut PgConnection,
        account: Option<&str>,
        before: DateTime<Utc>,
    ) -> QueryResult<usize> {
        let old =
            diesel::delete(login_failures::table.filter(login_failures::at.lt(before))).execute(conn)?;
        let mine = match account {
            Some(account) => {
                diesel::delete(login_failures::table.filter(login_failures::account.eq(account)))
                    .execute(conn)?
            }
            None => 0,
        };
        Ok(old + mine)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct FailureCounts {
    pub account_count: i64,
    pub account_oldest: Option<DateTime<Utc>>,
    pub client_count: i64,
    pub client_oldest: Option<DateTime<Utc>>,
}
