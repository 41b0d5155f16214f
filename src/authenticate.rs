//! Step 1: is this request from Extole? Checked on the raw body, before any parsing.
//!
//! Every comparison is constant-time: HMAC tags through `Mac::verify_slice`, Bearer and
//! Basic credentials by comparing SHA-256 digests with `subtle`, so neither the content nor
//! the length of a key leaks through timing.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::AuthScheme;
use crate::error::RelayError;

pub const SIGNATURE_HEADER: &str = "x-extole-signature";

/// The keys an environment accepts: several at once during a rotation.
#[derive(Clone, Default)]
pub struct WebhookKeys(Vec<String>);

impl WebhookKeys {
    /// Splits a secret's value on commas: `old-key,new-key`.
    pub fn from_secret(value: &str) -> Self {
        Self(value.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for WebhookKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookKeys({} keys, redacted)", self.0.len())
    }
}

/// Checks the request against the environment's scheme and keys.
/// `header` looks a request header up by lowercase name.
pub fn authenticate<'h>(
    scheme: AuthScheme,
    keys: &WebhookKeys,
    header: impl Fn(&str) -> Option<&'h str>,
    body: &[u8],
) -> Result<(), RelayError> {
    if scheme == AuthScheme::None {
        return Ok(());
    }
    let label = scheme.label();
    if keys.is_empty() {
        // Fail closed: a forgotten secret must not open the endpoint.
        return Err(RelayError::AuthNotConfigured { scheme: label });
    }
    let fail = |reason| Err(RelayError::Unauthorized { scheme: label, reason });
    match scheme {
        AuthScheme::Hs256 => {
            let Some(header) = header(SIGNATURE_HEADER) else { return fail("missing X-Extole-Signature header") };
            let Some(tag) = decode_signature(header) else {
                return fail("X-Extole-Signature is not a hex HMAC-SHA256 (64 hex digits, optional sha256= prefix)");
            };
            if keys.0.iter().any(|key| hmac_matches(key.as_bytes(), body, &tag)) {
                Ok(())
            } else {
                fail("signature does not match the body")
            }
        }
        AuthScheme::Bearer | AuthScheme::Basic => {
            let expected_word = if scheme == AuthScheme::Bearer { "bearer" } else { "basic" };
            let Some(value) = header("authorization") else { return fail("missing Authorization header") };
            let Some((word, credential)) = value.split_once(' ') else { return fail("malformed Authorization header") };
            if !word.eq_ignore_ascii_case(expected_word) {
                return fail("wrong Authorization scheme");
            }
            let presented = if scheme == AuthScheme::Basic {
                match base64::engine::general_purpose::STANDARD.decode(credential) {
                    Ok(bytes) => bytes,
                    Err(_) => return fail("Basic credentials are not base64"),
                }
            } else {
                credential.as_bytes().to_vec()
            };
            if keys.0.iter().any(|key| digest_equal(key.as_bytes(), &presented)) {
                Ok(())
            } else {
                fail("credentials do not match")
            }
        }
        AuthScheme::None => Ok(()),
    }
}

/// `sha256=`-prefixed or bare hex, either case, exactly 32 bytes.
fn decode_signature(header: &str) -> Option<Vec<u8>> {
    let trimmed = header.trim();
    let hex_part = match trimmed.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sha256=") => &trimmed[7..],
        _ => trimmed,
    };
    if hex_part.len() != 64 {
        return None;
    }
    hex::decode(hex_part).ok()
}

fn hmac_matches(key: &[u8], body: &[u8], tag: &[u8]) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.verify_slice(tag).is_ok()
}

fn digest_equal(expected: &[u8], presented: &[u8]) -> bool {
    Sha256::digest(expected).ct_eq(&Sha256::digest(presented)).into()
}

