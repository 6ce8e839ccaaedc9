//! One attempt at a delivery: a `POST` of the body to the endpoint's URL,
//! over HTTPS (or plain HTTP where a setting allows it), to an address the
//! name resolves to now and that is not refused (see [`super::address`]),
//! connected to directly, within a time limit, reading at most the first
//! 64 KiB of the answer. Redirects are not followed: a delivery answered
//! with one has failed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rocket::tokio::io::{AsyncRead, AsyncWrite};
use rocket::tokio::net::TcpStream;
use url::Url;

use super::address;

/// How much of an answer is read; and kept, for the delivery log.
const READ_AT_MOST: usize = 64 * 1024;
pub const KEPT_OF_ANSWER: usize = 1024;

/// What a delivery may reach.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Plain `http://` URLs too (for tests and closed networks).
    pub allow_http: bool,
    /// Loopback, private and link-local addresses too (for tests).
    pub allow_private: bool,
    /// The whole attempt, from resolving the name to the answer's end.
    pub timeout: Duration,
}

impl Rules {
    /// The rules the configuration sets.
    pub fn of(config: &crate::config::AppConfig) -> Rules {
        Rules {
            allow_http: config.webhooks_allow_http,
            allow_private: config.webhooks_allow_private,
            timeout: Duration::from_secs(config.webhook_timeout_seconds),
        }
    }
}

/// How an attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The answer's status, when one came.
    pub status: Option<u16>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The answer's first bytes, as text.
    pub response: String,
    pub duration: Duration,
}

impl Attempt {
    /// A 2xx answer delivers; anything else (a redirect included) fails.
    pub fn delivered(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|status| (200..300).contains(&status))
    }
}

/// Why a URL cannot be an endpoint's, if it cannot: checked when one is
/// registered (the addresses its name resolves to are checked at each
/// delivery).
pub fn check_url(url: &str, rules: &Rules) -> Result<Url, String> {
    let parsed = Url::parse(url)
        .map_err(|_| "must be an absolute URL, such as https://example.org/hooks".to_owned())?;
    match parsed.scheme() {
        "https" => {}
        "http" if rules.allow_http => {}
        "http" => return Err("must be an https:// URL".to_owned()),
        _ => return Err("must be an https:// URL".to_owned()),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry a user name or password".to_owned());
    }
    if parsed.fragment().is_some() {
        return Err("must not have a #fragment".to_owned());
    }
    match parsed.host() {
        None => return Err("must name a host".to_owned()),
        Some(url::Host::Ipv4(ip)) if !rules.allow_private => {
            if let Some(why) = address::refusal(ip.into()) {
                return Err(format!("must not point at {why}"));
            }
        }
        Some(url::Host::Ipv6(ip)) if !rules.allow_private => {
            if let Some(why) = address::refusal(ip.into()) {
                return Err(format!("must not point at {why}"));
            }
        }
        Some(_) => {}
    }
    Ok(parsed)
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Sends `body` to `url` with `headers`, under `rules`.
pub async fn send(url: &str, headers: &[(&str, String)], body: Vec<u8>, rules: &Rules) -> Attempt {
    let started = Instant::now();
    let answered = rocket::tokio::time::timeout(rules.timeout, attempt(url, headers, body, rules)).await;
    let (status, error, response) = match answered {
        Ok(Ok((status, response))) => {
            let error = (300..400).contains(&status).then(|| "redirects are not followed".to_owned());
            (Some(status), error, response)
        }
        Ok(Err(why)) => (None, Some(why), String::new()),
        Err(_) => {
            (None, Some(format!("no answer within {} seconds", rules.timeout.as_secs())), String::new())
        }
    };
    Attempt { status, error, response, duration: started.elapsed() }
}

async fn attempt(
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
    rules: &Rules,
) -> Result<(u16, String), String> {
    let url = check_url(url, rules)?;
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let stream = connect(&host, port, rules).await?;
    let io: Box<dyn Io> = if url.scheme() == "https" {
        let connector = native_tls::TlsConnector::new().map_err(|e| format!("TLS is unavailable: {e}"))?;
        let tls = tokio_native_tls::TlsConnector::from(connector)
            .connect(&host, stream)
            .await
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
        Box::new(tls)
    } else {
        Box::new(stream)
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("the connection failed: {e}"))?;
    rocket::tokio::spawn(async move {
        let _ = connection.await;
    });
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let authority = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let mut request = hyper::Request::post(path)
        .header("Host", authority)
        .header("Content-Type", "application/json")
        .header("User-Agent", concat!("Storefront-Webhooks/", env!("CARGO_PKG_VERSION")));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let request =
        request.body(Full::new(Bytes::from(body))).map_err(|e| format!("the request is invalid: {e}"))?;
    let mut answer = sender.send_request(request).await.map_err(|e| format!("the request failed: {e}"))?;
    let status = answer.status().as_u16();
    let mut read = Vec::new();
    while read.len() < READ_AT_MOST {
        match answer.body_mut().frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    read.extend_from_slice(&data[..data.len().min(READ_AT_MOST - read.len())]);
                }
            }
            // A cut answer still has its status: what came is kept.
            Some(Err(_)) | None => break,
        }
    }
    read.truncate(KEPT_OF_ANSWER);
    Ok((status, String::from_utf8_lossy(&read).into_owned()))
}

/// A connection to the first address of `host` that may be reached.
async fn connect(host: &str, port: u16, rules: &Rules) -> Result<TcpStream, String> {
    let addresses: Vec<SocketAddr> = rocket::tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("{host} could not be resolved: {e}"))?
        .collect();
    let mut refused = None;
    let mut failed = None;
    for address in addresses {
        if !rules.allow_private {
            if let Some(why) = address::refusal(address.ip()) {
                refused = Some(format!("refused: {host} resolves to {why} ({})", address.ip()));
                continue;
            }
        }
        match TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(e) => failed = Some(format!("{host} ({}) refused the connection: {e}", address.ip())),
        }
    }
    Err(failed.or(refused).unwrap_or_else(|| format!("{host} has no address")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(allow_http: bool) -> Rules {
        Rules { allow_http, allow_private: false, timeout: Duration::from_secs(1) }
    }

    #[test]
    fn only_https_urls_of_public_hosts_are_endpoints() {
        assert!(check_url("https://hooks.example.org/storefront?x=1", &rules(false)).is_ok());
        for (url, why) in [
            ("http://hooks.example.org/", "must be an https:// URL"),
            ("ftp://hooks.example.org/", "must be an https:// URL"),
            ("hooks.example.org", "must be an absolute URL, such as https://example.org/hooks"),
            ("https://user:pw@hooks.example.org/", "must not carry a user name or password"),
            ("https://127.0.0.1/", "must not point at a loopback address"),
            ("https://[::1]:8443/", "must not point at a loopback address"),
            ("https://169.254.169.254/latest/meta-data", "must not point at a cloud metadata address"),
            ("https://10.0.0.8/", "must not point at a private address"),
        ] {
            assert_eq!(check_url(url, &rules(false)).err().as_deref(), Some(why), "{url}");
        }
        assert!(check_url("http://hooks.example.org/", &rules(true)).is_ok());
    }

    #[rocket::async_test]
    async fn a_name_resolving_to_a_refused_address_is_not_connected_to() {
        let attempt = send("https://localhost:1/hook", &[], b"{}".to_vec(), &rules(false)).await;
        assert_eq!(attempt.status, None);
        let error = attempt.error.unwrap();
        assert!(error.starts_with("refused: localhost resolves to a loopback address"), "{error}");
    }
}
