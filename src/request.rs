//! Guards for what every request carries, shared by the three surfaces:
//! path ids, the client's address and its user agent.

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
