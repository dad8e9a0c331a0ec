//! Cell formats several kinds share: label maps, label selectors, container lists and
//! optional booleans, each with the placeholder Kubernetes prints when there is nothing.

use serde::Deserialize as _;
use serde_json::Value;

use super::value::{at, list_at, str_at, string_map};
use crate::k8s::apimachinery::pkg::apis::meta::v1 as meta;
use crate::labels::LabelSelector;

/// A label map as `key=value` pairs sorted by key and joined by commas, or `<none>`.
pub(super) fn format_labels(object: &Value, path: &[&str]) -> String {
    let text = string_map(object, path)
        .into_iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",");
    if text.is_empty() {
        "<none>".to_owned()
    } else {
        text
    }
}

/// The canonical string of the structured selector at `path`, or the error when it is
/// invalid. A missing selector selects nothing, which prints as "".
fn selector_string(object: &Value, path: &[&str]) -> Result<String, ()> {
    let selector = match at(object, path) {
        None | Some(Value::Null) => None,
        Some(value) => Some(meta::LabelSelector::deserialize(value).map_err(|_| ())?),
    };
    LabelSelector::from_api_opt(selector.as_ref())
        .map(|selector| selector.to_string())
        .map_err(|_| ())
}

/// A structured label selector as most workload tables print it: `app=web,tier in (a,b)`,
/// `<none>` when it selects everything or nothing, `<error>` when it is invalid.
pub(super) fn format_label_selector(object: &Value, path: &[&str]) -> String {
    match selector_string(object, path) {
        Ok(text) if text.is_empty() => "<none>".to_owned(),
        Ok(text) => text,
        Err(()) => "<error>".to_owned(),
    }
}

/// A structured selector as the Deployment table prints it: the bare string (possibly
/// empty), or `<invalid>`.
pub(super) fn deployment_selector(object: &Value, path: &[&str]) -> String {
    selector_string(object, path).unwrap_or_else(|()| "<invalid>".to_owned())
}

/// The names and the images of a container list, each joined by commas.
pub(super) fn containers_and_images(object: &Value, path: &[&str]) -> (String, String) {
    let containers = list_at(object, path);
    let names = containers
        .iter()
        .map(|c| str_at(c, &["name"]))
        .collect::<Vec<_>>()
        .join(",");
    let images = containers
        .iter()
        .map(|c| str_at(c, &["image"]))
        .collect::<Vec<_>>()
        .join(",");
    (names, images)
}

/// An optional boolean as `True`, `False` or `<unset>`.
pub(super) fn bool_ptr(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    }
}

/// `a,b,c` for the first three items, then ` + N more...` for the rest, as Kubernetes
/// shortens long lists; `<unset>` when there is nothing.
pub(super) fn list_with_more(items: &[String], total: usize) -> String {
    const SHOWN: usize = 3;
    let shown: Vec<&str> = items.iter().take(SHOWN).map(String::as_str).collect();
    let text = shown.join(",");
    if total > SHOWN {
        format!("{text} + {} more...", total - SHOWN)
    } else if text.is_empty() {
        "<unset>".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_maps() {
        let cases = [
            (
                json!({"l": {"tier": "web", "app": "shop"}}),
                "app=shop,tier=web",
            ),
            (json!({"l": {}}), "<none>"),
            (json!({}), "<none>"),
            (json!({"l": "app=shop"}), "<none>"),
        ];
        for (object, expected) in cases {
            assert_eq!(format_labels(&object, &["l"]), expected, "{object}");
        }
    }

    #[test]
    fn label_selectors() {
        let cases = [
            (
                json!({"s": {"matchLabels": {"app": "web"}}}),
                "app=web",
                "app=web",
            ),
            (
                json!({"s": {"matchLabels": {"z": "1"}, "matchExpressions": [
                    {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                    {"key": "gone", "operator": "DoesNotExist"}]}}),
                "env in (dev,prod),!gone,z=1",
                "env in (dev,prod),!gone,z=1",
            ),
            (json!({"s": {}}), "<none>", ""),
            (json!({}), "<none>", ""),
            (
                json!({"s": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}),
                "<error>",
                "<invalid>",
            ),
            (json!({"s": "app=web"}), "<error>", "<invalid>"),
        ];
        for (object, formatted, deployment) in cases {
            assert_eq!(
                format_label_selector(&object, &["s"]),
                formatted,
                "{object}"
            );
            assert_eq!(deployment_selector(&object, &["s"]), deployment, "{object}");
        }
    }

    #[test]
    fn containers_join_with_commas() {
        let object = json!({"c": [{"name": "web", "image": "nginx:1.27"}, {"name": "log"}]});
        assert_eq!(
            containers_and_images(&object, &["c"]),
            ("web,log".to_owned(), "nginx:1.27,".to_owned())
        );
        assert_eq!(
            containers_and_images(&json!({}), &["c"]),
            (String::new(), String::new())
        );
    }

    #[test]
    fn long_lists_are_shortened() {
        let items: Vec<String> = ["a", "b", "c", "d"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(list_with_more(&items[..2], 2), "a,b");
        assert_eq!(list_with_more(&items, 5), "a,b,c + 2 more...");
        assert_eq!(list_with_more(&[], 0), "<unset>");
        assert_eq!(bool_ptr(Some(true)), "True");
        assert_eq!(bool_ptr(None), "<unset>");
    }
}
