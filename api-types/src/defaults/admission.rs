//! Defaults for admission webhook configurations.
//!
//! A webhook fails closed, matches equivalent versions of the resources it names, applies to
//! every namespace and object, and gets ten seconds; a mutating webhook is called once.

use super::default_absent;
use crate::k8s::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, RuleWithOperations, ServiceReference,
    ValidatingWebhookConfiguration,
};
use crate::k8s::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Seconds Kubernetes waits for a webhook that sets no timeout.
const WEBHOOK_TIMEOUT_SECONDS: i32 = 10;
/// Port of a webhook service that names none.
const WEBHOOK_SERVICE_PORT: i32 = 443;

/// Fields every webhook shares, defaulted the same way for both kinds of configuration.
macro_rules! default_webhook_fields {
    ($webhook:expr) => {{
        let webhook = $webhook;
        default_absent(&mut webhook.failure_policy, "Fail".to_owned());
        default_absent(&mut webhook.match_policy, "Equivalent".to_owned());
        default_absent(&mut webhook.namespace_selector, LabelSelector::default());
        default_absent(&mut webhook.object_selector, LabelSelector::default());
        default_absent(&mut webhook.timeout_seconds, WEBHOOK_TIMEOUT_SECONDS);
        for rule in webhook.rules.iter_mut().flatten() {
            default_rule(rule);
        }
        if let Some(service) = &mut webhook.client_config.service {
            default_service_reference(service);
        }
    }};
}

/// Defaults every webhook of a validating webhook configuration.
pub fn default_validating_webhook_configuration(config: &mut ValidatingWebhookConfiguration) {
    for webhook in config.webhooks.iter_mut().flatten() {
        default_webhook_fields!(webhook);
    }
}

/// Defaults every webhook of a mutating webhook configuration.
pub fn default_mutating_webhook_configuration(config: &mut MutatingWebhookConfiguration) {
    for webhook in config.webhooks.iter_mut().flatten() {
        default_webhook_fields!(&mut *webhook);
        default_absent(&mut webhook.reinvocation_policy, "Never".to_owned());
    }
}

/// A rule that names no scope matches both cluster-scoped and namespaced resources.
fn default_rule(rule: &mut RuleWithOperations) {
    default_absent(&mut rule.scope, "*".to_owned());
}

fn default_service_reference(service: &mut ServiceReference) {
    default_absent(&mut service.port, WEBHOOK_SERVICE_PORT);
}
