//! Label selectors as controllers use them: matching an object's labels locally and writing a
//! selector as the query string the API takes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use std::collections::BTreeMap;

/// Whether `labels` satisfy `selector`. An empty selector matches everything, as in the API.
pub fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let pairs_ok = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let exprs_ok = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        let value = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    pairs_ok && exprs_ok
}

/// Whether `selector` selects nothing at all (no pairs, no expressions): controllers refuse
/// to act on such a selector rather than claim every pod.
pub fn is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(|e| e.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    fn req(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| (*v).into()).collect()),
        }
    }

    #[test]
    fn pairs_and_expressions_all_must_hold() {
        let sel = LabelSelector {
            match_labels: Some(labels(&[("app", "web")])),
            match_expressions: Some(vec![
                req("tier", "In", &["a", "b"]),
                req("canary", "DoesNotExist", &[]),
                req("env", "NotIn", &["prod"]),
            ]),
        };
        assert!(matches(&sel, &labels(&[("app", "web"), ("tier", "a")])));
        assert!(!matches(&sel, &labels(&[("app", "web"), ("tier", "c")])));
        assert!(!matches(
            &sel,
            &labels(&[("app", "web"), ("tier", "a"), ("canary", "1")])
        ));
        assert!(!matches(
            &sel,
            &labels(&[("app", "web"), ("tier", "a"), ("env", "prod")])
        ));
        assert!(!matches(&sel, &labels(&[("tier", "a")])));
        let exists = LabelSelector {
            match_expressions: Some(vec![req("app", "Exists", &[])]),
            ..LabelSelector::default()
        };
        assert!(matches(&exists, &labels(&[("app", "x")])));
        assert!(!matches(&exists, &labels(&[])));
    }

    #[test]
    fn empty_selectors_are_recognised() {
        assert!(is_empty(&LabelSelector::default()));
        assert!(!is_empty(&LabelSelector {
            match_labels: Some(labels(&[("a", "b")])),
            ..LabelSelector::default()
        }));
    }
}
