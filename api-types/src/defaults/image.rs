//! Image references, read just far enough to choose a default pull policy.
//!
//! Kubernetes defaults `imagePullPolicy` to `Always` when an image's tag is `latest`, or when
//! the reference names neither a tag nor a digest (the tag then defaults to `latest`), and to
//! `IfNotPresent` otherwise. A reference it cannot parse also gets `IfNotPresent`; validation
//! or the kubelet reports the bad reference later. The parsing here follows the container
//! registry reference grammar (`[domain/]path[:tag][@digest]`) with Docker Hub normalisation,
//! because whether a reference parses decides the policy.

/// Pull policy for images whose tag is `latest` or unspecified.
pub const PULL_ALWAYS: &str = "Always";
/// Pull policy for every other image.
pub const PULL_IF_NOT_PRESENT: &str = "IfNotPresent";

const DEFAULT_DOMAIN: &str = "docker.io";
const MAX_NAME_LENGTH: usize = 255;

/// The pull policy Kubernetes gives a container (or image volume) that sets none.
pub fn default_pull_policy(image: &str) -> &'static str {
    if image_tag(image).as_deref() == Some("latest") {
        PULL_ALWAYS
    } else {
        PULL_IF_NOT_PRESENT
    }
}

/// The tag of `image` as the kubelet sees it: `latest` when neither tag nor digest is given,
/// the empty string for a digest-only reference, and `None` when the reference is invalid.
pub fn image_tag(image: &str) -> Option<String> {
    if image.len() == 64
        && image
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        // A bare 64-character hex string is an image ID, not a reference.
        return None;
    }
    let (domain, remainder) = split_domain(image);
    let remainder: &str = &remainder;
    let remote_name = remainder.split(':').next().unwrap_or_default();
    if remote_name.to_lowercase() != remote_name {
        return None;
    }
    let (reference, digest) = match remainder.split_once('@') {
        Some((reference, digest)) => (reference, Some(digest)),
        None => (remainder, None),
    };
    if let Some(digest) = digest {
        if !valid_digest(digest) {
            return None;
        }
    }
    let last_slash = reference.rfind('/').map_or(0, |index| index + 1);
    let (path, tag) = match reference[last_slash..].rfind(':') {
        Some(colon) => {
            let colon = last_slash + colon;
            (&reference[..colon], Some(&reference[colon + 1..]))
        }
        None => (reference, None),
    };
    if let Some(tag) = tag {
        if !valid_tag(tag) {
            return None;
        }
    }
    let name_length = domain.len() + 1 + path.len();
    if name_length > MAX_NAME_LENGTH {
        return None;
    }
    let domain_ok = valid_domain(domain) || valid_path_component(domain);
    if !domain_ok || !path.split('/').all(valid_path_component) {
        return None;
    }
    Some(match (tag, digest) {
        (Some(tag), _) => tag.to_owned(),
        (None, Some(_)) => String::new(),
        (None, None) => "latest".to_owned(),
    })
}

/// Splits off the registry domain, defaulting to Docker Hub and its `library/` namespace.
fn split_domain(image: &str) -> (&str, std::borrow::Cow<'_, str>) {
    let explicit = image.split_once('/').filter(|(first, _)| {
        first.contains(['.', ':']) || *first == "localhost" || first.to_lowercase() != *first
    });
    match explicit {
        Some((domain, rest)) if domain != "index.docker.io" && domain != DEFAULT_DOMAIN => {
            (domain, rest.into())
        }
        Some((_, rest)) => (DEFAULT_DOMAIN, official(rest)),
        None => (DEFAULT_DOMAIN, official(image)),
    }
}

/// Docker Hub names without a namespace live under `library/`.
fn official(rest: &str) -> std::borrow::Cow<'_, str> {
    if rest.contains('/') {
        rest.into()
    } else {
        format!("library/{rest}").into()
    }
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or one or more `-`.
fn valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    let mut index = 0;
    while index < bytes.len() {
        if alnum(bytes[index]) {
            index += 1;
            continue;
        }
        let start = index;
        while index < bytes.len() && !alnum(bytes[index]) {
            index += 1;
        }
        let separator = &component[start..index];
        let dashes = separator.bytes().all(|b| b == b'-');
        if !(separator == "." || separator == "_" || separator == "__" || dashes) {
            return false;
        }
    }
    true
}

