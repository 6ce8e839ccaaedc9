//! Signed tokens, HS256 only: short-lived access tokens and long-lived
//! refresh tokens of the API, and device tokens, which a client that logged
//! in once shows at its next logins (see `flows::login`). For
//! access and refresh tokens a valid signature is not enough: the session
//! each names must also still be live (see `services::sessions`).

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::AppConfig;
use crate::error::{AuthFailure, Error};

/// Clock skew tolerated between instances, in seconds.
const LEEWAY_SECONDS: u64 = 5;
/// How long the login page may carry a draft before it is dropped.
const DRAFT_SEAL_SECONDS: i64 = 24 * 60 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
    /// Proves that this client logged in to the account before.
    Device,
    /// Binds what a form held when its session ended to the account of that
    /// session, so that only that account gets it back after logging in.
    Draft,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The session (login) the token belongs to; 0 for device tokens.
    pub sid: i64,
    pub typ: TokenType,
    /// Access tokens: issued by a login rather than a refresh.
    #[serde(default)]
    pub fresh: bool,
    /// Refresh tokens: the position in the session's refresh chain.
    #[serde(default)]
    pub gen: i32,
    /// Device tokens: the device's own random id, which its failures are
    /// counted by. Draft seals: the digest of the draft they seal.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

impl Claims {
    pub fn user_id(&self) -> Result<i64, Error> {
        self.sub.parse().map_err(|_| Error::Unauthenticated(AuthFailure::InvalidToken))
    }

    pub fn issued_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.iat, 0).unwrap_or_default()
    }
}

/// Keys and lifetimes, built once from the configuration.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_lifetime: Duration,
    pub refresh_lifetime: Duration,
    pub device_lifetime: Duration,
}

