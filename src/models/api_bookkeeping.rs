//! What the API keeps about its clients' requests: the first answer to each
//! write sent with an `Idempotency-Key`, and how many requests each account
//! made in each hour.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bytea, Jsonb, Nullable, SmallInt, Text, Timestamptz};

/// An answer kept for replaying: status, the headers that matter, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's: it runs, and its answer is kept.
    Claimed,
    /// The key's request already ran: its answer.
    Answered(KeptAnswer),
    /// The key's request is still running.
    Running,
    /// The key was used for another request.
    OtherRequest,
}

#[derive(QueryableByName)]
struct ClaimRow {
    #[diesel(sql_type = Text)]
    fingerprint: String,
    #[diesel(sql_type = Nullable<SmallInt>)]
    status: Option<i16>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    headers: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<Bytea>)]
    body: Option<Vec<u8>>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    mine: bool,
}

pub struct IdempotencyKey;

impl IdempotencyKey {
    /// Claims `key` of account `user_id` for the request of `fingerprint`:
    /// a new key, one whose request was abandoned (claimed more than
    /// `abandoned_after_secs` ago without an answer: its instance died), or
    /// one older than `kept_hours`, is claimed; otherwise the key's request
    /// is there, answered or running. One statement.
    pub fn claim(
        conn: &mut PgConnection,
        user_id: i64,
        key: &str,
        fingerprint: &str,
        abandoned_after_secs: i64,
        kept_hours: i64,
    ) -> QueryResult<Claim> {
        // The upsert claims; when it claims nothing, the row as it is comes
        // back from the second part, in the same snapshot.
        let row: Option<ClaimRow> = diesel::sql_query(
            "WITH claimed AS ( \
                 INSERT INTO idempotency_keys AS k (user_id, key, fingerprint) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, key) DO UPDATE \
                     SET fingerprint = EXCLUDED.fingerprint, claimed_at = now(), \
                         status = NULL, headers = NULL, body = NULL \
                     WHERE (k.status IS NULL AND k.claimed_at < now() - make_interval(secs => $4)) \
                        OR k.claimed_at < now() - make_interval(hours => $5::int) \
                 RETURNING fingerprint, status, headers, body, true AS mine) \
             SELECT * FROM claimed \
             UNION ALL \
             SELECT fingerprint, status, headers, body, false AS mine FROM idempotency_keys \
             WHERE user_id = $1 AND key = $2 AND NOT EXISTS (SELECT 1 FROM claimed)",
        )
        .bind::<BigInt, _>(user_id)
        .bind::<Text, _>(key)
        .bind::<Text, _>(fingerprint)
        .bind::<diesel::sql_types::Double, _>(abandoned_after_secs as f64)
        .bind::<BigInt, _>(kept_hours)
        .get_result(conn)
        .optional()?;
        // Gone between the two parts (deleted as expired): running, for
        // now; the client's next retry claims it.
        let Some(row) = row else { return Ok(Claim::Running) };
        if row.mine {
            return Ok(Claim::Claimed);
        }
        if row.fingerprint != fingerprint {
            return Ok(Claim::OtherRequest);
        }
        match row.status {
            None => Ok(Claim::Running),
            Some(status) => Ok(Claim::Answered(KeptAnswer {
                status: u16::try_from(status).unwrap_or(500),
                headers: row
                    .headers
                    .and_then(|headers| serde_json::from_value(headers).ok())
                    .unwrap_or_default(),
                body: row.body.unwrap_or_default(),
            })),
        }
    }

