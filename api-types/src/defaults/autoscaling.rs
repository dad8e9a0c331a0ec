//! Defaults for horizontal pod autoscalers.
//!
//! An autoscaler without metrics scales on 80% average CPU utilisation. When it describes
//! any scaling behaviour, the rules it leaves out are filled with Kubernetes' standard ones:
//! scale up immediately by up to four pods or 100% every 15 seconds, whichever is more, and
//! scale down by up to 100% every 15 seconds (the stabilisation window for scaling down is
//! left to the controller's setting).

use super::default_absent;
use crate::k8s::api::autoscaling::{v1, v2};

/// CPU utilisation an autoscaler without metrics aims for, in percent.
const DEFAULT_CPU_UTILIZATION: i32 = 80;
const SCALING_PERIOD_SECONDS: i32 = 15;

/// Defaults an autoscaling/v2 autoscaler: one minimum replica, the CPU metric and the
/// scaling rules it leaves out.
pub fn default_horizontal_pod_autoscaler(hpa: &mut v2::HorizontalPodAutoscaler) {
    let spec = hpa.spec.get_or_insert_with(Default::default);
    default_absent(&mut spec.min_replicas, 1);
    if spec.metrics.as_ref().is_none_or(Vec::is_empty) {
        spec.metrics = Some(vec![v2::MetricSpec {
            type_: "Resource".to_owned(),
            resource: Some(v2::ResourceMetricSource {
                name: "cpu".to_owned(),
                target: v2::MetricTarget {
                    type_: "Utilization".to_owned(),
                    average_utilization: Some(DEFAULT_CPU_UTILIZATION),
                    ..Default::default()
                },
            }),
            ..Default::default()
        }]);
    }
    if let Some(behavior) = &mut spec.behavior {
        behavior.scale_up = Some(merge_rules(behavior.scale_up.take(), scale_up_rules()));
        behavior.scale_down = Some(merge_rules(behavior.scale_down.take(), scale_down_rules()));
    }
}

/// Defaults an autoscaling/v1 autoscaler: one minimum replica.
pub fn default_horizontal_pod_autoscaler_v1(hpa: &mut v1::HorizontalPodAutoscaler) {
    let spec = hpa.spec.get_or_insert_with(Default::default);
    default_absent(&mut spec.min_replicas, 1);
}

fn policy(type_: &str, value: i32) -> v2::HPAScalingPolicy {
    v2::HPAScalingPolicy {
        type_: type_.to_owned(),
        value,
        period_seconds: SCALING_PERIOD_SECONDS,
    }
}

fn scale_up_rules() -> v2::HPAScalingRules {
    v2::HPAScalingRules {
        stabilization_window_seconds: Some(0),
        select_policy: Some("Max".to_owned()),
        policies: Some(vec![policy("Pods", 4), policy("Percent", 100)]),
        tolerance: None,
    }
}

fn scale_down_rules() -> v2::HPAScalingRules {
    v2::HPAScalingRules {
        stabilization_window_seconds: None,
        select_policy: Some("Max".to_owned()),
        policies: Some(vec![policy("Percent", 100)]),
        tolerance: None,
    }
}

/// The standard rules with every field the user set taken from the user's rules.
fn merge_rules(
    user: Option<v2::HPAScalingRules>,
    mut standard: v2::HPAScalingRules,
) -> v2::HPAScalingRules {
    let Some(user) = user else {
        return standard;
    };
    if user.select_policy.is_some() {
        standard.select_policy = user.select_policy;
    }
    if user.stabilization_window_seconds.is_some() {
        standard.stabilization_window_seconds = user.stabilization_window_seconds;
    }
    if user.policies.is_some() {
        standard.policies = user.policies;
    }
    if user.tolerance.is_some() {
        standard.tolerance = user.tolerance;
    }
    standard
}