impl TokenKeys {
    pub fn new(config: &AppConfig) -> TokenKeys {
        let secret = config.jwt_secret.as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "sub"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_lifetime: Duration::minutes(config.access_token_minutes),
            refresh_lifetime: Duration::days(config.refresh_token_days),
            device_lifetime: Duration::days(config.device_token_days),
        }
    }

    pub fn access_token(&self, user_id: i64, session_id: i64, fresh: bool) -> Result<String, Error> {
        let now = Utc::now().timestamp();
        self.sign(&Claims {
            sub: user_id.to_string(),
            sid: session_id,
            typ: TokenType::Access,
            fresh,
            gen: 0,
            jti: String::new(),
            iat: now,
            nbf: now,
            exp: now + self.access_lifetime.num_seconds(),
        })
    }

    pub fn refresh_token(&self, user_id: i64, session_id: i64, generation: i32) -> Result<String, Error> {
        let now = Utc::now().timestamp();
        self.sign(&Claims {
            sub: user_id.to_string(),
            sid: session_id,
            typ: TokenType::Refresh,
            fresh: false,
            gen: generation,
            jti: String::new(),
            iat: now,
            nbf: now,
            exp: now + self.refresh_lifetime.num_seconds(),
        })
    }

    /// A new device token of the user, with a device id of its own.
    pub fn device_token(&self, user_id: i64) -> Result<String, Error> {
        let now = Utc::now().timestamp();
        self.sign(&Claims {
            sub: user_id.to_string(),
            sid: 0,
            typ: TokenType::Device,
            fresh: false,
            gen: 0,
            jti: crate::auth::random_token(16),
            iat: now,
            nbf: now,
            exp: now + self.device_lifetime.num_seconds(),
        })
    }

    /// Seals a draft (by its `digest`) to the user whose session typed it,
    /// for a day.
    pub fn draft_seal(&self, user_id: i64, digest: String) -> Result<String, Error> {
        let now = Utc::now().timestamp();
        self.sign(&Claims {
            sub: user_id.to_string(),
            sid: 0,
            typ: TokenType::Draft,
            fresh: false,
            gen: 0,
            jti: digest,
            iat: now,
            nbf: now,
            exp: now + DRAFT_SEAL_SECONDS,
        })
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| Error::Internal(format!("token signing failed: {e}")))
    }

    /// Checks signature, algorithm, `exp`, `nbf`, `iat` and type.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, Error> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => Error::Unauthenticated(AuthFailure::Expired),
                _ => Error::Unauthenticated(AuthFailure::InvalidToken),
            })?
            .claims;
        let issued_in_future = claims.iat > Utc::now().timestamp() + LEEWAY_SECONDS as i64;
        if claims.typ != expected || issued_in_future {
            return Err(Error::Unauthenticated(AuthFailure::InvalidToken));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn keys() -> TokenKeys {
        let config: AppConfig = serde_json::from_value(serde_json::json!({
            "jwt_secret": "a-test-secret-that-is-long-enough-for-hs256"
        }))
        .unwrap();
        TokenKeys::new(&config)
    }

    fn failure(result: Result<Claims, Error>) -> AuthFailure {
        match result {
            Err(Error::Unauthenticated(why)) => why,
            other => panic!("expected an authentication failure, got {other:?}"),
        }
    }

    #[test]
    fn a_token_verifies_as_its_own_type_only() {
        let keys = keys();
        let access = keys.access_token(7, 3, true).unwrap();
        let claims = keys.verify(&access, TokenType::Access).unwrap();
        assert_eq!((claims.user_id().unwrap(), claims.sid, claims.fresh), (7, 3, true));
        assert_eq!(failure(keys.verify(&access, TokenType::Refresh)), AuthFailure::InvalidToken);
        let refresh = keys.refresh_token(7, 3, 4).unwrap();
        assert_eq!(keys.verify(&refresh, TokenType::Refresh).unwrap().gen, 4);
        assert_eq!(failure(keys.verify(&refresh, TokenType::Access)), AuthFailure::InvalidToken);
        let device = keys.device_token(7).unwrap();
        let claims = keys.verify(&device, TokenType::Device).unwrap();
        assert_eq!((claims.user_id().unwrap(), claims.jti.len()), (7, 22));
        assert_ne!(claims.jti, keys.verify(&keys.device_token(7).unwrap(), TokenType::Device).unwrap().jti);
        assert_eq!(failure(keys.verify(&device, TokenType::Access)), AuthFailure::InvalidToken);
        assert_eq!(failure(keys.verify(&access, TokenType::Device)), AuthFailure::InvalidToken);
    }

    #[test]
    fn expired_future_and_tampered_tokens_are_refused() {
        let keys = keys();
        let now = Utc::now().timestamp();
        let claims = |iat: i64, nbf: i64, exp: i64| Claims {
            sub: "1".into(),
            sid: 1,
            typ: TokenType::Access,
            fresh: false,
            gen: 0,
            jti: String::new(),
            iat,
            nbf,
            exp,
        };
        let expired = keys.sign(&claims(now - 100, now - 100, now - 30)).unwrap();
        assert_eq!(failure(keys.verify(&expired, TokenType::Access)), AuthFailure::Expired);
        let not_yet = keys.sign(&claims(now, now + 60, now + 120)).unwrap();
        assert_eq!(failure(keys.verify(&not_yet, TokenType::Access)), AuthFailure::InvalidToken);
        let from_future = keys.sign(&claims(now + 60, now, now + 120)).unwrap();
        assert_eq!(failure(keys.verify(&from_future, TokenType::Access)), AuthFailure::InvalidToken);

        let token = keys.access_token(1, 1, false).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        payload["sub"] = "2".into();
        parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
        assert_eq!(failure(keys.verify(&parts.join("."), TokenType::Access)), AuthFailure::InvalidToken);
    }

    #[test]
    fn unsigned_and_other_algorithms_are_refused() {
        let keys = keys();
        let token = keys.access_token(1, 1, false).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        for header in [r#"{"alg":"none","typ":"JWT"}"#, r#"{"alg":"HS512","typ":"JWT"}"#] {
            let forged = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(header));
            assert_eq!(failure(keys.verify(&forged, TokenType::Access)), AuthFailure::InvalidToken);
        }
        assert_eq!(failure(keys.verify("not.a.token", TokenType::Access)), AuthFailure::InvalidToken);
    }

    proptest::proptest! {
        #[test]
        fn any_bearer_text_is_refused_without_a_panic(token in "\\PC{0,300}|[A-Za-z0-9_-]{1,60}\\.[A-Za-z0-9_-]{1,80}\\.[A-Za-z0-9_-]{0,60}") {
            proptest::prop_assert!(keys().verify(&token, TokenType::Access).is_err());
        }

        #[test]
        fn claims_of_any_shape_in_a_signed_token_never_panic(payload in "\\PC{0,200}") {
            let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
            let body = URL_SAFE_NO_PAD.encode(payload.as_bytes());
            let unsigned = format!("{header}.{body}");
            let key = jsonwebtoken::EncodingKey::from_secret(b"a-test-secret-that-is-long-enough-for-hs256");
            let signature = jsonwebtoken::crypto::sign(unsigned.as_bytes(), &key, Algorithm::HS256).unwrap();
            let _ = keys().verify(&format!("{unsigned}.{signature}"), TokenType::Access);
        }
    }
}
