//! Passkeys (WebAuthn, through `webauthn-rs`) as a second step of signing
//! in: the ceremonies that add one to an account and that sign in with one.
//! Each ceremony starts with options for the browser's
//! `navigator.credentials` and a state the server keeps; it ends when the
//! browser's answer (JSON, as `PublicKeyCredential.toJSON()` writes it)
//! checks out against that state. Where the state is kept is the caller's
//! business (`services::two_step` keeps it in the database, once).

use webauthn_rs::prelude::{
    AuthenticationResult, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

/// Why a ceremony failed, in words for the person holding the passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The site passkeys are made for: its origin and, as WebAuthn's relying
/// party id, its host name. Browsers refuse passkeys for a bare IP address.
#[derive(Clone)]
pub struct RelyingParty {
    webauthn: Webauthn,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty").finish_non_exhaustive()
    }
}

/// A ceremony begun: what the browser needs, and what the server keeps.
pub struct Started {
    /// `publicKey` options for `navigator.credentials`, as JSON.
    pub options: serde_json::Value,
    /// The challenge and what may answer it, to keep until the answer.
    pub state: serde_json::Value,
}

impl RelyingParty {
    /// The relying party of the site at `site_url` (`https://shop.example.org`).
    pub fn at(site_url: &str) -> Result<RelyingParty, Refusal> {
        let unavailable = || {
            Refusal(
                "Passkeys need this site to be reached by its name (such as localhost), not by an IP address."
                    .to_owned(),
            )
        };
        let origin = Url::parse(site_url).map_err(|_| unavailable())?;
        let id = origin.domain().ok_or_else(unavailable)?.to_owned();
        let webauthn = WebauthnBuilder::new(&id, &origin)
            .and_then(|builder| builder.rp_name("Storefront").build())
            .map_err(|_| unavailable())?;
        Ok(RelyingParty { webauthn })
    }

    /// Begins adding a passkey to account `user_id` (known to the
    /// authenticator as `email`), leaving out those it already has.
    pub fn start_registration(
        &self,
        user_id: i64,
        email: &str,
        existing: &[Passkey],
    ) -> Result<Started, Refusal> {
        let exclude = existing.iter().map(|passkey| passkey.cred_id().clone()).collect::<Vec<_>>();
        let (challenge, state) = self
            .webauthn
            .start_passkey_registration(user_handle(user_id), email, email, Some(exclude))
            .map_err(|error| Refusal(format!("The passkey could not be started: {error}.")))?;
        Ok(Started { options: to_json(&challenge.public_key)?, state: to_json(&state)? })
    }

    /// Ends adding a passkey: the new credential, when `answer` (the
    /// browser's JSON) answers the challenge kept in `state`.
    pub fn finish_registration(&self, answer: &str, state: &serde_json::Value) -> Result<Passkey, Refusal> {
        let answer: RegisterPublicKeyCredential = serde_json::from_str(answer)
            .map_err(|_| Refusal("The browser's answer is not a passkey's.".to_owned()))?;
        let state: PasskeyRegistration = from_json(state)?;
        self.webauthn
            .finish_passkey_registration(&answer, &state)
            .map_err(|error| Refusal(format!("The passkey was not accepted: {error}.")))
    }

    /// Begins signing in with one of `passkeys`.
    pub fn start_sign_in(&self, passkeys: &[Passkey]) -> Result<Started, Refusal> {
        let (challenge, state) = self
            .webauthn
            .start_passkey_authentication(passkeys)
            .map_err(|error| Refusal(format!("Signing in with a passkey could not start: {error}.")))?;
        Ok(Started { options: to_json(&challenge.public_key)?, state: to_json(&state)? })
    }

    /// Ends signing in: what the passkey proved, when `answer` answers the
    /// challenge kept in `state`.
    pub fn finish_sign_in(
        &self,
        answer: &str,
        state: &serde_json::Value,
    ) -> Result<AuthenticationResult, Refusal> {
        let answer: PublicKeyCredential = serde_json::from_str(answer)
            .map_err(|_| Refusal("The browser's answer is not a passkey's.".to_owned()))?;
        let state: PasskeyAuthentication = from_json(state)?;
        self.webauthn
            .finish_passkey_authentication(&answer, &state)
            .map_err(|_| Refusal("That passkey did not sign in: use one added to this account.".to_owned()))
    }
}

/// The user handle of an account's passkeys: its id, which says nothing
/// about the person.
fn user_handle(user_id: i64) -> Uuid {
    Uuid::from_u64_pair(0, user_id as u64)
}

fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value, Refusal> {
    serde_json::to_value(value)
        .map_err(|error| Refusal(format!("A passkey's state could not be kept: {error}.")))
}

fn from_json<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, Refusal> {
    serde_json::from_value(value.clone())
        .map_err(|_| Refusal("That passkey ceremony is no longer understood: start again.".to_owned()))
}

/// A stored credential, as kept in the database.
pub fn stored(passkey: &Passkey) -> Result<serde_json::Value, Refusal> {
    to_json(passkey)
}

/// A credential read back from the database.
pub fn restored(value: &serde_json::Value) -> Result<Passkey, Refusal> {
    from_json(value)
}

/// The credential id of a passkey, unique among every account's.
pub fn credential_id(passkey: &Passkey) -> Vec<u8> {
    passkey.cred_id().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_reached_by_name_is_a_relying_party_and_one_by_address_is_not() {
        assert!(RelyingParty::at("http://localhost:8000").is_ok());
        assert!(RelyingParty::at("https://shop.example.org").is_ok());
        assert!(RelyingParty::at("http://127.0.0.1:8000").is_err());
        assert!(RelyingParty::at("http://[::1]:8000").is_err());
        assert!(RelyingParty::at("not a url").is_err());
    }

    #[test]
    fn a_registration_starts_with_options_for_the_browser_and_refuses_a_foreign_answer() {
        let party = RelyingParty::at("http://localhost:8000").unwrap();
        let started = party.start_registration(7, "ann@example.com", &[]).unwrap();
        assert_eq!(started.options["rp"]["id"], "localhost");
        assert_eq!(started.options["user"]["name"], "ann@example.com");
        assert_eq!(started.options["authenticatorSelection"]["userVerification"], "required");
        assert!(started.options["challenge"].as_str().is_some_and(|c| c.len() >= 43));
        let refusal = party.finish_registration("{}", &started.state).unwrap_err();
        assert_eq!(refusal.0, "The browser's answer is not a passkey's.");
        assert!(party.finish_registration("{}", &serde_json::json!({"x": 1})).is_err());
    }
}
