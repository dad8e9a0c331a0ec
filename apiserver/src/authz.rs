//! Whether a user may do something.
//!
//! Until RBAC lands, Berth allows every authenticated user everything ([`AllowAuthenticated`]).
//! The [`Authorizer`] trait is the seam RBAC plugs into: the handler asks it about every
//! authenticated request (resource requests, access reviews and plain paths such as
//! `/metrics`) and the access-review endpoints (`kubectl auth can-i`) ask it on the user's
//! behalf, so swapping the implementation changes both with no other code touched. It is async because a real authorizer reads roles and bindings.

use crate::authn::UserInfo;

/// What a request wants to do to an API resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceAttributes {
    /// The namespace, empty for cluster-scoped resources or all namespaces.
    pub namespace: String,
    /// The API group, empty for core.
    pub group: String,
    /// The API version, empty for any.
    pub version: String,
    /// The resource (plural), or `*`.
    pub resource: String,
    /// The subresource, if any.
    pub subresource: String,
    /// The object name, empty for collections.
    pub name: String,
}

/// What a request touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An API resource.
    Resource(ResourceAttributes),
    /// A path outside the resource API, such as `/healthz`.
    NonResource {
        /// The URL path.
        path: String,
    },
}

/// One question for the authorizer: may `user` do `verb` to `target`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    /// Who asks.
    pub user: UserInfo,
    /// The verb: get, list, watch, create, update, patch, delete, deletecollection, or any
    /// other word a resource defines (`use`, `bind`, ...).
    pub verb: String,
    /// What it is done to.
    pub target: Target,
}

/// The authorizer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The action is allowed.
    pub allowed: bool,
    /// The action is explicitly denied (not merely not allowed).
    pub denied: bool,
    /// Why, for people.
    pub reason: String,
}

/// A rule listing what is allowed on API resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRule {
    /// Verbs, `*` for all.
    pub verbs: Vec<String>,
    /// API groups, `*` for all.
    pub api_groups: Vec<String>,
    /// Resources, `*` for all.
    pub resources: Vec<String>,
    /// Object names; empty for all.
    pub resource_names: Vec<String>,
}

/// A rule listing what is allowed on non-resource paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonResourceRule {
    /// Verbs, `*` for all.
    pub verbs: Vec<String>,
    /// Paths; a trailing `*` matches any suffix.
    pub non_resource_urls: Vec<String>,
}

/// Everything a user may do in one namespace (`kubectl auth can-i --list`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSet {
    /// Rules on API resources.
    pub resource_rules: Vec<ResourceRule>,
    /// Rules on other paths.
    pub non_resource_rules: Vec<NonResourceRule>,
    /// Whether the list may leave out some of what is allowed.
    pub incomplete: bool,
}

/// The message of the 403 a refused request gets, worded as Kubernetes words it
/// (`pods "web" is forbidden: User "bob" cannot get resource "pods" in API group "" in the
/// namespace "default"`), with the authorizer's reason appended when it gave one.
pub fn forbidden_message(attrs: &Attributes, reason: &str) -> String {
    let user = &attrs.user.name;
    let mut message = match &attrs.target {
        Target::NonResource { path } => {
            format!(
                "forbidden: User \"{user}\" cannot {} path \"{path}\"",
                attrs.verb
            )
        }
        Target::Resource(r) => {
            let qualified = if r.group.is_empty() {
                r.resource.clone()
            } else {
                format!("{}.{}", r.resource, r.group)
            };
            let subject = if r.name.is_empty() {
                format!("{qualified} is forbidden")
            } else {
                format!("{qualified} \"{}\" is forbidden", r.name)
            };
            let resource = if r.subresource.is_empty() {
                r.resource.clone()
            } else {
                format!("{}/{}", r.resource, r.subresource)
            };
            let scope = if r.namespace.is_empty() {
                "at the cluster scope".to_owned()
            } else {
                format!("in the namespace \"{}\"", r.namespace)
            };
            format!(
                "{subject}: User \"{user}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
                attrs.verb, r.group
            )
        }
    };
    if !reason.is_empty() {
        message.push_str(": ");
        message.push_str(reason);
    }
    message
}

/// Decides what users may do.
#[async_trait::async_trait]
pub trait Authorizer: Send + Sync {
    /// Whether the action described by `attrs` is allowed.
    async fn authorize(&self, attrs: &Attributes) -> Decision;

    /// What `user` may do in `namespace` (all namespaces when empty).
    async fn rules_for(&self, user: &UserInfo, namespace: &str) -> RuleSet;
}

