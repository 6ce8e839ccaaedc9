//! Numbered pages for the HTML lists ("Showing 21–40 of 135"), public and
//! admin alike. The API pages by cursor instead (`api::pagination`).

use serde::Serialize;

pub const PER_PAGE: i64 = 20;

/// Where a numbered page starts.
#[derive(Debug, Clone, Copy)]
pub struct PageNumber(pub i64);

impl PageNumber {
    /// Page 1 for anything that is not a positive number.
    pub fn from_query(raw: Option<&str>) -> PageNumber {
        PageNumber(
            raw.and_then(|r| r.parse::<i64>().ok()).filter(|&n| (1..=100_000).contains(&n)).unwrap_or(1),
        )
    }

    pub fn offset(self) -> i64 {
        (self.0 - 1) * PER_PAGE
    }
}

/// What the pagination bar shows.
#[derive(Debug, Serialize)]
pub struct Paging {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    pub first: i64,
    pub last: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
    /// `total` is the planner's estimate, not a count.
    pub approximate: bool,
}

impl Paging {
    /// `base` is the list's URL with its other parameters; `page=` is appended.
    pub fn new(page: PageNumber, shown: usize, total: i64, base: &str) -> Paging {
        let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
        let first = if shown == 0 { 0 } else { page.offset() + 1 };
        let last = page.offset() + shown as i64;
        let link = |n: i64| with_param(base, "page", n);
        Paging {
            page: page.0,
            pages,
            total,
            first,
            last,
            prev: (page.0 > 1).then(|| link(page.0 - 1)),
            next: (last < total).then(|| link(page.0 + 1)),
            approximate: false,
        }
    }

    /// Like [`Paging::new`] for a total that may be an estimate. With an
    /// estimate, a full page always offers a next one.
    pub fn of_total(page: PageNumber, shown: usize, total: crate::models::Total, base: &str) -> Paging {
        let mut paging = Paging::new(page, shown, total.count.max(page.offset() + shown as i64), base);
        if total.approximate {
            paging.approximate = true;
            if shown as i64 == PER_PAGE && paging.next.is_none() {
                paging.next = Some(with_param(base, "page", page.0 + 1));
            }
        }
        paging
    }
}

/// `base` (a path, with or without a query) with `name=value` added to its
/// query; `value` must not need escaping (a number, a sort key).
pub fn with_param(base: &str, name: &str, value: impl std::fmt::Display) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{name}={value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rows_shown_from_one() {
        let paging = Paging::new(PageNumber(2), 20, 135, "/search?q=a");
        assert_eq!((paging.first, paging.last, paging.total, paging.pages), (21, 40, 135, 7));
        assert_eq!(paging.prev.as_deref(), Some("/search?q=a&page=1"));
        assert_eq!(paging.next.as_deref(), Some("/search?q=a&page=3"));
        let empty = Paging::new(PageNumber(1), 0, 0, "/");
        assert_eq!((empty.first, empty.last, empty.prev, empty.next), (0, 0, None, None));
        let last = Paging::new(PageNumber(7), 15, 135, "/");
        assert_eq!((last.first, last.last, last.next), (121, 135, None));
    }

    #[test]
    fn odd_page_numbers_mean_the_first() {
        for raw in [None, Some("0"), Some("-3"), Some("x"), Some("99999999999")] {
            assert_eq!(PageNumber::from_query(raw).0, 1);
        }
        assert_eq!(PageNumber::from_query(Some("3")).offset(), 40);
    }
}
