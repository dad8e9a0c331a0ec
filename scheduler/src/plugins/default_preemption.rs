//! DefaultPreemption: when no node fits a pod, find a node where removing pods of lower
//! priority makes it fit, and name those pods (the victims) for the caller to delete.
//!
//! For each node whose rejection removing pods could resolve, every lower-priority pod is
//! removed in a what-if copy of the node and the cycle state; if the pod then fits, victims
//! are given back one by one, most important first (pods whose eviction would break a
//! PodDisruptionBudget before the others), and those whose return breaks the fit stay victims.
//! Among the nodes that work, the one chosen has the fewest budget violations, then the lowest
//! highest victim priority, the lowest priority sum, the fewest victims, and the most recently
//! started most important victim. Pods with `preemptionPolicy: Never` never preempt, and a pod
//! whose earlier victims are still terminating on its nominated node waits for them.

use crate::framework::{
    CycleState, PdbInfo, Plugin, PostFilterContext, PostFilterPlugin, PostFilterResult,
};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::status::{Code, Status};
use berth_api_types::k8s::jiff::Timestamp;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The plugin's name.
pub const NAME: &str = "DefaultPreemption";
/// Why a node yielded no victims.
pub const REASON_NO_VICTIMS: &str = "No preemption victims found for incoming pod";
/// Why preemption was not tried on a node.
pub const REASON_NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
/// At least this many candidate nodes are evaluated (when there are that many).
pub const MIN_CANDIDATES: usize = 100;
/// And at least this share of the nodes, in percent.
pub const MIN_CANDIDATES_PERCENT: usize = 10;

/// Preempts lower-priority pods.
pub struct DefaultPreemption;

/// A node where preemption works, with its victims.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The node.
    pub node: String,
    /// The pods to remove, most important first.
    pub victims: Vec<Arc<PodInfo>>,
    /// How many victims' removal breaks a disruption budget.
    pub pdb_violations: usize,
}