/// Whether a user counts as authenticated: the group every authenticated request carries,
/// or a named user that is neither anonymous nor in the unauthenticated group (as a
/// SubjectAccessReview may describe one without groups).
pub fn is_authenticated(user: &UserInfo) -> bool {
    let in_group = |g: &str| user.groups.iter().any(|x| x == g);
    in_group("system:authenticated")
        || (!user.name.is_empty()
            && user.name != "system:anonymous"
            && !in_group("system:unauthenticated"))
}

/// Allows every authenticated user everything and nobody else anything: Berth's policy until
/// RBAC is enforced.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAuthenticated;

const ALLOWED_REASON: &str = "Berth allows every authenticated user";

#[async_trait::async_trait]
impl Authorizer for AllowAuthenticated {
    async fn authorize(&self, attrs: &Attributes) -> Decision {
        if is_authenticated(&attrs.user) {
            Decision {
                allowed: true,
                denied: false,
                reason: ALLOWED_REASON.to_owned(),
            }
        } else {
            Decision {
                allowed: false,
                denied: false,
                reason: "the user is not authenticated".to_owned(),
            }
        }
    }

    async fn rules_for(&self, user: &UserInfo, _namespace: &str) -> RuleSet {
        if !is_authenticated(user) {
            return RuleSet::default();
        }
        let all = || vec!["*".to_owned()];
        RuleSet {
            resource_rules: vec![ResourceRule {
                verbs: all(),
                api_groups: all(),
                resources: all(),
                resource_names: Vec::new(),
            }],
            non_resource_rules: vec![NonResourceRule {
                verbs: all(),
                non_resource_urls: all(),
            }],
            incomplete: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..UserInfo::default()
        }
    }

    fn ask(user: UserInfo) -> Attributes {
        Attributes {
            user,
            verb: "create".into(),
            target: Target::Resource(ResourceAttributes {
                resource: "pods".into(),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn forbidden_messages_read_as_kubernetes_writes_them() {
        let res = |group: &str, ns: &str, name: &str, sub: &str| {
            Target::Resource(ResourceAttributes {
                namespace: ns.into(),
                group: group.into(),
                version: "v1".into(),
                resource: if group.is_empty() {
                    "pods"
                } else {
                    "deployments"
                }
                .into(),
                subresource: sub.into(),
                name: name.into(),
            })
        };
        let cases = [
            (
                "get",
                res("", "default", "web", ""),
                "",
                r#"pods "web" is forbidden: User "bob" cannot get resource "pods" in API group "" in the namespace "default""#,
            ),
            (
                "list",
                res("apps", "", "", ""),
                "",
                r#"deployments.apps is forbidden: User "bob" cannot list resource "deployments" in API group "apps" at the cluster scope"#,
            ),
            (
                "get",
                res("", "ns1", "web", "log"),
                "no rule",
                r#"pods "web" is forbidden: User "bob" cannot get resource "pods/log" in API group "" in the namespace "ns1": no rule"#,
            ),
            (
                "get",
                Target::NonResource {
                    path: "/metrics".into(),
                },
                "",
                r#"forbidden: User "bob" cannot get path "/metrics""#,
            ),
        ];
        for (verb, target, reason, want) in cases {
            let attrs = Attributes {
                user: user("bob", &[]),
                verb: verb.into(),
                target,
            };
            assert_eq!(forbidden_message(&attrs, reason), want);
        }
    }

    #[tokio::test]
    async fn authenticated_users_may_do_anything() {
        let authz = AllowAuthenticated;
        let admin = authz
            .authorize(&ask(user(
                "admin",
                &["system:masters", "system:authenticated"],
            )))
            .await;
        assert!(admin.allowed && !admin.denied);
        assert!(authz.authorize(&ask(user("bob", &[]))).await.allowed);
        let non_resource = Attributes {
            verb: "get".into(),
            target: Target::NonResource {
                path: "/healthz".into(),
            },
            ..ask(user("bob", &["system:authenticated"]))
        };
        assert!(authz.authorize(&non_resource).await.allowed);
        let rules = authz
            .rules_for(&user("bob", &["system:authenticated"]), "default")
            .await;
        assert_eq!(rules.resource_rules[0].verbs, ["*"]);
        assert!(!rules.incomplete);
    }

    #[tokio::test]
    async fn anonymous_users_may_do_nothing() {
        let authz = AllowAuthenticated;
        for who in [
            user("system:anonymous", &["system:unauthenticated"]),
            user("", &[]),
            user("someone", &["system:unauthenticated"]),
        ] {
            let d = authz.authorize(&ask(who.clone())).await;
            assert!(!d.allowed, "{who:?}");
            assert!(authz.rules_for(&who, "").await.resource_rules.is_empty());
        }
    }
}