/// `host[:port]`, where host is a dotted DNS-like name or a bracketed IPv6 address.
fn valid_domain(domain: &str) -> bool {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let Some((address, after)) = rest.split_once(']') else {
            return false;
        };
        let address_ok =
            !address.is_empty() && address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        if !address_ok {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        }
    };
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    if domain.starts_with('[') {
        return true;
    }
    !host.is_empty() && host.split('.').all(valid_domain_component)
}

/// A letter or digit, or letters, digits and dashes that start and end with a letter or digit.
fn valid_domain_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    match tag.as_bytes().split_first() {
        Some((first, rest)) => {
            word(*first)
                && rest.len() <= 127
                && rest.iter().all(|b| word(*b) || *b == b'.' || *b == b'-')
        }
        None => false,
    }
}

/// A digest of a supported algorithm with the matching number of lowercase hex digits.
fn valid_digest(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    let length = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    encoded.len() == length
        && encoded
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac";

    #[test]
    fn pull_policy_follows_the_tag() {
        let at_digest = format!("nginx@{DIGEST}");
        let latest_at_digest = format!("nginx:latest@{DIGEST}");
        let tagged_at_digest = format!("nginx:1.25@{DIGEST}");
        let cases: &[(&str, &str)] = &[
            ("nginx", PULL_ALWAYS),
            ("nginx:latest", PULL_ALWAYS),
            ("nginx:1.25", PULL_IF_NOT_PRESENT),
            ("nginx:Latest", PULL_IF_NOT_PRESENT),
            ("library/nginx", PULL_ALWAYS),
            ("docker.io/library/nginx:1.25", PULL_IF_NOT_PRESENT),
            ("repo:5000/img", PULL_ALWAYS),
            ("repo:5000/img:v1", PULL_IF_NOT_PRESENT),
            ("localhost:5000/img:latest", PULL_ALWAYS),
            ("localhost/img", PULL_ALWAYS),
            ("registry.k8s.io/pause:3.10", PULL_IF_NOT_PRESENT),
            ("ghcr.io/org/team/app", PULL_ALWAYS),
            ("[::1]:5000/img", PULL_ALWAYS),
            (&at_digest, PULL_IF_NOT_PRESENT),
            (&latest_at_digest, PULL_ALWAYS),
            (&tagged_at_digest, PULL_IF_NOT_PRESENT),
            // References that do not parse never get Always.
            ("", PULL_IF_NOT_PRESENT),
            ("Nginx", PULL_IF_NOT_PRESENT),
            ("nginx:", PULL_IF_NOT_PRESENT),
            ("nginx:la test", PULL_IF_NOT_PRESENT),
            ("nginx@sha256:abc", PULL_IF_NOT_PRESENT),
            ("my..repo/img", PULL_IF_NOT_PRESENT),
            ("repo.io/", PULL_IF_NOT_PRESENT),
            (
                "4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac",
                PULL_IF_NOT_PRESENT,
            ),
        ];
        for (image, want) in cases {
            assert_eq!(default_pull_policy(image), *want, "image {image:?}");
        }
    }

    #[test]
    fn tags_are_read_after_the_last_slash() {
        let at_digest = format!("img@{DIGEST}");
        let cases: &[(&str, Option<&str>)] = &[
            ("img", Some("latest")),
            ("img:v2", Some("v2")),
            ("host:443/team/img", Some("latest")),
            ("host:443/team/img:1.0-rc_1", Some("1.0-rc_1")),
            (&at_digest, Some("")),
            ("img:-bad", None),
        ];
        for (image, want) in cases {
            assert_eq!(image_tag(image).as_deref(), *want, "image {image:?}");
        }
    }
}