/// Higher priority first, then the earlier started (pods not started yet count as newest).
fn more_important(a: &PodInfo, b: &PodInfo) -> Ordering {
    b.priority
        .cmp(&a.priority)
        .then_with(|| match (a.start_time, b.start_time) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
}

/// Splits `pods` into those whose removal breaks a budget and the rest, spending each budget's
/// allowed disruptions in order.
pub fn split_by_pdb(
    pods: &[Arc<PodInfo>],
    pdbs: &[PdbInfo],
) -> (Vec<Arc<PodInfo>>, Vec<Arc<PodInfo>>) {
    let mut allowed: Vec<i32> = pdbs.iter().map(|p| p.disruptions_allowed).collect();
    let (mut violating, mut fine) = (Vec::new(), Vec::new());
    for p in pods {
        let mut violated = false;
        if !p.labels().is_empty() {
            for (i, pdb) in pdbs.iter().enumerate() {
                if pdb.namespace != p.namespace() || !pdb.selector.matches(p.labels()) {
                    continue;
                }
                allowed[i] -= 1;
                if allowed[i] < 0 {
                    violated = true;
                }
            }
        }
        if violated {
            violating.push(p.clone());
        } else {
            fine.push(p.clone());
        }
    }
    (violating, fine)
}

/// The victims `pod` needs on `node`, or `None` when removing every lower-priority pod still
/// does not make it fit.
pub fn select_victims(
    ctx: &PostFilterContext,
    pod: &PodInfo,
    node: &NodeInfo,
) -> Option<Candidate> {
    let mut state: CycleState = ctx.state.clone();
    let mut what_if = node.clone();
    let mut potential: Vec<Arc<PodInfo>> = node
        .pods
        .iter()
        .filter(|p| p.priority < pod.priority)
        .cloned()
        .collect();
    if potential.is_empty() {
        return None;
    }
    for v in &potential {
        what_if.remove_pod(&v.key);
        ctx.profile.run_remove_pod(&mut state, pod, v, &what_if);
    }
    let nominated = ctx.snapshot.nominated_on(&node.name);
    if !ctx
        .profile
        .run_filters_with_nominated(&state, pod, &what_if, nominated)
        .is_success()
    {
        return None;
    }
    potential.sort_by(|a, b| more_important(a, b));
    let (violating, fine) = split_by_pdb(&potential, ctx.snapshot.pdbs);
    let mut victims = Vec::new();
    let mut pdb_violations = 0;
    let mut reprieve = |v: &Arc<PodInfo>, state: &mut CycleState, what_if: &mut NodeInfo| {
        what_if.add_pod(v.clone());
        ctx.profile.run_add_pod(state, pod, v, what_if);
        let fits = ctx
            .profile
            .run_filters_with_nominated(state, pod, what_if, nominated)
            .is_success();
        if !fits {
            what_if.remove_pod(&v.key);
            ctx.profile.run_remove_pod(state, pod, v, what_if);
            victims.push(v.clone());
        }
        fits
    };
    for v in &violating {
        if !reprieve(v, &mut state, &mut what_if) {
            pdb_violations += 1;
        }
    }
    for v in &fine {
        reprieve(v, &mut state, &mut what_if);
    }
    if victims.is_empty() {
        return None;
    }
    victims.sort_by(|a, b| more_important(a, b));
    Some(Candidate {
        node: node.name.clone(),
        victims,
        pdb_violations,
    })
}

/// Picks the candidate whose preemption does the least harm.
pub fn pick_candidate(candidates: &[Candidate]) -> Option<&Candidate> {
    let key = |c: &Candidate| {
        let highest = c.victims.first().map_or(i32::MIN, |v| v.priority);
        // Offset so negative priorities still sum upwards.
        let sum: i64 = c
            .victims
            .iter()
            .map(|v| i64::from(v.priority) + i64::from(i32::MAX) + 1)
            .sum();
        (c.pdb_violations, highest, sum, c.victims.len())
    };
    let best = candidates.iter().map(key).min()?;
    let tied: Vec<&Candidate> = candidates.iter().filter(|c| key(c) == best).collect();
    // Among the rest, the node whose most important victims started last loses least work.
    let earliest_top_start = |c: &Candidate| {
        let top = c.victims.first().map_or(i32::MIN, |v| v.priority);
        c.victims
            .iter()
            .filter(|v| v.priority == top)
            .map(|v| v.start_time.unwrap_or(Timestamp::MAX))
            .min()
            .unwrap_or(Timestamp::MIN)
    };
    let mut best = tied[0];
    for c in &tied[1..] {
        if earliest_top_start(c) > earliest_top_start(best) {
            best = c;
        }
    }
    Some(best)
}

fn rejected(reason: String) -> PostFilterResult {
    PostFilterResult::rejected(Status::unschedulable(format!("preemption: {reason}")))
}

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        Some(self)
    }
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(
        &self,
        ctx: &PostFilterContext,
        pod: &PodInfo,
        statuses: &BTreeMap<String, Status>,
    ) -> PostFilterResult {
        if pod.wants().never_preempts {
            return rejected("not eligible due to preemptionPolicy=Never.".into());
        }
        if let Some(name) = pod.nominated_node_name() {
            let unresolvable = statuses
                .get(name)
                .is_some_and(|s| s.code == Code::UnschedulableAndUnresolvable);
            let node = ctx.snapshot.nodes.iter().find(|n| n.name == name);
            if let (false, Some(node)) = (unresolvable, node) {
                let waiting = node
                    .pods
                    .iter()
                    .any(|p| p.priority < pod.priority && p.terminating());
                if waiting {
                    return rejected(
                        "not eligible due to a terminating pod on the nominated node.".into(),
                    );
                }
            }
        }
        let nodes = ctx.snapshot.nodes;
        let limit = (nodes.len() * MIN_CANDIDATES_PERCENT / 100)
            .max(MIN_CANDIDATES)
            .min(nodes.len());
        let mut candidates = Vec::new();
        let mut clean = 0;
        let mut reasons = BTreeMap::new();
        for node in nodes {
            let resolvable = statuses
                .get(&node.name)
                .is_some_and(|s| s.code == Code::Unschedulable);
            if !resolvable {
                reasons.insert(node.name.clone(), Status::unresolvable(REASON_NOT_HELPFUL));
                continue;
            }
            if clean >= limit {
                continue;
            }
            match select_victims(ctx, pod, node) {
                Some(c) => {
                    if c.pdb_violations == 0 {
                        clean += 1;
                    }
                    candidates.push(c);
                }
                None => {
                    reasons.insert(node.name.clone(), Status::unschedulable(REASON_NO_VICTIMS));
                }
            }
        }
        match pick_candidate(&candidates) {
            Some(c) => PostFilterResult {
                status: Status::success(),
                nominated_node: Some(c.node.clone()),
                victims: c.victims.clone(),
            },
            None => {
                let fit = crate::algorithm::FitError {
                    num_nodes: nodes.len(),
                    statuses: reasons,
                    post_filter_msg: String::new(),
                    nominated: None,
                };
                rejected(fit.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::Algorithm;
    use crate::framework::{PdbInfo, Snapshot};
    use crate::plugins::default_profile;
    use crate::plugins::testing::{node, pod_json};
    use berth_api_types::labels::LabelSelector;
    use serde_json::{json, Value};

    fn small(name: &str) -> NodeInfo {
        node(
            name,
            json!({"status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "10"}}}),
        )
    }

    fn p(name: &str, cpu: &str, priority: i32, extra: Value) -> Arc<PodInfo> {
        let mut spec = json!({"priority": priority, "containers": [{"name": "c", "image": "i",
            "resources": {"requests": {"cpu": cpu}}}]});
        if let (Value::Object(s), Value::Object(e)) = (&mut spec, extra) {
            s.extend(e);
        }
        Arc::new(PodInfo::from_json(p_json(name, spec)).unwrap())
    }

    fn p_json(name: &str, spec: Value) -> Value {
        let mut v = pod_json(name, spec);
        v["metadata"]["labels"] = json!({"app": name.trim_end_matches(char::is_numeric)});
        v["metadata"]["uid"] = json!(format!("uid-{name}"));
        v
    }

    fn started(name: &str, cpu: &str, priority: i32, at: &str) -> Arc<PodInfo> {
        let spec = json!({"priority": priority, "containers": [{"name": "c", "image": "i",
            "resources": {"requests": {"cpu": cpu}}}]});
        let mut v = p_json(name, spec);
        v["status"] = json!({"startTime": at});
        Arc::new(PodInfo::from_json(v).unwrap())
    }

    /// Runs a whole scheduling decision and returns the nominated node with victim names, or
    /// the message.
    fn preempt(
        pod: &PodInfo,
        nodes: &[NodeInfo],
        pdbs: &[PdbInfo],
    ) -> Result<(String, Vec<String>), String> {
        let profile = default_profile("default-scheduler").unwrap();
        let mut algo = Algorithm::new(profile, 1);
        let snap = Snapshot {
            pdbs,
            ..Snapshot::of_nodes(nodes)
        };
        match algo.schedule_in(pod, &snap) {
            Ok(n) => Err(format!("scheduled on {n}")),
            Err(crate::algorithm::ScheduleError::Unfit(fit)) => match fit.nominated {
                Some((n, v)) => Ok((n, v.iter().map(|p| p.name().to_owned()).collect())),
                None => Err(fit.to_string()),
            },
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn picks_the_node_with_the_least_harm() {
        let mut a = small("a");
        a.add_pod(p("low1", "1", 10, json!({})));
        a.add_pod(p("low2", "1", 10, json!({})));
        let mut b = small("b");
        b.add_pod(p("mid1", "2", 50, json!({})));
        let mut c = small("c");
        c.add_pod(p("top1", "2", 1000, json!({})));
        let nodes = vec![a, b, c];
        // Needs 1 CPU: on a one low pod suffices (lowest priority), b would lose a priority-50 pod.
        let one = p("new", "1", 100, json!({}));
        let got = preempt(&one, &nodes, &[]).unwrap();
        assert_eq!(got.0, "a");
        assert_eq!(got.1.len(), 1, "{got:?}");
        // Needs 2 CPUs: a loses two priority-10 pods (highest 10), b one priority-50 pod.
        let two = p("big", "2", 100, json!({}));
        assert_eq!(
            preempt(&two, &nodes, &[]),
            Ok(("a".into(), vec!["low1".into(), "low2".into()]))
        );
        // A budget protecting the low pods sends the preemptor to b instead.
        let pdb = PdbInfo {
            namespace: "default".into(),
            selector: LabelSelector::from_map(&[("app".to_owned(), "low".to_owned())].into()),
            disruptions_allowed: 0,
        };
        assert_eq!(
            preempt(&two, &nodes, std::slice::from_ref(&pdb)),
            Ok(("b".into(), vec!["mid1".into()]))
        );
        // Nothing of lower priority to remove anywhere.
        let low = p("meek", "2", 5, json!({}));
        assert_eq!(
            preempt(&low, &nodes, &[]),
            Err(
                "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are \
                 available: 3 No preemption victims found for incoming pod.."
                    .into()
            )
        );
        let never = p("never", "1", 100, json!({"preemptionPolicy": "Never"}));
        assert_eq!(
            preempt(&never, &nodes, &[]),
            Err(
                "0/3 nodes are available: 3 Insufficient cpu. preemption: not eligible due \
                 to preemptionPolicy=Never.."
                    .into()
            )
        );
    }

    #[test]
    fn only_the_needed_victims_and_unresolvable_nodes_are_left_alone() {
        let mut a = small("a");
        a.add_pod(started("x1", "500m", 1, "2026-01-01T00:00:00Z"));
        a.add_pod(started("y1", "500m", 2, "2026-01-01T00:00:00Z"));
        a.add_pod(started("z1", "1", 3, "2026-01-01T00:00:00Z"));
        let cordoned = node("cordoned", json!({"spec": {"unschedulable": true}}));
        let nodes = vec![a, cordoned];
        // 1 CPU: removing x1 and y1 (the least important) is enough; z1 stays.
        let pr = p("new", "1", 100, json!({}));
        assert_eq!(
            preempt(&pr, &nodes, &[]),
            Ok(("a".into(), vec!["y1".into(), "x1".into()]))
        );
        let huge = p("huge", "8", 100, json!({}));
        assert_eq!(
            preempt(&huge, &nodes, &[]),
            Err(
                "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable. \
                 preemption: 0/2 nodes are available: 1 No preemption victims found for incoming \
                 pod, 1 Preemption is not helpful for scheduling.."
                    .into()
            )
        );
    }

    #[test]
    fn anti_affinity_victims_are_found_through_the_what_if_state() {
        let pr = p(
            "new",
            "100m",
            100,
            json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}}),
        );
        let labelled = vec![{
            let mut n = node(
                "a",
                json!({"metadata": {"labels": {"kubernetes.io/hostname": "a"}},
                    "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "10"}}}),
            );
            n.add_pod(p("web1", "100m", 1, json!({})));
            n
        }];
        assert_eq!(
            preempt(&pr, &labelled, &[]),
            Ok(("a".into(), vec!["web1".into()]))
        );
    }

    #[test]
    fn terminating_victims_on_the_nominated_node_are_waited_for() {
        let mut a = small("a");
        let cpu = |n: &str| {
            json!({"containers": [{"name": "c", "image": "i",
            "resources": {"requests": {"cpu": n}}}]})
        };
        let mut v = p_json(
            "old1",
            json!({"priority": 1, "containers": cpu("2")["containers"]}),
        );
        v["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        a.add_pod(Arc::new(PodInfo::from_json(v).unwrap().placed()));
        let nodes = vec![a];
        let mut v = p_json(
            "new",
            json!({"priority": 100, "containers": cpu("2")["containers"]}),
        );
        v["status"] = json!({"nominatedNodeName": "a"});
        let pr = PodInfo::from_json(v).unwrap();
        assert_eq!(
            preempt(&pr, &nodes, &[]),
            Err(
                "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a \
                 terminating pod on the nominated node.."
                    .into()
            )
        );
    }

    #[test]
    fn budgets_are_spent_in_order() {
        let pods = vec![
            p("web1", "1", 1, json!({})),
            p("web2", "1", 1, json!({})),
            p("db1", "1", 1, json!({})),
        ];
        let pdb = PdbInfo {
            namespace: "default".into(),
            selector: LabelSelector::from_map(&[("app".to_owned(), "web".to_owned())].into()),
            disruptions_allowed: 1,
        };
        let (violating, fine) = split_by_pdb(&pods, &[pdb]);
        let names = |v: &[Arc<PodInfo>]| v.iter().map(|p| p.name().to_owned()).collect::<Vec<_>>();
        assert_eq!(names(&violating), ["web2"]);
        assert_eq!(names(&fine), ["web1", "db1"]);
    }
}
