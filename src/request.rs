//! Guards for what every request carries, shared by the three surfaces:
//! path ids, the client's address and its user agent, and the site's own
//! address for absolute links; and reading an uploaded file.

use rocket::outcome::Outcome;
use rocket::request::{self, FromParam, FromRequest, Request};

/// A positive database id in a path. Anything else is a 422.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Id(pub i64);

impl<'a> FromParam<'a> for Id {
    type Error = &'a str;

    fn from_param(param: &'a str) -> Result<Self, Self::Error> {
        match param.parse::<i64>() {
            Ok(id) if id > 0 && !param.starts_with('+') => Ok(Id(id)),
            _ => Err(param),
        }
    }
}

/// The client's address as the deployment trusts it (`ip_header` in
/// `Rocket.toml` names the proxy's header; by default none is trusted).
pub struct ClientAddress(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientAddress {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let address = request.client_ip().map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        Outcome::Success(ClientAddress(address))
    }
}

/// The `User-Agent` header, if any.
pub struct UserAgent(pub Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for UserAgent {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        Outcome::Success(UserAgent(request.headers().get_one("User-Agent").map(str::to_owned)))
    }
}

/// The scheme and host clients reach this site at, for absolute links:
/// `public_url` when set, else the request's `Host`, by the scheme the
/// request arrived with: the trusted proxy's `X-Forwarded-Proto` where
/// `ip_header` says there is a proxy, else plain HTTP (Rocket itself serves
/// no TLS here).
pub fn site_url(request: &Request<'_>) -> String {
    let config = request.rocket().state::<crate::config::AppConfig>();
    if let Some(url) = config.and_then(|c| c.public_url.as_deref()).filter(|url| !url.is_empty()) {
        return url.trim_end_matches('/').to_owned();
    }
    let behind_proxy = request.rocket().config().ip_header.is_some();
    let forwarded =
        request.headers().get_one("X-Forwarded-Proto").map(|proto| proto.trim().to_ascii_lowercase());
    let scheme = match forwarded.as_deref() {
        Some("https") if behind_proxy => "https",
        _ => "http",
    };
    // Rocket parses `Host` from the wire; requests made in-process carry it as
    // a plain header only. Either way, only a well-formed authority is used.
    let host = request
        .host()
        .map(|host| host.to_string())
        .or_else(|| request.headers().get_one("Host").map(str::to_owned))
        .filter(|host| {
            !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{scheme}://{host}")
}

/// [`site_url`] as a guard.
pub struct SiteUrl(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SiteUrl {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        Outcome::Success(SiteUrl(site_url(request)))
    }
}

/// The bytes of an uploaded file, at most `max_bytes + 1` of them (one more
/// than allowed, so that the caller can tell a file that is too large).
pub async fn read_upload(
    file: &rocket::fs::TempFile<'_>,
    max_bytes: usize,
) -> Result<Vec<u8>, crate::error::Error> {
    use rocket::tokio::io::AsyncReadExt;
    let unreadable =
        |e: std::io::Error| crate::error::Error::Internal(format!("the upload cannot be read: {e}"));
    let mut bytes = Vec::new();
    let limit = u64::try_from(max_bytes + 1).unwrap_or(u64::MAX);
    file.open().await.map_err(unreadable)?.take(limit).read_to_end(&mut bytes).await.map_err(unreadable)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_integers() {
        assert_eq!(Id::from_param("7"), Ok(Id(7)));
        for bad in ["0", "-1", "+1", "abc", "1.0", "99999999999999999999"] {
            assert!(Id::from_param(bad).is_err(), "{bad}");
        }
    }
}
