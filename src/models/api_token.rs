//! Personal access tokens: created from the account page, stored only as a
//! hash, used as bearer tokens until they expire or are revoked.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::schema::api_tokens;

/// A personal access token. Only the SHA-256 of its secret is stored; the
/// prefix lets its owner recognise it in a list.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::pg::Pg))]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    #[diesel(column_name = token_hash)]
    _token_hash: Vec<u8>,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub token_hash: &'a [u8],
    pub prefix: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }

    pub fn find_by_hash(conn: &mut PgConnection, hash: &[u8]) -> QueryResult<Option<ApiToken>> {
        api_tokens::table
            .filter(api_tokens::token_hash.eq(hash))
            .select(ApiToken::as_select())
            .first(conn)
            .optional()
    }

    /// The user's tokens, newest first.
    /// How many tokens of the users of `user_ids` are not revoked.
    pub fn count_unrevoked_of(conn: &mut PgConnection, user_ids: &[i64]) -> QueryResult<i64> {
        api_tokens::table
            .filter(api_tokens::user_id.eq_any(user_ids))
            .filter(api_tokens::revoked_at.is_null())
            .count()
            .get_result(conn)
    }

    pub fn of_user(conn: &mut PgConnection, user_id: i64) -> QueryResult<Vec<ApiToken>> {
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
            .select(ApiToken::as_select())
            .load(conn)
    }

    /// Records a use, at most once a minute to spare writes.
    pub fn touch(conn: &mut PgConnection, token: &ApiToken) -> QueryResult<usize> {
        let a_minute_ago = Utc::now() - chrono::Duration::minutes(1);
        if token.last_used_at.is_some_and(|used| used >= a_minute_ago) {
            return Ok(0);
        }
        diesel::update(
            api_tokens::table
                .find(token.id)
                .filter(api_tokens::last_used_at.is_null().or(api_tokens::last_used_at.lt(a_minute_ago))),
        )
        .set(api_tokens::last_used_at.eq(diesel::dsl::now))
        .execute(conn)
    }

    /// Revokes one of the user's tokens. Returns whether it was live.
    pub fn revoke(conn: &mut PgConnection, user_id: i64, id: i64) -> QueryResult<bool> {
        let updated = diesel::update(
            api_tokens::table
                .find(id)
                .filter(api_tokens::user_id.eq(user_id))
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(diesel::dsl::now))
        .execute(conn)?;
        Ok(updated == 1)
    }

    pub fn revoke_all_of(conn: &mut PgConnection, user_id: i64) -> QueryResult<usize> {
        diesel::update(
            api_tokens::table
                .filter(api_tokens::user_id.eq(user_id))
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
    }
}

impl NewApiToken<'_> {
    pub fn insert(&self, conn: &mut PgConnection) -> QueryResult<ApiToken> {
        diesel::insert_into(api_tokens::table)
            .values(self)
            .returning(ApiToken::as_returning())
            .get_result(conn)
    }
}
