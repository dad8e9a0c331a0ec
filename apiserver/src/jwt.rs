//! Compact ES256 JSON Web Tokens, signed and checked with `ring`.
//!
//! Service-account tokens are JWTs signed with the ECDSA P-256 key Berth generates at
//! `DATA_DIR/pki/sa.key`. Only ES256 is ever produced or accepted, so this module is small
//! enough to own: `ring` is already linked for TLS, while the maintained JWT crates bring a
//! second crypto stack of their own. The module knows nothing about claims beyond "a JSON
//! object"; [`crate::serviceaccount`] checks them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;
use serde_json::{json, Map, Value};

/// Tokens longer than this are refused before any decoding: real ones are well under 2 KiB.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The DER prefix of a P-256 `SubjectPublicKeyInfo` (id-ecPublicKey, prime256v1, then the
/// BIT STRING header of a 65-byte uncompressed point).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Why a key could not be used or a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// The private key is not a P-256 PKCS#8 key.
    #[error("the signing key is not a P-256 PKCS#8 key: {0}")]
    Key(String),
    /// Signing failed inside the crypto library.
    #[error("signing failed")]
    Sign,
    /// The token is not three base64url parts holding a JSON header and JSON claims.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm other than ES256.
    #[error("unsupported signing algorithm {0:?}")]
    Algorithm(String),
    /// The header names a key other than this one.
    #[error("the token was signed by another key")]
    KeyId,
    /// The signature does not match the header and claims.
    #[error("invalid signature")]
    Signature,
}

/// An ES256 signing key and the public half that checks its tokens.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
    verifier: Verifier,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("SigningKey")
            .field("kid", &self.verifier.kid)
            .finish()
    }
}

/// Checks ES256 signatures made by one key.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// The uncompressed public point.
    point: Vec<u8>,
    /// The key id put in every token header.
    kid: String,
}

impl SigningKey {
    /// Loads a P-256 private key from a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, JwtError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| JwtError::Key(e.to_string()))?;
        Self::from_pkcs8_der(der.secret_pkcs8_der())
    }

    /// Loads a P-256 private key from PKCS#8 DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, JwtError> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|e| JwtError::Key(e.to_string()))?;
        let verifier = Verifier::from_point(pair.public_key().as_ref());
        Ok(SigningKey {
            pair,
            rng,
            verifier,
        })
    }

    /// A fresh random key, for tests and throwaway servers.
    pub fn generate() -> Result<Self, JwtError> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| JwtError::Key("generation failed".into()))?;
        Self::from_pkcs8_der(doc.as_ref())
    }

    /// The verifier for this key's tokens.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Signs `claims` as a compact JWS with header `{"alg":"ES256","kid":...}`.
    pub fn sign(&self, claims: &Map<String, Value>) -> Result<String, JwtError> {
        let header = json!({"alg": "ES256", "kid": self.verifier.kid});
        let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string()));
        let sig = self
            .pair
            .sign(&self.rng, token.as_bytes())
            .map_err(|_| JwtError::Sign)?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(sig.as_ref()));
        Ok(token)
    }
}

impl Verifier {
    fn from_point(point: &[u8]) -> Self {
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(point);
        // As Kubernetes does, the key id is the hash of the public key's DER, so tokens name
        // the key that signed them and a rotated key is recognisable.
        let kid = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &spki));
        Verifier {
            point: point.to_vec(),
            kid,
        }
    }

    /// The key id tokens of this key carry.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Checks the token's form, algorithm and signature and returns its claims. Time, issuer
    /// and audience are the caller's to check.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::Malformed("too long"));
        }
        let mut parts = token.split('.');
        let (Some(raw_header), Some(raw_claims), Some(raw_sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed("not three dot-separated parts"));
        };
        let header =
            decode_json(raw_header).ok_or(JwtError::Malformed("header is not base64url JSON"))?;
        match header.get("alg").and_then(Value::as_str) {
            Some("ES256") => {}
            other => return Err(JwtError::Algorithm(other.unwrap_or_default().to_owned())),
        }
        if let Some(kid) = header.get("kid") {
            if kid.as_str() != Some(self.kid.as_str()) {
                return Err(JwtError::KeyId);
            }
        }
        let sig = URL_SAFE_NO_PAD
            .decode(raw_sig)
            .map_err(|_| JwtError::Malformed("signature is not base64url"))?;
        let signed = &token[..raw_header.len() + 1 + raw_claims.len()];
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &self.point)
            .verify(signed.as_bytes(), &sig)
            .map_err(|_| JwtError::Signature)?;
        decode_json(raw_claims).ok_or(JwtError::Malformed("claims are not base64url JSON"))
    }
}

fn decode_json(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Map<String, Value> {
        json!({"sub": "someone", "exp": 2_000_000_000u64})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn round_trip() {
        let key = SigningKey::generate().unwrap();
        let token = key.sign(&claims()).unwrap();
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(key.verifier().verify(&token).unwrap(), claims());
        let header = decode_json(token.split('.').next().unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], key.verifier().kid());
    }

    #[test]
    fn rcgen_keys_load() {
        let pem = berth_component_base::pki::generate_signing_key().unwrap();
        let key = SigningKey::from_pkcs8_pem(&pem).unwrap();
        let again = SigningKey::from_pkcs8_pem(&pem).unwrap();
        // The key id depends only on the key.
        assert_eq!(key.verifier().kid(), again.verifier().kid());
        let token = key.sign(&claims()).unwrap();
        assert!(again.verifier().verify(&token).is_ok());
        assert!(SigningKey::from_pkcs8_pem("not a key").is_err());
    }

    #[test]
    fn tampering_is_detected() {
        let key = SigningKey::generate().unwrap();
        let token = key.sign(&claims()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let forged_claims = URL_SAFE_NO_PAD.encode(r#"{"sub":"admin","exp":2000000000}"#);
        let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
        assert_eq!(key.verifier().verify(&forged), Err(JwtError::Signature));

        let other = SigningKey::generate().unwrap();
        let foreign = other.sign(&claims()).unwrap();
        assert_eq!(key.verifier().verify(&foreign), Err(JwtError::KeyId));
        // Without a kid the signature itself still fails.
        let no_kid = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#),
            &foreign[foreign.find('.').unwrap() + 1..]
        );
        assert_eq!(key.verifier().verify(&no_kid), Err(JwtError::Signature));

        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            parts[1]
        );
        assert_eq!(
            key.verifier().verify(&none_alg),
            Err(JwtError::Algorithm("none".into()))
        );
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert!(key
            .verifier()
            .verify(std::str::from_utf8(&flipped).unwrap())
            .is_err());
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let key = SigningKey::generate().unwrap();
        for bad in [
            "",
            ".",
            "..",
            "a.b",
            "a.b.c.d",
            "!!!.???.***",
            "e30.e30.",
            "W10.W10.AA",
        ] {
            assert!(key.verifier().verify(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            key.verifier().verify(&"a".repeat(MAX_TOKEN_LEN + 1)),
            Err(JwtError::Malformed("too long"))
        );
    }
}
