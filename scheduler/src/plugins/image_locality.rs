//! ImageLocality: nodes that already hold the pod's container images score higher, by the
//! images' sizes, discounted by how few nodes hold them (an image on every node says nothing
//! about where the pod should go, and favouring one node for a rare image would pile pods
//! onto it).
//!
//! Per image found on the node: `size × nodes having it ÷ all nodes`, summed over the pod's
//! init and app containers, then clamped between 23 MiB and 1000 MiB per container and mapped
//! onto 0..=100. A container image without a tag means `:latest`.

use crate::framework::{CycleState, Plugin, PreScorePlugin, ScorePlugin, Snapshot, MAX_NODE_SCORE};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::status::{Code, Status};
use std::collections::HashMap;

/// The plugin's name.
pub const NAME: &str = "ImageLocality";

const MIB: i64 = 1024 * 1024;
/// Below this the images found are not worth a score.
pub const MIN_THRESHOLD: i64 = 23 * MIB;
/// Per container, more than this counts no more.
pub const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MIB;

const KEY: &str = "ImageLocality/score";

/// Scores nodes by the pod's images they already hold.
pub struct ImageLocality;

#[derive(Clone, Default)]
struct ScoreState {
    /// Each container image (normalised) with the share of nodes holding it.
    images: Vec<(String, f64)>,
    /// Init plus app containers.
    containers: i64,
}

/// The name a container image is looked up by: `:latest` added when no tag is given.
pub fn normalized_image_name(name: &str) -> String {
    let colon = name.rfind(':');
    let slash = name.rfind('/');
    match (colon, slash) {
        (Some(c), Some(s)) if c > s => name.to_owned(),
        (Some(_), None) => name.to_owned(),
        _ => format!("{name}:latest"),
    }
}

/// Maps a summed image score to 0..=100 for `containers` containers.
pub fn calculate_priority(sum: i64, containers: i64) -> i64 {
    let max = MAX_CONTAINER_THRESHOLD * containers.max(1);
    let sum = sum.clamp(MIN_THRESHOLD, max);
    MAX_NODE_SCORE * (sum - MIN_THRESHOLD) / (max - MIN_THRESHOLD)
}

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreScorePlugin for ImageLocality {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _feasible: &[&NodeInfo],
        snapshot: &Snapshot,
    ) -> Status {
        let total = snapshot.nodes.len().max(1) as f64;
        let mut s = ScoreState::default();
        let mut seen_anywhere = false;
        for image in pod.images() {
            s.containers += 1;
            let image = normalized_image_name(image);
            let holders = snapshot.image_nodes.get(&image).copied().unwrap_or(0);
            seen_anywhere |= holders > 0;
            s.images.push((image, holders as f64 / total));
        }
        if !seen_anywhere {
            // No node holds any of the images: every node would score 0.
            return Status::new(Code::Skip, Vec::new());
        }
        state.write(KEY, s);
        Status::success()
    }
}

impl ScorePlugin for ImageLocality {
    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(s) = state.read::<ScoreState>(KEY) else {
            return 0;
        };
        let sum: i64 = s
            .images
            .iter()
            .filter_map(|(image, share)| {
                let size = node.images.get(image)?;
                Some((*size as f64 * share) as i64)
            })
            .sum();
        calculate_priority(sum, s.containers)
    }
}

/// Counts, over `nodes`, how many report each image name (what the cache keeps current).
pub fn image_node_counts(nodes: &[NodeInfo]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for n in nodes {
        for image in n.images.keys() {
            *counts.entry(image.clone()).or_default() += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{self, node, pod};
    use serde_json::{json, Value};

    fn with_images(name: &str, images: Value) -> NodeInfo {
        node(name, json!({"status": {"images": images}}))
    }

    fn image(names: &[&str], mib: i64) -> Value {
        json!({"names": names, "sizeBytes": mib * MIB})
    }

    fn scores(p: &PodInfo, nodes: &[NodeInfo]) -> Vec<i64> {
        let counts = image_node_counts(nodes);
        let snap = Snapshot {
            image_nodes: &counts,
            ..Snapshot::of_nodes(nodes)
        };
        testing::scores(&ImageLocality, p, nodes, &snap).unwrap_or_else(|| vec![0; nodes.len()])
    }

    #[test]
    fn names_get_latest_when_untagged() {
        let cases = [
            ("nginx", "nginx:latest"),
            ("nginx:1.25", "nginx:1.25"),
            ("registry:5000/app", "registry:5000/app:latest"),
            ("registry:5000/app:v2", "registry:5000/app:v2"),
            ("gcr.io/x/y@sha256:abc", "gcr.io/x/y@sha256:abc"),
        ];
        for (input, want) in cases {
            assert_eq!(normalized_image_name(input), want, "{input}");
        }
    }

    #[test]
    fn thresholds() {
        let cases = [
            (0, 1, 0),
            (23 * MIB, 1, 0),
            (1000 * MIB, 1, 100),
            (5000 * MIB, 1, 100),
            (1000 * MIB, 2, 49),
            (23 * MIB + 977 * MIB / 2, 1, 50),
        ];
        for (sum, containers, want) in cases {
            assert_eq!(
                calculate_priority(sum, containers),
                want,
                "{sum} {containers}"
            );
        }
    }

    #[test]
    fn nodes_with_the_images_score_by_size_and_spread() {
        let nodes = vec![
            with_images(
                "big",
                json!([
                    image(&["app:v1", "app@sha256:1"], 500),
                    image(&["side:latest"], 300)
                ]),
            ),
            with_images("app-only", json!([image(&["app:v1"], 500)])),
            with_images("side-only", json!([image(&["side:latest"], 300)])),
            with_images("none", json!([image(&["other:1"], 900)])),
        ];
        let p = pod(
            "p",
            json!({"initContainers": [{"name": "i", "image": "side"}],
                "containers": [{"name": "c", "image": "app:v1"}]}),
        );
        // Each image is on 2 of 4 nodes, so counts half its size; 2 containers give a
        // 2000 MiB ceiling.
        let want = |mib: i64| calculate_priority(mib * MIB, 2);
        assert_eq!(scores(&p, &nodes), vec![want(400), want(250), want(150), 0]);
        assert_eq!(scores(&p, &nodes), vec![19, 11, 6, 0]);
        let elsewhere = pod(
            "q",
            json!({"containers": [{"name": "c", "image": "nowhere"}]}),
        );
        assert_eq!(scores(&elsewhere, &nodes), vec![0; 4]);
    }
}
