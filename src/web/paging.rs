//! Numbered pages for the HTML lists ("Showing 21–40 of 135", links to the
//! first, last and nearby pages), public and admin alike. The API pages by
//! cursor instead (`api::pagination`).

use rocket::http::Status;
use rocket::response::Redirect;
use rocket_dyn_templates::Template;
use serde::Serialize;

/// Rows on a page, unless the list lets the reader choose.
pub const PER_PAGE: i64 = 20;

/// The page sizes the admin lists offer.
pub const PAGE_SIZES: [i64; 3] = [20, 50, 100];

/// Which page of a list: its number from 1, and how many rows a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageNumber {
    pub number: i64,
    pub size: i64,
}

impl PageNumber {
    /// Page 1 for anything that is not a positive number; pages of [`PER_PAGE`].
    pub fn from_query(raw: Option<&str>) -> PageNumber {
        let number =
            raw.and_then(|r| r.parse::<i64>().ok()).filter(|&n| (1..=100_000).contains(&n)).unwrap_or(1);
        PageNumber { number, size: PER_PAGE }
    }

    /// With the page size asked for, if it is one of [`PAGE_SIZES`].
    pub fn sized(self, raw: Option<&str>) -> PageNumber {
        let size = raw.and_then(|r| r.parse::<i64>().ok()).filter(|s| PAGE_SIZES.contains(s));
        PageNumber { size: size.unwrap_or(PER_PAGE), ..self }
    }

    pub fn offset(self) -> i64 {
        (self.number - 1) * self.size
    }

    pub fn limit(self) -> i64 {
        self.size
    }
}

/// A numbered link of the pagination bar.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PageLink {
    pub number: i64,
    /// `None` for the page shown.
    pub href: Option<String>,
    /// Pages are left out between the previous link and this one.
    pub gap_before: bool,
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
    /// The first page, the last, and the two on either side of this one.
    pub links: Vec<PageLink>,
    /// `total` is the planner's estimate, not a count.
    pub approximate: bool,
    /// Set when the page asked for is past the end: where the list ends.
    #[serde(skip)]
    last_page_url: Option<String>,
}

impl Paging {
    /// `base` is the list's URL with its other parameters; `page=` is appended.
    pub fn new(page: PageNumber, shown: usize, total: i64, base: &str) -> Paging {
        let size = page.size;
        let pages = ((total + size - 1) / size).max(1);
        let first = if shown == 0 { 0 } else { page.offset() + 1 };
        let last = page.offset() + shown as i64;
        let link = |n: i64| with_param(base, "page", n);
        let mut numbers: Vec<i64> = vec![1, pages];
        numbers.extend((page.number - 2)..=(page.number + 2));
        numbers.retain(|&n| (1..=pages).contains(&n));
        numbers.sort_unstable();
        numbers.dedup();
        let links = if pages > 1 {
            let mut previous = 0;
            numbers
                .into_iter()
                .map(|number| {
                    let gap_before = previous != 0 && number > previous + 1;
                    previous = number;
                    PageLink { number, href: (number != page.number).then(|| link(number)), gap_before }
                })
                .collect()
        } else {
            Vec::new()
        };
        let past_end = shown == 0 && page.number > 1;
        Paging {
            page: page.number,
            pages,
            total,
            first,
            last,
            prev: (page.number > 1).then(|| link(page.number - 1)),
            next: (last < total).then(|| link(page.number + 1)),
            links,
            approximate: false,
            last_page_url: past_end.then(|| link(pages.min(page.number - 1).max(1))),
        }
    }

    /// Like [`Paging::new`] for a total that may be an estimate. With an
    /// estimate, a full page always offers a next one, and the last page
    /// is not linked (nobody knows which it is).
    pub fn of_total(page: PageNumber, shown: usize, total: crate::models::Total, base: &str) -> Paging {
        // Rows shown prove the list reaches this far, whatever the estimate.
        let reached = if shown == 0 { 0 } else { page.offset() + shown as i64 };
        let mut paging = Paging::new(page, shown, total.count.max(reached), base);
        if total.approximate {
            paging.approximate = true;
            if shown as i64 == page.size && paging.next.is_none() {
                paging.next = Some(with_param(base, "page", page.number + 1));
            }
            paging.links.retain(|link| link.number == 1 || (link.number - page.number).abs() <= 2);
            if let Some(last) = paging.links.last() {
                paging.pages = paging.pages.max(last.number);
            }
        }
        paging
    }

