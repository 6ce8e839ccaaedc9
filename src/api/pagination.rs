//! `limit` and `cursor` query parameters, opaque cursors and `Link` URLs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rocket::http::uri::Origin;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::FieldErrors;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// Reads `limit`: 1 to 200, 50 when absent.
pub fn limit(raw: Option<&str>, errors: &mut FieldErrors) -> i64 {
    match raw.map(str::parse::<i64>) {
        None => DEFAULT_LIMIT,
        Some(Ok(limit)) if (1..=MAX_LIMIT).contains(&limit) => limit,
        Some(_) => {
            errors.insert("limit".into(), format!("must be an integer from 1 to {MAX_LIMIT}"));
            DEFAULT_LIMIT
        }
    }
}

/// Decodes a cursor made by [`encode`]; a foreign or damaged one is an error.
pub fn decode<T: DeserializeOwned>(raw: Option<&str>, errors: &mut FieldErrors) -> Option<T> {
    let raw = raw?;
    let decoded = URL_SAFE_NO_PAD.decode(raw).ok().and_then(|bytes| serde_json::from_slice::<T>(&bytes).ok());
    if decoded.is_none() {
        errors.insert("cursor".into(), "is not a cursor this list gave out".into());
    }
    decoded
}

pub fn encode<T: Serialize>(position: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default())
}

/// The request's own URL with `cursor` replaced, for `Link: <...>; rel="next"`.
pub fn next_url(uri: &Origin<'_>, cursor: &str) -> String {
    let mut query: Vec<String> = uri
        .query()
        .map(|q| {
            q.as_str()
                .split('&')
                .filter(|pair| !pair.is_empty() && !pair.starts_with("cursor="))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    query.push(format!("cursor={cursor}"));
    format!("{}?{}", uri.path(), query.join("&"))
}

/// The position after the last row of a page of ids, if the page was full.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct AfterId {
    pub id: i64,
}

/// Lists ask for one row beyond the page: whether it came back tells if
/// there is a next page, so that a page holding exactly `limit` rows does not
/// link to an empty one. Returns the page and whether more follow.
pub fn split_page<T>(mut rows: Vec<T>, limit: i64) -> (Vec<T>, bool) {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > limit;
    rows.truncate(limit);
    (rows, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded() {
        let mut errors = FieldErrors::new();
        assert_eq!(limit(None, &mut errors), 50);
        assert_eq!(limit(Some("200"), &mut errors), 200);
        assert!(errors.is_empty());
        for bad in ["0", "-1", "201", "abc", "1.5", ""] {
            let mut errors = FieldErrors::new();
            limit(Some(bad), &mut errors);
            assert!(errors.contains_key("limit"), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let mut errors = FieldErrors::new();
        let cursor = encode(&AfterId { id: 42 });
        assert_eq!(decode::<AfterId>(Some(&cursor), &mut errors).map(|c| c.id), Some(42));
        assert_eq!(decode::<AfterId>(Some("!!"), &mut errors).map(|c| c.id), None);
        assert!(errors.contains_key("cursor"));
    }

    #[test]
    fn a_page_has_more_only_when_the_extra_row_came_back() {
        assert_eq!(split_page(vec![1, 2, 3], 2), (vec![1, 2], true));
        assert_eq!(split_page(vec![1, 2], 2), (vec![1, 2], false));
        assert_eq!(split_page(Vec::<i32>::new(), 2), (vec![], false));
    }

    #[test]
    fn next_url_replaces_the_cursor_and_keeps_filters() {
        let uri = Origin::parse("/api/items?store_id=1&cursor=old&tag_id=2").unwrap();
        assert_eq!(next_url(&uri, "new"), "/api/items?store_id=1&tag_id=2&cursor=new");
        let bare = Origin::parse("/api/stores").unwrap();
        assert_eq!(next_url(&bare, "c"), "/api/stores?cursor=c");
    }

    proptest::proptest! {
        #[test]
        fn any_cursor_is_decoded_or_refused_without_a_panic(raw in "\\PC{0,200}") {
            let mut errors = FieldErrors::new();
            let decoded = decode::<AfterId>(Some(&raw), &mut errors);
            proptest::prop_assert_eq!(decoded.is_none(), errors.contains_key("cursor"));
        }

        #[test]
        fn cursors_round_trip(id in proptest::prelude::any::<i64>()) {
            let mut errors = FieldErrors::new();
            let decoded = decode::<AfterId>(Some(&encode(&AfterId { id })), &mut errors);
            proptest::prop_assert_eq!(decoded.map(|a| a.id), Some(id));
        }
    }
}