/// Hex HMAC-SHA256 of `body`: what Extole puts in `X-Extole-Signature`. Used by the local
/// tooling and tests to sign payloads.
pub fn sign_hs256(key: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"type":"shared","event_id":"e1"}"#;

    fn check(scheme: AuthScheme, keys: &str, headers: &[(&str, &str)]) -> Result<(), String> {
        let keys = WebhookKeys::from_secret(keys);
        let lookup = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        authenticate(scheme, &keys, lookup, BODY).map_err(|e| e.code().to_string())
    }

    #[test]
    fn hs256_accepts_prefix_and_either_case_and_rotated_keys() {
        let sig = sign_hs256("k2", BODY);
        let upper = sig.to_uppercase();
        let prefixed = format!("sha256={sig}");
        let prefixed_upper = format!("SHA256={upper}");
        for header in [sig.as_str(), &upper, &prefixed, &prefixed_upper] {
            assert_eq!(check(AuthScheme::Hs256, "k1, k2", &[(SIGNATURE_HEADER, header)]), Ok(()), "{header}");
        }
    }

    #[test]
    fn hs256_rejects_wrong_missing_truncated_signatures() {
        let sig = sign_hs256("k1", BODY);
        let wrong = sign_hs256("other", BODY);
        let truncated = &sig[..63];
        let sha1 = format!("sha1={}", &sig[..40]);
        for headers in [vec![], vec![(SIGNATURE_HEADER, wrong.as_str())], vec![(SIGNATURE_HEADER, truncated)], vec![(SIGNATURE_HEADER, "")], vec![(SIGNATURE_HEADER, sha1.as_str())]] {
            assert_eq!(check(AuthScheme::Hs256, "k1", &headers), Err("unauthorized".into()), "{headers:?}");
        }
    }

    #[test]
    fn fails_closed_without_keys() {
        let sig = sign_hs256("", BODY);
        assert_eq!(check(AuthScheme::Hs256, " , ", &[(SIGNATURE_HEADER, sig.as_str())]), Err("auth_not_configured".into()));
        assert_eq!(check(AuthScheme::Bearer, "", &[("authorization", "Bearer ")]), Err("auth_not_configured".into()));
        assert_eq!(check(AuthScheme::None, "", &[]), Ok(()));
    }

    #[test]
    fn bearer_and_basic() {
        assert_eq!(check(AuthScheme::Bearer, "tok", &[("authorization", "Bearer tok")]), Ok(()));
        assert_eq!(check(AuthScheme::Bearer, "tok", &[("authorization", "bearer tok")]), Ok(()));
        assert!(check(AuthScheme::Bearer, "tok", &[("authorization", "Bearer tok ")]).is_err());
        assert!(check(AuthScheme::Bearer, "tok", &[("authorization", "Bearer to")]).is_err());
        assert!(check(AuthScheme::Bearer, "tok", &[("authorization", "Basic dG9r")]).is_err());
        assert!(check(AuthScheme::Bearer, "tok", &[("authorization", "tok")]).is_err());
        let basic = base64::engine::general_purpose::STANDARD.encode("user:pw");
        assert_eq!(check(AuthScheme::Basic, "user:pw", &[("authorization", &format!("Basic {basic}"))]), Ok(()));
        let no_colon = base64::engine::general_purpose::STANDARD.encode("userpw");
        assert!(check(AuthScheme::Basic, "user:pw", &[("authorization", &format!("Basic {no_colon}"))]).is_err());
        assert!(check(AuthScheme::Basic, "user:pw", &[("authorization", "Basic !!!")]).is_err());
    }

    #[test]
    fn error_names_the_scheme_never_the_key() {
        let keys = WebhookKeys::from_secret("super-secret-key");
        let err = authenticate(AuthScheme::Hs256, &keys, |_| None, BODY).unwrap_err();
        let body = err.body().to_string();
        assert!(body.contains("X-Extole-Signature"), "{body}");
        assert!(!body.contains("super-secret-key"));
        assert!(!format!("{keys:?}").contains("super-secret-key"));
    }
}