    /// Where to send a reader who asked for a page past the end of the list:
    /// its last page (a list never shows "Page 5 of 4").
    pub fn past_end(&self) -> Option<&str> {
        self.last_page_url.as_deref()
    }
}

/// A page of a numbered list, or, for a page past its end, a redirect to
/// its last page.
#[derive(rocket::Responder)]
pub enum Listing {
    Page((Status, Template)),
    PastEnd(Redirect),
}

impl Listing {
    /// The page `render` makes with `paging`, unless it is past the end.
    pub fn of(paging: Paging, render: impl FnOnce(Paging) -> Template) -> Listing {
        match paging.past_end() {
            Some(last) => Listing::PastEnd(Redirect::to(last.to_owned())),
            None => Listing::Page((Status::Ok, render(paging))),
        }
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

    fn page(number: i64) -> PageNumber {
        PageNumber { number, size: PER_PAGE }
    }

    #[test]
    fn counts_rows_shown_from_one() {
        let paging = Paging::new(page(2), 20, 135, "/search?q=a");
        assert_eq!((paging.first, paging.last, paging.total, paging.pages), (21, 40, 135, 7));
        assert_eq!(paging.prev.as_deref(), Some("/search?q=a&page=1"));
        assert_eq!(paging.next.as_deref(), Some("/search?q=a&page=3"));
        assert_eq!(paging.past_end(), None);
        let empty = Paging::new(page(1), 0, 0, "/");
        assert!(empty.links.is_empty() && empty.past_end().is_none());
        assert_eq!((empty.first, empty.last, empty.prev, empty.next), (0, 0, None, None));
        let last = Paging::new(page(7), 15, 135, "/");
        assert_eq!((last.first, last.last, last.next), (121, 135, None));
    }

    #[test]
    fn links_name_the_first_the_last_and_the_neighbours() {
        let paging = Paging::new(page(6), 20, 400, "/?q=x");
        let shown: Vec<(i64, bool, bool)> =
            paging.links.iter().map(|l| (l.number, l.href.is_some(), l.gap_before)).collect();
        assert_eq!(
            shown,
            [
                (1, true, false),
                (4, true, true),
                (5, true, false),
                (6, false, false),
                (7, true, false),
                (8, true, false),
                (20, true, true)
            ]
        );
        assert_eq!(paging.links[0].href.as_deref(), Some("/?q=x&page=1"));
        let short = Paging::new(page(1), 20, 45, "/");
        assert_eq!(short.links.iter().map(|l| l.number).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn a_page_past_the_end_leads_to_the_last() {
        assert_eq!(Paging::new(page(5), 0, 80, "/a").past_end(), Some("/a?page=4"));
        assert_eq!(Paging::new(page(9), 0, 0, "/a").past_end(), Some("/a?page=1"));
        let estimated = crate::models::Total { count: 10_000, approximate: true };
        assert_eq!(Paging::of_total(page(900), 0, estimated, "/a").past_end(), Some("/a?page=500"));
        assert_eq!(Paging::of_total(page(400), 0, estimated, "/a").past_end(), Some("/a?page=399"));
    }

    #[test]
    fn odd_page_numbers_and_sizes_mean_the_defaults() {
        for raw in [None, Some("0"), Some("-3"), Some("x"), Some("99999999999")] {
            assert_eq!(PageNumber::from_query(raw).number, 1);
        }
        assert_eq!(PageNumber::from_query(Some("3")).offset(), 40);
        let fifty = PageNumber::from_query(Some("3")).sized(Some("50"));
        assert_eq!((fifty.offset(), fifty.limit()), (100, 50));
        for raw in [None, Some("7"), Some("1000"), Some("x")] {
            assert_eq!(PageNumber::from_query(None).sized(raw).size, PER_PAGE);
        }
    }
}