    /// Keeps the answer of the request that claimed `key`.
    pub fn answer(
        conn: &mut PgConnection,
        user_id: i64,
        key: &str,
        answer: &KeptAnswer,
    ) -> QueryResult<usize> {
        let headers = serde_json::to_value(&answer.headers).unwrap_or_default();
        diesel::sql_query(
            "UPDATE idempotency_keys SET status = $3, headers = $4, body = $5 \
             WHERE user_id = $1 AND key = $2 AND status IS NULL",
        )
        .bind::<BigInt, _>(user_id)
        .bind::<Text, _>(key)
        .bind::<SmallInt, _>(i16::try_from(answer.status).unwrap_or(500))
        .bind::<Jsonb, _>(headers)
        .bind::<Bytea, _>(&answer.body)
        .execute(conn)
    }

    /// Lets `key` go unanswered (its request failed on the server's side),
    /// so that a retry runs again.
    pub fn release(conn: &mut PgConnection, user_id: i64, key: &str) -> QueryResult<usize> {
        diesel::sql_query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status IS NULL")
            .bind::<BigInt, _>(user_id)
            .bind::<Text, _>(key)
            .execute(conn)
    }

    /// Forgets keys claimed before `before`.
    pub fn delete_before(conn: &mut PgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
        diesel::sql_query("DELETE FROM idempotency_keys WHERE claimed_at < $1")
            .bind::<Timestamptz, _>(before)
            .execute(conn)
    }
}

#[derive(QueryableByName)]
struct Used {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Timestamptz)]
    window_start: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    used: i64,
}

pub struct ApiUsage;

impl ApiUsage {
    /// Counts one write of `user_id` in the hour starting `window`, unless
    /// `limit` are counted already: how many are, this one included, or
    /// `None` when it is over the limit. Exact whatever the instances.
    pub fn count_write(
        conn: &mut PgConnection,
        user_id: i64,
        window: DateTime<Utc>,
        limit: i64,
    ) -> QueryResult<Option<i64>> {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            used: i64,
        }
        let counted: Option<Count> = diesel::sql_query(
            "INSERT INTO api_usage AS u (user_id, kind, window_start, used) VALUES ($1, 'write', $2, 1) \
             ON CONFLICT (user_id, kind, window_start) DO UPDATE SET used = u.used + 1 WHERE u.used < $3 \
             RETURNING used",
        )
        .bind::<BigInt, _>(user_id)
        .bind::<Timestamptz, _>(window)
        .bind::<BigInt, _>(limit)
        .get_result(conn)
        .optional()?;
        Ok(counted.map(|count| count.used))
    }

    /// Adds reads counted by this instance, `(user_id, window, count)`:
    /// each account's total in each of those hours, from every instance.
    pub fn add_reads(
        conn: &mut PgConnection,
        counted: &[(i64, DateTime<Utc>, i64)],
    ) -> QueryResult<Vec<(i64, DateTime<Utc>, i64)>> {
        let users: Vec<i64> = counted.iter().map(|c| c.0).collect();
        let windows: Vec<DateTime<Utc>> = counted.iter().map(|c| c.1).collect();
        let counts: Vec<i64> = counted.iter().map(|c| c.2).collect();
        let rows: Vec<Used> = diesel::sql_query(
            "INSERT INTO api_usage AS u (user_id, kind, window_start, used) \
             SELECT n.user_id, 'read', n.window_start, n.used \
             FROM unnest($1, $2, $3) AS n (user_id, window_start, used) \
             JOIN users ON users.id = n.user_id \
             ON CONFLICT (user_id, kind, window_start) DO UPDATE SET used = u.used + EXCLUDED.used \
             RETURNING user_id, window_start, used",
        )
        .bind::<Array<BigInt>, _>(users)
        .bind::<Array<Timestamptz>, _>(windows)
        .bind::<Array<BigInt>, _>(counts)
        .load(conn)?;
        Ok(rows.into_iter().map(|row| (row.user_id, row.window_start, row.used)).collect())
    }

    /// Forgets hours that ended before `before`.
    pub fn delete_before(conn: &mut PgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
        diesel::sql_query("DELETE FROM api_usage WHERE window_start < $1")
            .bind::<Timestamptz, _>(before)
            .execute(conn)
    }
}
