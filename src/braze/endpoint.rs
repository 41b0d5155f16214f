/// Braze's REST hosts by instance name.
const INSTANCES: [(&str, &str); 15] = [
    ("US-01", "rest.iad-01.braze.com"),
    ("US-02", "rest.iad-02.braze.com"),
    ("US-03", "rest.iad-03.braze.com"),
    ("US-04", "rest.iad-04.braze.com"),
    ("US-05", "rest.iad-05.braze.com"),
    ("US-06", "rest.iad-06.braze.com"),
    ("US-07", "rest.iad-07.braze.com"),
    ("US-08", "rest.iad-08.braze.com"),
    ("US-10", "rest.us-10.braze.com"),
    ("EU-01", "rest.fra-01.braze.eu"),
    ("EU-02", "rest.fra-02.braze.eu"),
    ("AU-01", "rest.au-01.braze.com"),
    ("ID-01", "rest.id-01.braze.com"),
    ("JP-01", "rest.jp-01.braze.com"),
    ("KR-01", "rest.kr-01.braze.com"),
];

/// A Braze REST endpoint the relay may send to: https, or plain http on loopback for local
/// testing only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrazeEndpoint {
    base: String,
}

impl BrazeEndpoint {
    /// Accepts an instance name (`US-03`, case-insensitive), a host (`rest.iad-03.braze.com`)
    /// or a URL.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().trim_end_matches('/');
        if let Some((_, host)) = INSTANCES.iter().find(|(name, _)| name.eq_ignore_ascii_case(text)) {
            return Ok(Self { base: format!("https://{host}") });
        }
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("https".to_string(), text),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let host = host_of(authority);
        let valid_host = !host.is_empty()
            && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
            && !authority.contains('@');
        if !valid_host {
            return Err(format!("'{text}' is neither a Braze instance name (e.g. US-03) nor a URL"));
        }
        match scheme.as_str() {
            "https" => Ok(Self { base: format!("https://{rest}") }),
            "http" if matches!(host, "127.0.0.1" | "localhost" | "[::1]") => Ok(Self { base: format!("http://{rest}") }),
            _ => Err(format!("'{text}' must be https (plain http only for 127.0.0.1 or localhost)")),
        }
    }

    /// The `/users/track` URL.
    pub fn users_track_url(&self) -> String {
        format!("{}/users/track", self.base)
    }
}

fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Result<String, String> {
        BrazeEndpoint::parse(text).map(|e| e.users_track_url())
    }

    #[test]
    fn instance_names_hosts_and_urls() {
        assert_eq!(url("US-03").unwrap(), "https://rest.iad-03.braze.com/users/track");
        assert_eq!(url("eu-01").unwrap(), "https://rest.fra-01.braze.eu/users/track");
        assert_eq!(url("rest.iad-01.braze.com").unwrap(), "https://rest.iad-01.braze.com/users/track");
        assert_eq!(url("https://rest.iad-01.braze.com/").unwrap(), "https://rest.iad-01.braze.com/users/track");
        assert_eq!(url("http://127.0.0.1:8788").unwrap(), "http://127.0.0.1:8788/users/track");
        assert_eq!(url("http://localhost:9000/").unwrap(), "http://localhost:9000/users/track");
    }

    #[test]
    fn refuses_plain_http_and_junk() {
        for bad in ["http://rest.iad-01.braze.com", "ftp://x", "", "https://user@evil.com", "not a url", "http://127.0.0.2.evil.com"] {
            assert!(url(bad).is_err(), "{bad}");
        }
    }
}
