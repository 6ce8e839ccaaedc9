//! Sessions: one per login, browser (cookie) or API (refresh token), each
//! revocable on its own, with the refresh generation that detects reuse.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::text_enum;
use crate::schema::sessions;

/// Whether a login came through the web pages (cookie) or the API (tokens).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub enum SessionKind {
    Web,
    Api,
}

text_enum!(SessionKind { Web => "web", Api => "api" });

/// One login. Tokens and cookies name their session, and every request
/// checks that it is still live, so revoking it holds on every instance.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct Session {
    pub id: i64,
    pub user_id: i64,
    pub kind: SessionKind,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub refresh_family: String,
    pub refresh_generation: i32,
    pub user_agent: Option<String>,
    /// Web sessions: the token every form must carry.
    pub csrf_token: Option<String>,
    /// Ends after this many minutes without a request (besides `expires_at`).
    pub idle_minutes: Option<i32>,
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub user_id: i64,
    pub kind: SessionKind,
    pub expires_at: DateTime<Utc>,
    pub refresh_family: &'a str,
    pub user_agent: Option<&'a str>,
    pub csrf_token: Option<&'a str>,
    pub idle_minutes: Option<i32>,
}

impl Session {
    /// Not revoked, not past its lifetime, and not idle for too long.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        let idle = self
            .idle_minutes
            .is_some_and(|minutes| self.last_seen_at + chrono::Duration::minutes(minutes.into()) <= now);
        self.revoked_at.is_none() && self.expires_at > now && !idle
    }

    pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Session> {
        sessions::table.find(id).select(Session::as_select()).first(conn)
    }

    /// The session and its account, in one query.
    pub fn find_with_user(conn: &mut PgConnection, id: i64) -> QueryResult<(Session, crate::models::User)> {
        sessions::table
            .inner_join(crate::schema::users::table)
            .filter(sessions::id.eq(id))
            .select((Session::as_select(), crate::models::User::as_select()))
            .first(conn)
    }

    /// Moves the refresh chain from `generation` to the next one, if nobody
    /// else did first. Returns whether this call did it.
    pub fn advance_refresh(conn: &mut PgConnection, id: i64, generation: i32) -> QueryResult<bool> {
        let updated = diesel::update(
            sessions::table
                .find(id)
                .filter(sessions::refresh_generation.eq(generation))
                .filter(sessions::revoked_at.is_null()),
        )
        .set((sessions::refresh_generation.eq(generation + 1), sessions::last_seen_at.eq(diesel::dsl::now)))
        .execute(conn)?;
        Ok(updated == 1)
    }

    /// Marks the session as seen, at most once a minute to spare writes
    /// (and, when the session as read was seen within the minute, without a
    /// statement).
    pub fn touch(conn: &mut PgConnection, session: &Session) -> QueryResult<usize> {
        let a_minute_ago = Utc::now() - chrono::Duration::minutes(1);
        if session.last_seen_at >= a_minute_ago {
            return Ok(0);
        }
        diesel::update(sessions::table.find(session.id).filter(sessions::last_seen_at.lt(a_minute_ago)))
            .set(sessions::last_seen_at.eq(diesel::dsl::now))
            .execute(conn)
    }

    /// The user's live sessions, newest first.
    /// How many sessions of the users of `user_ids` are live.
    pub fn count_live_of(conn: &mut PgConnection, user_ids: &[i64]) -> QueryResult<i64> {
        sessions::table
            .filter(sessions::user_id.eq_any(user_ids))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(Utc::now()))
            .count()
            .get_result(conn)
    }

    pub fn live_of(conn: &mut PgConnection, user_id: i64) -> QueryResult<Vec<Session>> {
        let now = Utc::now();
        let mut sessions = sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .order((sessions::created_at.desc(), sessions::id.desc()))
            .select(Session::as_select())
            .load(conn)?;
        sessions.retain(|session| session.is_live(now));
        Ok(sessions)
    }

    /// Deletes sessions that can no longer be used: revoked, past their
    /// lifetime, or idle for longer than they may be. Returns how many.
    pub fn delete_ended(conn: &mut PgConnection) -> QueryResult<usize> {
        diesel::sql_query(
            "DELETE FROM sessions WHERE revoked_at IS NOT NULL OR expires_at <= now() \
             OR (idle_minutes IS NOT NULL AND last_seen_at + idle_minutes * interval '1 minute' <= now())",
        )
        .execute(conn)
    }

    /// Revokes one of the user's sessions.
    pub fn revoke_of(conn: &mut PgConnection, user_id: i64, id: i64) -> QueryResult<usize> {
        diesel::update(
            sessions::table
                .find(id)
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
    }

    pub fn revoke(conn: &mut PgConnection, id: i64) -> QueryResult<usize> {
        diesel::update(sessions::table.find(id).filter(sessions::revoked_at.is_null()))
            .set(sessions::revoked_at.eq(diesel::dsl::now))
            .execute(conn)
    }

    /// Ends the user's sessions beyond the `kept` newest still unexpired.
    pub fn revoke_all_but_newest(conn: &mut PgConnection, user_id: i64, kept: i64) -> QueryResult<usize> {
        diesel::sql_query(
            "UPDATE sessions SET revoked_at = now() WHERE id IN (\
               SELECT id FROM sessions \
               WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() \
               ORDER BY created_at DESC, id DESC OFFSET $2)",
        )
        .bind::<diesel::sql_types::BigInt, _>(user_id)
        .bind::<diesel::sql_types::BigInt, _>(kept)
        .execute(conn)
    }

    /// Ends every live session of the user, except `keep` if given.
    pub fn revoke_all_of(conn: &mut PgConnection, user_id: i64, keep: Option<i64>) -> QueryResult<usize> {
        diesel::update(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::id.ne(keep.unwrap_or(0)))
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
    }
}

impl NewSession<'_> {
    pub fn insert(&self, conn: &mut PgConnection) -> QueryResult<Session> {
        diesel::insert_into(sessions::table).values(self).returning(Session::as_returning()).get_result(conn)
    }
}
