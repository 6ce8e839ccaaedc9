//! Users, their role (member, staff, admin) and whether they may log in.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};

use super::{lower, order_by, text_enum, ListQuery, Total};
use crate::schema::users;
use crate::text::like_pattern_containing;

/// What a user may do; see `policy` for the rules.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Staff,
    Admin,
}

text_enum!(Role { Member => "member", Staff => "staff", Admin => "admin" });

#[derive(Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: i64,
    pub email: String,
    /// Private so that it can only be read through `password_hash()`, which
    /// only the authentication code calls.
    password_hash: String,
    pub role: Role,
    pub is_active: bool,
    pub tokens_valid_after: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What an edit is based on: random, new at every change of the row.
    pub version: i64,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("is_active", &self.is_active)
            .finish_non_exhaustive()
    }
}

/// Which users an admin list shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
}

impl User {
    pub(crate) fn password_hash(&self) -> &str {
        &self.password_hash
    }

    pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<User> {
        users::table.find(id).select(User::as_select()).first(conn)
    }

    /// The users of `ids` that exist, by email.
    pub fn find_all(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<User>> {
        users::table
            .filter(users::id.eq_any(ids))
            .order((users::email.asc(), users::id.asc()))
            .select(User::as_select())
            .load(conn)
    }

    pub fn find_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(lower(users::email).eq(lower(email)))
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    pub fn count(conn: &mut PgConnection) -> QueryResult<i64> {
        users::table.count().get_result(conn)
    }

    /// Sets a new password hash and refuses every token issued before now.
    pub fn set_password_hash(conn: &mut PgConnection, id: i64, hash: &str) -> QueryResult<User> {
        diesel::update(users::table.find(id))
            .set((
                users::password_hash.eq(hash),
                users::tokens_valid_after.eq(diesel::dsl::now),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .returning(User::as_returning())
            .get_result(conn)
    }

    /// The admin list: users whose email contains the search, optionally of one role.
    pub fn admin_list(
        conn: &mut PgConnection,
        list: &ListQuery,
        filter: UserFilter,
    ) -> QueryResult<(Vec<User>, Total)> {
        let filtered = || {
            let mut query = users::table.into_boxed();
            if let Some(search) = &list.search {
                query = query.filter(users::email.ilike(like_pattern_containing(search)));
            }
            if let Some(role) = filter.role {
                query = query.filter(users::role.eq(role));
            }
            if let Some(active) = filter.is_active {
                query = query.filter(users::is_active.eq(active));
            }
            query
        };
        let total = list.total(
            conn,
            "users",
            list.search.is_some() || filter.role.is_some() || filter.is_active.is_some(),
            |conn| filtered().count().get_result(conn),
        )?;
        let query = match list.after {
            Some(after) => filtered().filter(users::id.gt(after)).order(users::id.asc()),
            None => order_by!(filtered(), list.sort, users::id, {
                Email => users::email,
                Role => users::role,
                CreatedAt => users::created_at,
            }),
        };
        let rows = query.offset(list.offset).limit(list.limit).select(User::as_select()).load(conn)?;
        Ok((rows, total))
    }

    /// Changes role and activity; deactivating also refuses every token
    /// issued so far.
    pub fn set_role_and_activity(
        conn: &mut PgConnection,
        id: i64,
        role: Role,
        active: bool,
    ) -> QueryResult<User> {
        let update = diesel::update(users::table.find(id));
        if active {
            update
                .set((
                    users::role.eq(role),
                    users::is_active.eq(true),
                    users::updated_at.eq(diesel::dsl::now),
                ))
                .returning(User::as_returning())
                .get_result(conn)
        } else {
            update
                .set((
                    users::role.eq(role),
                    users::is_active.eq(false),
                    users::tokens_valid_after.eq(diesel::dsl::now),
                    users::updated_at.eq(diesel::dsl::now),
                ))
                .returning(User::as_returning())
                .get_result(conn)
        }
    }

    /// The email and role of each of the given users, in one query.
    pub fn identities(
        conn: &mut PgConnection,
        ids: &[i64],
    ) -> QueryResult<std::collections::HashMap<i64, (String, Role)>> {
        let rows: Vec<(i64, String, Role)> = users::table
            .filter(users::id.eq_any(ids))
            .select((users::id, users::email, users::role))
            .load(conn)?;
        Ok(rows.into_iter().map(|(id, email, role)| (id, (email, role))).collect())
    }

    /// The emails of the given users, in one query.
    pub fn emails(
        conn: &mut PgConnection,
        ids: &[i64],
    ) -> QueryResult<std::collections::HashMap<i64, String>> {
        let rows: Vec<(i64, String)> =
            users::table.filter(users::id.eq_any(ids)).select((users::id, users::email)).load(conn)?;
        Ok(rows.into_iter().collect())
    }

    pub fn lock(conn: &mut PgConnection, id: i64) -> QueryResult<User> {
        users::table.find(id).select(User::as_select()).for_update().first(conn)
    }

    pub fn delete(conn: &mut PgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(users::table.find(id)).execute(conn)
    }
}

impl NewUser<'_> {
    pub fn insert(&self, conn: &mut PgConnection) -> QueryResult<User> {
        diesel::insert_into(users::table).values(self).returning(User::as_returning()).get_result(conn)
    }
}

/// The unique index behind "one account per email, ignoring case".
pub const EMAIL_KEY: &str = "users_email_key";
