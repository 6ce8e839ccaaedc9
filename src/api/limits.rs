//! Hourly budgets of API clients. Every request with a bearer token counts
//! against its account's budget of writes (`POST`, `PUT`, `PATCH`,
//! `DELETE`) or of reads (`api_writes_per_hour`, `api_reads_per_hour`), and
//! every answer to it says where it stands: the IETF draft's
//! `RateLimit-Policy` and `RateLimit` fields and GitHub's `x-ratelimit-*`
//! headers. Past the budget the answer is 429 with `Retry-After`, until
//! the hour ends.
//!
//! Writes are counted in PostgreSQL, one statement each, so a budget holds
//! exactly however many instances share it. Reads are counted in each
//! instance's memory and added to the same table every two seconds, each
//! instance learning then what every instance counted: no read waits on a
//! database write, and a client spreading its reads over several instances
//! may go past its budget by what the others served in the last two
//! seconds.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rocket::http::{Method, Status};
use rocket::outcome::Outcome;
use rocket::Request;

use super::problem::Problem;
use crate::config::AppConfig;
use crate::db::Db;
use crate::models::api_bookkeeping::ApiUsage;

/// The length of a budget's window: an hour, from the top of the hour.
pub const WINDOW_SECS: i64 = 3600;
/// How often an instance adds the reads it counted to the shared table.
pub const SYNC_EVERY: Duration = Duration::from_secs(2);

/// Which budget a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Writes,
    Reads,
}

impl Budget {
    pub fn of(method: Method) -> Budget {
        match method {
            Method::Post | Method::Put | Method::Patch | Method::Delete => Budget::Writes,
            _ => Budget::Reads,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Budget::Writes => "writes",
            Budget::Reads => "reads",
        }
    }
}

/// Where a client stands against one budget, after its request counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub budget: Budget,
    pub limit: i64,
    pub used: i64,
    /// When the hour ends (Unix seconds).
    pub resets_at: i64,
    /// The request was over the budget, and not counted.
    pub refused: bool,
}

/// The start of the hour `unix` is in.
pub fn window_of(unix: i64) -> i64 {
    unix - unix.rem_euclid(WINDOW_SECS)
}

fn at(unix: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(unix, 0).single().unwrap_or_default()
}

impl Standing {
    pub fn remaining(&self) -> i64 {
        (self.limit - self.used).max(0)
    }

    /// The headers telling where the client stands, `now` being Unix seconds.
    pub fn headers(&self, now: i64) -> Vec<(&'static str, String)> {
        let name = self.budget.name();
        let seconds_left = (self.resets_at - now).max(0);
        vec![
            ("RateLimit-Policy", format!("\"{name}\";q={};w={WINDOW_SECS}", self.limit)),
            ("RateLimit", format!("\"{name}\";r={};t={seconds_left}", self.remaining())),
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining().to_string()),
            ("x-ratelimit-used", self.used.min(self.limit).to_string()),
            ("x-ratelimit-reset", self.resets_at.to_string()),
            ("x-ratelimit-resource", name.to_owned()),
        ]
    }

    /// The answer to a request over the budget.
    pub fn refusal(&self, now: i64) -> Problem {
        let seconds_left = (self.resets_at - now).max(1);
        Problem::new(
            Status::TooManyRequests,
            "rate_limited",
            format!(
                "This account has made its {} {} of this hour; more are taken in {seconds_left} seconds.",
                self.limit,
                self.budget.name()
            ),
        )
        .with_header("Retry-After", seconds_left.to_string())
    }
}

/// The reads this instance counted: those not yet added to the shared
/// table, and the totals it last learned from it, per account and hour.
#[derive(Default)]
pub struct ReadCounts {
    state: Mutex<ReadState>,
}

#[derive(Default)]
struct ReadState {
    unsent: HashMap<(i64, i64), i64>,
    known: HashMap<(i64, i64), i64>,
}

impl ReadCounts {
    /// Counts a read of `user_id` in the hour starting `window`, unless the
    /// account is at `limit`: how many it has used, and whether this one
    /// was refused.
    pub fn count(&self, user_id: i64, window: i64, limit: i64) -> (i64, bool) {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (user_id, window);
        let used = state.known.get(&key).copied().unwrap_or(0) + state.unsent.get(&key).copied().unwrap_or(0);
        if used >= limit {
            return (used, true);
        }
        *state.unsent.entry(key).or_default() += 1;
        (used + 1, false)
    }

