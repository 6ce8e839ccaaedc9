//! Failed logins, kept in the database so that every instance throttles
//! alike. A failure is counted by the account and the client address, or,
//! when the client proved an earlier login with a device token, by that
//! device alone.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};

use crate::schema::login_failures;

pub struct LoginFailure;

/// Who made an attempt, as far as throttling is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Attempter<'a> {
    /// The account as typed, normalised.
    pub account: &'a str,
    pub client: &'a str,
    /// The id of a device token valid for this account, if one was shown.
    pub device: Option<&'a str>,
}

/// How many failures counted, and when the oldest of them was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: i64,
    pub oldest: Option<DateTime<Utc>>,
}

/// The failures an attempt is judged by.
#[derive(Debug, Clone, Copy, Default)]
pub struct FailureCounts {
    /// Of clients without a device token, for the account, in the window.
    pub account: Tally,
    /// The same over the last hour, whatever the window.
    pub account_hour: Tally,
    /// Of clients without a device token, from this client address, in the window.
    pub client: Tally,
    /// Of this device, in the window.
    pub device: Tally,
}

#[derive(QueryableByName)]
struct CountsRow {
    #[diesel(sql_type = BigInt)]
    account: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    account_oldest: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    account_hour: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    account_hour_oldest: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    client: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    client_oldest: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    device: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    device_oldest: Option<DateTime<Utc>>,
}

/// One statement for all four tallies; each part is served by an index.
const COUNTS: &str = "\
    SELECT \
      count(*) FILTER (WHERE device IS NULL AND account = $1 AND at > $4) AS account, \
      min(at)  FILTER (WHERE device IS NULL AND account = $1 AND at > $4) AS account_oldest, \
      count(*) FILTER (WHERE device IS NULL AND account = $1 AND at > $5) AS account_hour, \
      min(at)  FILTER (WHERE device IS NULL AND account = $1 AND at > $5) AS account_hour_oldest, \
      count(*) FILTER (WHERE device IS NULL AND client = $2 AND at > $4) AS client, \
      min(at)  FILTER (WHERE device IS NULL AND client = $2 AND at > $4) AS client_oldest, \
      count(*) FILTER (WHERE device = $3 AND at > $4) AS device, \
      min(at)  FILTER (WHERE device = $3 AND at > $4) AS device_oldest \
    FROM login_failures \
    WHERE at > LEAST($4, $5) AND (account = $1 OR client = $2 OR device = $3)";

impl LoginFailure {
    /// The failures that count against `who` since `window_start`, and for
    /// the hourly cap since `hour_start`.
    pub fn count(
        conn: &mut PgConnection,
        who: Attempter<'_>,
        window_start: DateTime<Utc>,
        hour_start: DateTime<Utc>,
    ) -> QueryResult<FailureCounts> {
        let row: CountsRow = diesel::sql_query(COUNTS)
            .bind::<Text, _>(who.account)
            .bind::<Text, _>(who.client)
            .bind::<Nullable<Text>, _>(who.device)
            .bind::<Timestamptz, _>(window_start)
            .bind::<Timestamptz, _>(hour_start)
            .get_result(conn)?;
        Ok(FailureCounts {
            account: Tally { count: row.account, oldest: row.account_oldest },
            account_hour: Tally { count: row.account_hour, oldest: row.account_hour_oldest },
            client: Tally { count: row.client, oldest: row.client_oldest },
            device: Tally { count: row.device, oldest: row.device_oldest },
        })
    }

    pub fn record(conn: &mut PgConnection, who: Attempter<'_>) -> QueryResult<usize> {
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::account.eq(who.account),
                login_failures::client.eq(who.client),
                login_failures::device.eq(who.device),
            ))
            .execute(conn)
    }

    /// After a successful login from a device, its own failures are forgiven.
    /// Those of other clients are not: the owner logging in must not give an
    /// attacker a fresh allowance.
    pub fn forget_device(conn: &mut PgConnection, device: &str) -> QueryResult<usize> {
        diesel::delete(login_failures::table.filter(login_failures::device.eq(device))).execute(conn)
    }

    /// Deletes failures older than `before`, which no limit looks at any more.
    pub fn delete_before(conn: &mut PgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
        diesel::delete(login_failures::table.filter(login_failures::at.lt(before))).execute(conn)
    }
}