    /// Takes the reads not yet added to the shared table.
    fn take_unsent(&self) -> Vec<(i64, i64, i64)> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.unsent.drain().map(|((user, window), count)| (user, window, count)).collect()
    }

    /// Puts back reads that could not be added.
    fn put_back(&self, unsent: Vec<(i64, i64, i64)>) {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (user, window, count) in unsent {
            *state.unsent.entry((user, window)).or_default() += count;
        }
    }

    /// Takes the totals the shared table holds, and forgets hours before
    /// `current_window`.
    fn learn(&self, totals: Vec<(i64, i64, i64)>, current_window: i64) {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (user, window, used) in totals {
            state.known.insert((user, window), used);
        }
        state.known.retain(|(_, window), _| *window >= current_window);
        state.unsent.retain(|(_, window), _| *window >= current_window);
    }

    /// Adds what this instance counted to the shared table and learns every
    /// instance's totals; the accounts it counted for.
    pub fn sync(&self, conn: &mut diesel::PgConnection) -> Result<usize, crate::error::Error> {
        let unsent = self.take_unsent();
        if unsent.is_empty() {
            return Ok(0);
        }
        let rows: Vec<_> = unsent.iter().map(|&(user, window, count)| (user, at(window), count)).collect();
        match ApiUsage::add_reads(conn, &rows) {
            Ok(totals) => {
                let totals = totals.into_iter().map(|(user, window, used)| (user, window.timestamp(), used));
                self.learn(totals.collect(), window_of(Utc::now().timestamp()));
                Ok(unsent.len())
            }
            Err(error) => {
                self.put_back(unsent);
                Err(error.into())
            }
        }
    }
}

/// Counts the request of API client `user_id` against its budget: where
/// it stands, or `None` when that budget is unlimited.
pub async fn count(request: &Request<'_>, user_id: i64) -> Result<Option<Standing>, Problem> {
    let Some(config) = request.rocket().state::<AppConfig>() else { return Ok(None) };
    let budget = Budget::of(request.method());
    let limit = match budget {
        Budget::Writes => config.api_writes_per_hour,
        Budget::Reads => config.api_reads_per_hour,
    };
    if limit == 0 {
        return Ok(None);
    }
    let window = window_of(Utc::now().timestamp());
    let (used, refused) = match budget {
        Budget::Writes => {
            let Outcome::Success(db) = request.guard::<Db>().await else {
                return Err(Problem::from(crate::error::Error::Unavailable));
            };
            match db.run(move |conn| Ok(ApiUsage::count_write(conn, user_id, at(window), limit)?)).await? {
                Some(used) => (used, false),
                None => (limit, true),
            }
        }
        Budget::Reads => match request.rocket().state::<std::sync::Arc<ReadCounts>>() {
            Some(counts) => counts.count(user_id, window, limit),
            None => return Ok(None),
        },
    };
    Ok(Some(Standing { budget, limit, used, resets_at: window + WINDOW_SECS, refused }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headers_say_where_a_client_stands() {
        let standing =
            Standing { budget: Budget::Writes, limit: 100, used: 40, resets_at: 7200, refused: false };
        let headers = standing.headers(7000);
        let get = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("RateLimit-Policy"), Some("\"writes\";q=100;w=3600"));
        assert_eq!(get("RateLimit"), Some("\"writes\";r=60;t=200"));
        assert_eq!(get("x-ratelimit-remaining"), Some("60"));
        assert_eq!(get("x-ratelimit-used"), Some("40"));
        assert_eq!(get("x-ratelimit-reset"), Some("7200"));
        assert_eq!(window_of(7199), 3600);
        assert_eq!(window_of(7200), 7200);
    }

    #[test]
    fn reads_are_counted_up_to_the_budget_and_learn_other_instances_totals() {
        let counts = ReadCounts::default();
        assert_eq!(counts.count(1, 3600, 3), (1, false));
        assert_eq!(counts.count(1, 3600, 3), (2, false));
        assert_eq!(counts.take_unsent(), vec![(1, 3600, 2)]);
        // Another instance served one more: the shared total says 3.
        counts.learn(vec![(1, 3600, 3)], 3600);
        assert_eq!(counts.count(1, 3600, 3), (3, true));
        assert_eq!(counts.count(2, 3600, 3), (1, false), "each account its own");
        counts.learn(Vec::new(), 7200);
        assert_eq!(counts.count(1, 7200, 3), (1, false), "a new hour");
    }
}
