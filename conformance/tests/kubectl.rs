//! Stock kubectl 1.27 to 1.33 against a live Berth API server.
//!
//! Each test starts one server and runs its check with every installed kubectl release at
//! once, each release on objects of its own (`name-27`, `name-33`, …), so a failure names
//! the release that broke. Tests for what Berth does not serve yet are ignored with the
//! reason; `cargo test -p berth-conformance -- --ignored` shows how far it is.
//!
//! Needs `cargo build -p berth-apiserver` first (see the crate docs).

use anyhow::{ensure, Context, Result};
use berth_conformance::{across_kubectls, Cluster, Kubectl, Output, KUBECTL_MINORS};
use std::time::Duration;

/// Starts a server or fails the test with the reason and the server's log.
fn cluster() -> Cluster {
    Cluster::start().unwrap_or_else(|err| panic!("{err:#}"))
}

/// Runs `check` with every installed kubectl 1.27 to 1.33 at once; fails with each failed
/// release and the tail of the server log.
fn with_every_kubectl(cluster: &Cluster, check: impl Fn(&Kubectl) -> Result<()> + Sync) {
    let kubectls = cluster
        .kubectls(KUBECTL_MINORS)
        .unwrap_or_else(|err| panic!("{err:#}"));
    if let Err(err) = across_kubectls(&kubectls, check) {
        let log = cluster.server_log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        panic!("{err:#}\n\n--- last lines of the server log\n{tail}");
    }
}

/// A ConfigMap manifest in YAML.
fn configmap_yaml(name: &str, data: &[(&str, &str)]) -> String {
    let mut yaml = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n");
    for (key, value) in data {
        yaml.push_str(&format!("  {key}: \"{value}\"\n"));
    }
    yaml
}

/// Writes `contents` as `<name>.<ext>` and returns the path as a string for kubectl's `-f`.
fn manifest(cluster: &Cluster, name: &str, ext: &str, contents: &str) -> Result<String> {
    Ok(cluster
        .write_manifest(&format!("{name}.{ext}"), contents)?
        .display()
        .to_string())
}

/// `kubectl get KIND NAME -o jsonpath=PATH`, trimmed.
fn jsonpath(k: &Kubectl, kind: &str, name: &str, path: &str) -> Result<String> {
    let out = k
        .run(&["get", kind, name, "-o", &format!("jsonpath={path}")])?
        .ok()?;
    Ok(out.stdout.trim().to_owned())
}

fn expect_eq(what: &str, got: &str, want: &str) -> Result<()> {
    ensure!(got == want, "{what}: got {got:?}, want {want:?}");
    Ok(())
}

#[test]
fn get_namespaces_lists_the_system_namespaces() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let out = k.run(&["get", "ns"])?.ok()?;
        let names = out.first_column();
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            ensure!(names.contains(&ns), "`get ns` lacks {ns}:\n{out}");
        }
        let out = k.run(&["get", "namespaces", "-o", "name"])?.ok()?;
        out.stdout_has("namespace/kube-system")?;
        Ok(())
    });
}

#[test]
fn version_reports_server_v1_33() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        // 1.27 prints a Go struct by default and later releases a short line; both name
        // the server's gitVersion after "Server Version".
        let out = k.run(&["version"])?.ok()?;
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with("Server Version"))
            .context("no Server Version line")?;
        ensure!(
            line.contains("v1.33."),
            "server version is not v1.33.x:\n{out}"
        );
        let out = k.run(&["version", "-o", "json"])?.ok()?;
        let doc: serde_json::Value =
            serde_json::from_str(&out.stdout).context("version -o json is not JSON")?;
        expect_eq(
            "serverVersion.major",
            doc["serverVersion"]["major"].as_str().unwrap_or(""),
            "1",
        )?;
        expect_eq(
            "serverVersion.minor",
            doc["serverVersion"]["minor"].as_str().unwrap_or(""),
            "33",
        )?;
        Ok(())
    });
}

#[test]
fn api_resources_lists_the_served_kinds() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let out = k.run(&["api-resources"])?.ok()?;
        // name, short name, API version, namespaced, kind
        let want = [
            ("pods", "po", "v1", "true", "Pod"),
            ("services", "svc", "v1", "true", "Service"),
            ("configmaps", "cm", "v1", "true", "ConfigMap"),
            ("secrets", "", "v1", "true", "Secret"),
            ("namespaces", "ns", "v1", "false", "Namespace"),
            ("nodes", "no", "v1", "false", "Node"),
            ("serviceaccounts", "sa", "v1", "true", "ServiceAccount"),
            ("deployments", "deploy", "apps/v1", "true", "Deployment"),
            ("replicasets", "rs", "apps/v1", "true", "ReplicaSet"),
            (
                "ingresses",
                "ing",
                "networking.k8s.io/v1",
                "true",
                "Ingress",
            ),
        ];
        for (name, short, version, namespaced, kind) in want {
            let expected: Vec<&str> = [name, short, version, namespaced, kind]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect();
            let found = out
                .stdout
                .lines()
                .any(|line| line.split_whitespace().collect::<Vec<_>>() == expected);
            ensure!(found, "no api-resources row {expected:?}:\n{out}");
        }
        let out = k
            .run(&["api-resources", "--api-group=apps", "-o", "name"])?
            .ok()?;
        let names: Vec<&str> = out.stdout.lines().collect();
        ensure!(
            names.contains(&"deployments.apps"),
            "apps group lacks deployments:\n{out}"
        );
        ensure!(!names.contains(&"pods"), "apps group lists pods:\n{out}");
        let out = k
            .run(&["api-resources", "--namespaced=false", "-o", "name"])?
            .ok()?;
        let names: Vec<&str> = out.stdout.lines().collect();
        ensure!(
            names.contains(&"namespaces") && !names.contains(&"configmaps"),
            "cluster-scoped list is wrong:\n{out}"
        );
        Ok(())
    });
}

#[test]
fn apply_yaml_creates_then_leaves_unchanged() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("apply");
        let file = manifest(
            &cluster,
            &name,
            "yaml",
            &configmap_yaml(&name, &[("a", "1")]),
        )?;
        k.run(&["apply", "-f", &file])?
            .ok()?
            .stdout_has(&format!("configmap/{name} created"))?;
        let got = jsonpath(
            k,
            "cm",
            &name,
            r"{.data.a}|{.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}",
        )?;
        let (a, last_applied) = got.split_once('|').unwrap_or((&got, ""));
        expect_eq(".data.a", a, "1")?;
        ensure!(
            last_applied.contains(&name),
            "no last-applied annotation: {got:?}"
        );
        k.run(&["apply", "-f", &file])?
            .ok()?
            .stdout_has(&format!("configmap/{name} unchanged"))?;
        Ok(())
    });
}

#[test]
fn apply_yaml_twice_configures() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("reapply");
        let first = manifest(
            &cluster,
            &format!("{name}-v1"),
            "yaml",
            &configmap_yaml(&name, &[("a", "1"), ("b", "1")]),
        )?;
        k.run(&["apply", "-f", &first])?
            .ok()?
            .stdout_has(&format!("configmap/{name} created"))?;
        // The second version changes a and drops b: apply must remove what it once set.
        let second = manifest(
            &cluster,
            &format!("{name}-v2"),
            "yaml",
            &configmap_yaml(&name, &[("a", "2")]),
        )?;
        k.run(&["apply", "-f", &second])?
            .ok()?
            .stdout_has(&format!("configmap/{name} configured"))?;
        expect_eq(
            ".data",
            &jsonpath(k, "cm", &name, "{.data.a},{.data.b}")?,
            "2,",
        )?;
        Ok(())
    });
}

#[test]
fn apply_json_manifest() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("json");
        let body = serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"format": "json"}},
            "data": {"k": "v"},
        });
        let file = manifest(&cluster, &name, "json", &body.to_string())?;
        k.run(&["apply", "-f", &file])?
            .ok()?
            .stdout_has(&format!("configmap/{name} created"))?;
        let got = jsonpath(k, "cm", &name, "{.data.k},{.metadata.labels.format}")?;
        expect_eq(".data.k and the label", &got, "v,json")?;
        Ok(())
    });
}

#[test]
fn create_twice_is_already_exists() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("dup");
        let file = manifest(
            &cluster,
            &name,
            "yaml",
            &configmap_yaml(&name, &[("a", "1")]),
        )?;
        k.run(&["create", "-f", &file])?
            .ok()?
            .stdout_has(&format!("configmap/{name} created"))?;
        let out = k.run(&["create", "-f", &file])?.failed()?;
        out.stderr_has("Error from server (AlreadyExists)")?;
        out.stderr_has(&format!("configmaps \"{name}\" already exists"))?;
        Ok(())
    });
}

#[test]
fn get_missing_is_not_found() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let out = k.run(&["get", "cm", "nosuch"])?.failed()?;
        out.stderr_has("Error from server (NotFound): configmaps \"nosuch\" not found")?;
        let out = k.run(&["get", "deploy", "nosuch"])?.failed()?;
        out.stderr_has("Error from server (NotFound): deployments.apps \"nosuch\" not found")?;
        Ok(())
    });
}

#[test]
fn label_annotate_and_select() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let (name, other) = (k.name("labeled"), k.name("unlabeled"));
        let tier = format!("tier={}", k.name("web"));
        for n in [&name, &other] {
            let file = manifest(&cluster, n, "yaml", &configmap_yaml(n, &[("a", "1")]))?;
            k.run(&["create", "-f", &file])?.ok()?;
        }
        k.run(&["label", "cm", &name, &tier])?
            .ok()?
            .stdout_has(&format!("configmap/{name} labeled"))?;
        k.run(&["annotate", "cm", &name, "note=hello"])?
            .ok()?
            // kubectl 1.27 prints "annotate" where later releases print "annotated".
            .stdout_has(&format!("configmap/{name} annotate"))?;
        expect_eq(
            "annotation",
            &jsonpath(k, "cm", &name, "{.metadata.annotations.note}")?,
            "hello",
        )?;

        let out = k.run(&["get", "cm", "-l", &tier, "-o", "name"])?.ok()?;
        expect_eq("selected", out.stdout.trim(), &format!("configmap/{name}"))?;
        let out = k
            .run(&["get", "cm", "-l", &tier.replace('=', "!="), "-o", "name"])?
            .ok()?;
        let names: Vec<&str> = out.stdout.lines().collect();
        let (n, o) = (format!("configmap/{name}"), format!("configmap/{other}"));
        ensure!(
            names.contains(&o.as_str()) && !names.contains(&n.as_str()),
            "`!=` selected wrongly:\n{out}"
        );
        let set = format!("tier in ({},x)", k.name("web"));
        let out = k.run(&["get", "cm", "-l", &set, "-o", "name"])?.ok()?;
        expect_eq("set-based selection", out.stdout.trim(), &n)?;

        // Removing the label is a merge patch with a null value.
        k.run(&["label", "cm", &name, "tier-"])?
            .ok()?
            .stdout_has(&format!("configmap/{name} unlabeled"))?;
        let out = k.run(&["get", "cm", "-l", &tier, "-o", "name"])?.ok()?;
        expect_eq("selected after unlabel", out.stdout.trim(), "")?;
        Ok(())
    });
}

#[test]
fn patch_merge_and_json() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("patch");
        let file = manifest(
            &cluster,
            &name,
            "yaml",
            &configmap_yaml(&name, &[("a", "1")]),
        )?;
        k.run(&["create", "-f", &file])?.ok()?;
        k.run(&[
            "patch",
            "cm",
            &name,
            "--type=merge",
            "-p",
            r#"{"data":{"b":"2"}}"#,
        ])?
        .ok()?
        .stdout_has(&format!("configmap/{name} patched"))?;
        expect_eq(
            ".data",
            &jsonpath(k, "cm", &name, "{.data.a},{.data.b}")?,
            "1,2",
        )?;
        let ops =
            r#"[{"op":"replace","path":"/data/a","value":"10"},{"op":"remove","path":"/data/b"}]"#;
        k.run(&["patch", "cm", &name, "--type=json", "-p", ops])?
            .ok()?
            .stdout_has(&format!("configmap/{name} patched"))?;
        expect_eq(
            ".data",
            &jsonpath(k, "cm", &name, "{.data.a},{.data.b}")?,
            "10,",
        )?;
        // A failing `test` operation must reject the whole patch.
        let ops = r#"[{"op":"replace","path":"/data/a","value":"11"},{"op":"test","path":"/data/a","value":"nope"}]"#;
        k.run(&["patch", "cm", &name, "--type=json", "-p", ops])?
            .failed()?;
        expect_eq(
            ".data.a after failed patch",
            &jsonpath(k, "cm", &name, "{.data.a}")?,
            "10",
        )?;
        Ok(())
    });
}

#[test]
fn patch_strategic() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("smp");
        let file = manifest(&cluster, &name, "yaml", &deployment_yaml(&name, 1))?;
        k.run(&["create", "-f", &file])?.ok()?;
        // Containers merge by name: the existing container keeps its image, a new one is added.
        let patch = r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}"#;
        k.run(&["patch", "deploy", &name, "-p", patch])?
            .ok()?
            .stdout_has("patched")?;
        let images = jsonpath(
            k,
            "deploy",
            &name,
            "{.spec.template.spec.containers[*].name}",
        )?;
        ensure!(
            images.contains("web") && images.contains("sidecar"),
            "containers did not merge: {images}"
        );
        Ok(())
    });
}

#[test]
fn replace_with_stale_resource_version_conflicts() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("replace");
        let file = manifest(
            &cluster,
            &name,
            "yaml",
            &configmap_yaml(&name, &[("a", "1")]),
        )?;
        k.run(&["create", "-f", &file])?.ok()?;
        let rv = jsonpath(k, "cm", &name, "{.metadata.resourceVersion}")?;
        let with_rv = |value: &str| {
            configmap_yaml(&name, &[("a", value)]).replace(
                "metadata:\n",
                &format!("metadata:\n  resourceVersion: \"{rv}\"\n"),
            )
        };
        let current = manifest(&cluster, &format!("{name}-current"), "yaml", &with_rv("2"))?;
        k.run(&["replace", "-f", &current])?
            .ok()?
            .stdout_has(&format!("configmap/{name} replaced"))?;
        // The same resourceVersion is stale now.
        let stale = manifest(&cluster, &format!("{name}-stale"), "yaml", &with_rv("3"))?;
        let out = k.run(&["replace", "-f", &stale])?.failed()?;
        out.stderr_has("Error from server (Conflict)")?;
        out.stderr_has(&format!(
            "Operation cannot be fulfilled on configmaps \"{name}\": the object has been modified"
        ))?;
        expect_eq(".data.a", &jsonpath(k, "cm", &name, "{.data.a}")?, "2")?;
        Ok(())
    });
}

#[test]
fn delete_then_not_found() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("del");
        let file = manifest(
            &cluster,
            &name,
            "yaml",
            &configmap_yaml(&name, &[("a", "1")]),
        )?;
        k.run(&["create", "-f", &file])?.ok()?;
        k.run(&["delete", "cm", &name])?
            .ok()?
            .stdout_has(&format!("configmap \"{name}\" deleted"))?;
        let out = k.run(&["get", "cm", &name])?.failed()?;
        out.stderr_has(&format!(
            "Error from server (NotFound): configmaps \"{name}\" not found"
        ))?;
        let out = k.run(&["delete", "cm", &name])?.failed()?;
        out.stderr_has(&format!("configmaps \"{name}\" not found"))?;
        k.run(&["delete", "cm", &name, "--ignore-not-found"])?
            .ok()?;
        Ok(())
    });
}

#[test]
fn invalid_name_is_rejected_with_field_errors() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let file = manifest(
            &cluster,
            &k.name("bad"),
            "yaml",
            &configmap_yaml("Bad_Name", &[("a", "1")]),
        )?;
        for verb in ["create", "apply"] {
            let out = k.run(&[verb, "-f", &file])?.failed()?;
            out.stderr_has("The ConfigMap \"Bad_Name\" is invalid")?;
            out.stderr_has("metadata.name: Invalid value")?;
        }
        Ok(())
    });
}

#[test]
fn bad_selectors_are_rejected() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let out = k.run(&["get", "cm", "-l", "env in (prod"])?.failed()?;
        out.stderr_has("Error from server (BadRequest)")?;
        out.stderr_has("label selector")?;
        let out = k
            .run(&["get", "cm", "--field-selector", "no.such.field=x"])?
            .failed()?;
        out.stderr_has("Error from server (BadRequest)")?;
        out.stderr_has("no.such.field")?;
        Ok(())
    });
}

#[test]
fn watch_shows_new_and_deleted_objects() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let label = format!("watch={}", k.name("w"));
        let (seed, new) = (k.name("seed"), k.name("new"));
        let labeled = |name: &str| {
            configmap_yaml(name, &[("a", "1")]).replace(
                "metadata:\n",
                &format!("metadata:\n  labels:\n    watch: {}\n", k.name("w")),
            )
        };
        let seed_file = manifest(&cluster, &seed, "yaml", &labeled(&seed))?;
        k.run(&["create", "-f", &seed_file])?.ok()?;
        let mut watch = k.stream(&["get", "cm", "-l", &label, "-w", "--output-watch-events"])?;
        let deadline = Duration::from_secs(30);
        let event_for = |event: &'static str, name: String| {
            move |line: &str| {
                let words: Vec<&str> = line.split_whitespace().collect();
                words.first() == Some(&event) && words.get(1) == Some(&name.as_str())
            }
        };
        // The initial list arrives as ADDED events; after it, the watch is established.
        watch.wait_for(
            &format!("ADDED {seed}"),
            deadline,
            event_for("ADDED", seed.clone()),
        )?;
        let new_file = manifest(&cluster, &new, "yaml", &labeled(&new))?;
        k.run(&["create", "-f", &new_file])?.ok()?;
        watch.wait_for(
            &format!("ADDED {new}"),
            deadline,
            event_for("ADDED", new.clone()),
        )?;
        k.run(&["label", "cm", &new, "extra=1"])?.ok()?;
        watch.wait_for(
            &format!("MODIFIED {new}"),
            deadline,
            event_for("MODIFIED", new.clone()),
        )?;
        k.run(&["delete", "cm", &new])?.ok()?;
        watch.wait_for(
            &format!("DELETED {new}"),
            deadline,
            event_for("DELETED", new.clone()),
        )?;
        ensure!(watch.is_running(), "the watch ended on its own");
        Ok(())
    });
}

#[test]
fn dry_run_server_persists_nothing() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("dry");
        let file = manifest(
            &cluster,
            &name,
            "yaml",
            &configmap_yaml(&name, &[("a", "1")]),
        )?;
        for verb in ["create", "apply"] {
            k.run(&[verb, "-f", &file, "--dry-run=server"])?
                .ok()?
                .stdout_has(&format!("configmap/{name} created (server dry run)"))?;
            k.run(&["get", "cm", &name])?
                .failed()?
                .stderr_has("(NotFound)")?;
        }
        k.run(&["create", "-f", &file])?.ok()?;
        k.run(&[
            "patch",
            "cm",
            &name,
            "--type=merge",
            "-p",
            r#"{"data":{"a":"2"}}"#,
            "--dry-run=server",
        ])?
        .ok()?
        .stdout_has(&format!("configmap/{name} patched"))?;
        expect_eq(
            ".data.a after dry-run patch",
            &jsonpath(k, "cm", &name, "{.data.a}")?,
            "1",
        )?;
        // Validation still runs on a dry run.
        let bad = manifest(
            &cluster,
            &k.name("dry-bad"),
            "yaml",
            &configmap_yaml("Bad_Name", &[("a", "1")]),
        )?;
        k.run(&["create", "-f", &bad, "--dry-run=server"])?
            .failed()?
            .stderr_has("is invalid")?;
        Ok(())
    });
}

#[test]
fn delete_dry_run_server_keeps_the_object() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("dry-del");
        let file = manifest(
            &cluster,
            &name,
            "yaml",
            &configmap_yaml(&name, &[("a", "1")]),
        )?;
        k.run(&["create", "-f", &file])?.ok()?;
        k.run(&["delete", "cm", &name, "--dry-run=server"])?
            .ok()?
            .stdout_has(&format!("configmap \"{name}\" deleted (server dry run)"))?;
        k.run(&["get", "cm", &name])?.ok()?;
        Ok(())
    });
}

/// A two-replica Deployment manifest with one container named `web`.
fn deployment_yaml(name: &str, replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
"
    )
}

#[test]
fn deployment_apply_and_get() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("web");
        let file = manifest(&cluster, &name, "yaml", &deployment_yaml(&name, 2))?;
        k.run(&["apply", "-f", &file])?
            .ok()?
            .stdout_has(&format!("deployment.apps/{name} created"))?;
        let out = k.run(&["get", "deploy"])?.ok()?;
        ensure!(
            out.first_column().contains(&name.as_str()),
            "`get deploy` lacks {name}:\n{out}"
        );
        for kind in ["deployments.apps", "deployment.v1.apps"] {
            k.run(&["get", kind, &name, "-o", "name"])?
                .ok()?
                .stdout_has(&format!("deployment.apps/{name}"))?;
        }
        // The replicas asked for, then server-side defaulting as kubectl diff and apply expect it.
        let defaults = jsonpath(
            k,
            "deploy",
            &name,
            "{.spec.replicas},{.spec.strategy.type},{.spec.revisionHistoryLimit},{.spec.progressDeadlineSeconds},\
             {.spec.template.spec.containers[0].imagePullPolicy},{.spec.template.spec.restartPolicy}",
        )?;
        expect_eq(
            "defaults",
            &defaults,
            "2,RollingUpdate,10,600,IfNotPresent,Always",
        )?;
        let out = k.run(&["get", "all", "-o", "name"])?.ok()?;
        out.stdout_has(&format!("deployment.apps/{name}"))?;
        Ok(())
    });
}

#[test]
fn create_generators() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        // Up to 1.31 these bodies are JSON; from 1.32 on they are Kubernetes protobuf.
        let name = k.name("gen");
        k.run(&["create", "configmap", &name, "--from-literal=a=b"])?
            .ok()?
            .stdout_has(&format!("configmap/{name} created"))?;
        expect_eq(".data.a", &jsonpath(k, "cm", &name, "{.data.a}")?, "b")?;
        let deploy = k.name("gen-deploy");
        k.run(&[
            "create",
            "deployment",
            &deploy,
            "--image=nginx:1.27",
            "--replicas=2",
        ])?
        .ok()?
        .stdout_has(&format!("deployment.apps/{deploy} created"))?;
        let got = jsonpath(
            k,
            "deploy",
            &deploy,
            "{.spec.replicas},{.spec.template.spec.containers[0].image}",
        )?;
        expect_eq("deployment", &got, "2,nginx:1.27")?;
        Ok(())
    });
}

/// The words of the first stdout line.
fn header(out: &Output) -> Vec<&str> {
    out.stdout
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect()
}

/// The words of the stdout line whose first word is `name`.
fn row<'a>(out: &'a Output, name: &str) -> Result<Vec<&'a str>> {
    out.stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|words| words.first() == Some(&name))
        .with_context(|| format!("no row for {name}:\n{out}"))
}

#[test]
fn tables_have_the_kubernetes_columns() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("tbl");
        let data = [("a", "1"), ("b", "2")];
        let file = manifest(&cluster, &name, "yaml", &configmap_yaml(&name, &data))?;
        k.run(&["create", "-f", &file])?.ok()?;
        let out = k.run(&["get", "cm", &name])?.ok()?;
        ensure!(
            header(&out) == ["NAME", "DATA", "AGE"],
            "configmap columns:\n{out}"
        );
        ensure!(
            row(&out, &name)?.get(1) == Some(&"2"),
            "DATA is not 2:\n{out}"
        );

        let out = k.run(&["get", "ns"])?.ok()?;
        ensure!(
            header(&out) == ["NAME", "STATUS", "AGE"],
            "namespace columns:\n{out}"
        );
        ensure!(
            row(&out, "default")?.get(1) == Some(&"Active"),
            "default is not Active:\n{out}"
        );

        let deploy = manifest(
            &cluster,
            &k.name("tbl-deploy"),
            "yaml",
            &deployment_yaml(&name, 1),
        )?;
        k.run(&["create", "-f", &deploy])?.ok()?;
        let out = k.run(&["get", "deploy", &name])?.ok()?;
        let columns = ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"];
        ensure!(header(&out) == columns, "deployment columns:\n{out}");
        // READY is ready/desired; how many are ready depends on controllers, not on the table.
        let ready = row(&out, &name)?.get(1).copied().unwrap_or("");
        ensure!(ready.ends_with("/1"), "READY is not n/1:\n{out}");
        let out = k.run(&["get", "deploy", &name, "-o", "wide"])?.ok()?;
        let wide = [&columns[..], &["CONTAINERS", "IMAGES", "SELECTOR"]].concat();
        ensure!(header(&out) == wide, "wide deployment columns:\n{out}");
        let words = row(&out, &name)?;
        ensure!(
            words.ends_with(&["web", "nginx:1.27", &format!("app={name}")]),
            "wide deployment row:\n{out}"
        );
        Ok(())
    });
}

#[test]
#[ignore = "server-side apply is not served yet"]
fn server_side_apply() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("ssa");
        let file = manifest(
            &cluster,
            &name,
            "yaml",
            &configmap_yaml(&name, &[("a", "1")]),
        )?;
        k.run(&["apply", "--server-side", "-f", &file])?
            .ok()?
            .stdout_has(&format!("configmap/{name} serverside-applied"))?;
        let changed = manifest(
            &cluster,
            &format!("{name}-2"),
            "yaml",
            &configmap_yaml(&name, &[("a", "2")]),
        )?;
        k.run(&["apply", "--server-side", "-f", &changed])?.ok()?;
        expect_eq(".data.a", &jsonpath(k, "cm", &name, "{.data.a}")?, "2")?;
        Ok(())
    });
}

/// The managedFields of an object as `(manager, operation, subresource, fieldsV1)`, read
/// with `kubectl get -o json --show-managed-fields`.
fn managed_fields(
    k: &Kubectl,
    kind: &str,
    name: &str,
) -> Result<Vec<(String, String, String, serde_json::Value)>> {
    let out = k
        .run(&["get", kind, name, "-o", "json", "--show-managed-fields"])?
        .ok()?;
    let obj: serde_json::Value = serde_json::from_str(&out.stdout).context("object JSON")?;
    let entries = obj["metadata"]["managedFields"]
        .as_array()
        .with_context(|| format!("{kind}/{name} has no managedFields:\n{}", out.stdout))?;
    let s = |e: &serde_json::Value, k: &str| e[k].as_str().unwrap_or_default().to_owned();
    for e in entries {
        ensure!(
            e["fieldsType"] == "FieldsV1" && e["time"].is_string() && e["apiVersion"].is_string(),
            "malformed entry {e}"
        );
    }
    Ok(entries
        .iter()
        .map(|e| {
            (
                s(e, "manager"),
                s(e, "operation"),
                s(e, "subresource"),
                e["fieldsV1"].clone(),
            )
        })
        .collect())
}

/// An `EDITOR` for `kubectl edit`: a script that runs `sed -i EXPR` on the file to edit.
fn editor_script(cluster: &Cluster, name: &str, sed_expr: &str) -> Result<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = cluster.write_manifest(
        &format!("{name}-editor.sh"),
        &format!("#!/bin/sh\nexec sed -i '{sed_expr}' \"$1\"\n"),
    )?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path.display().to_string())
}

#[test]
fn managed_fields_follow_create_label_and_edit() {
    use serde_json::json;
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("mf");
        let file = manifest(
            &cluster,
            &name,
            "yaml",
            &configmap_yaml(&name, &[("a", "1"), ("b", "2")]),
        )?;
        k.run(&["create", "-f", &file])?.ok()?;
        let update = || "Update".to_owned();
        let none = String::new;
        ensure!(
            managed_fields(k, "cm", &name)?
                == vec![(
                    "kubectl-create".into(),
                    update(),
                    none(),
                    json!({"f:data": {".": {}, "f:a": {}, "f:b": {}}})
                )],
            "after create: {:?}",
            managed_fields(k, "cm", &name)?
        );
        // Hidden by default, shown on request.
        let plain = k.run(&["get", "cm", &name, "-o", "yaml"])?.ok()?;
        ensure!(
            !plain.stdout.contains("managedFields"),
            "shown without the flag:\n{plain}"
        );
        k.run(&["get", "cm", &name, "-o", "yaml", "--show-managed-fields"])?
            .ok()?
            .stdout_has("manager: kubectl-create")?;

        k.run(&["label", "cm", &name, "tier=web"])?.ok()?;
        let editor = editor_script(&cluster, &name, r#"s/^  a: "1"$/  a: "9"/"#)?;
        k.run_with_env(
            &["edit", "cm", &name],
            &[("EDITOR", &editor), ("KUBE_EDITOR", &editor)],
        )?
        .ok()?
        .stdout_has(&format!("configmap/{name} edited"))?;
        expect_eq(
            ".data.a after edit",
            &jsonpath(k, "cm", &name, "{.data.a}")?,
            "9",
        )?;
        let got = managed_fields(k, "cm", &name)?;
        let want = vec![
            (
                "kubectl-create".into(),
                update(),
                none(),
                json!({"f:data": {".": {}, "f:b": {}}}),
            ),
            (
                "kubectl-label".into(),
                update(),
                none(),
                json!({"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}}),
            ),
            (
                "kubectl-edit".into(),
                update(),
                none(),
                json!({"f:data": {"f:a": {}}}),
            ),
        ];
        for entry in &want {
            ensure!(got.contains(entry), "missing {entry:?} in {got:?}");
        }
        ensure!(got.len() == want.len(), "extra entries in {got:?}");

        // An edit that changes nothing sends nothing.
        let noop = editor_script(&cluster, &format!("{name}-noop"), "s/^NOTHING$//")?;
        k.run_with_env(
            &["edit", "cm", &name],
            &[("EDITOR", &noop), ("KUBE_EDITOR", &noop)],
        )?
        .ok()?
        .stderr_has("Edit cancelled, no changes made.")?;

        // A field manager that is too long is refused before anything is written.
        let long = "m".repeat(129);
        k.run(&[
            "label",
            "cm",
            &name,
            "x=y",
            &format!("--field-manager={long}"),
        ])?
        .failed()?
        .stderr_has("The PatchOptions \"\" is invalid: fieldManager: Too long")?;
        Ok(())
    });
}

/// A create's entry holds what the creator sent plus the defaults, not what admission or the
/// server adds afterwards (a pod's tolerations, priority and status).
#[test]
fn managed_fields_of_a_create_leave_out_server_additions() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("mfpod");
        let pod = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: app\n    image: registry.local/app:1\n"
        );
        let file = manifest(&cluster, &name, "yaml", &pod)?;
        k.run(&["create", "-f", &file])?.ok()?;
        let entries = managed_fields(k, "pod", &name)?;
        ensure!(entries.len() == 1, "one entry expected: {entries:?}");
        let (manager, _, _, fields) = &entries[0];
        ensure!(manager == "kubectl-create", "manager {manager}");
        let spec = &fields["f:spec"];
        for owned in [
            "f:dnsPolicy",
            "f:restartPolicy",
            "f:schedulerName",
            "f:terminationGracePeriodSeconds",
        ] {
            ensure!(spec.get(owned).is_some(), "{owned} missing from {fields}");
        }
        ensure!(
            spec["f:containers"]["k:{\"name\":\"app\"}"]["f:imagePullPolicy"].is_object(),
            "defaulted container fields missing from {fields}"
        );
        for server in ["f:tolerations", "f:priority", "f:preemptionPolicy"] {
            ensure!(spec.get(server).is_none(), "{server} recorded in {fields}");
        }
        ensure!(
            fields.get("f:status").is_none(),
            "status recorded in {fields}"
        );
        // The live object does have them.
        expect_eq(
            "phase",
            &jsonpath(k, "pod", &name, "{.status.phase}")?,
            "Pending",
        )?;
        k.run(&["delete", "pod", &name, "--wait=false"])?.ok()?;

        // A namespace's name label is a default: the creator's.
        let ns = k.name("mfns");
        k.run(&["create", "namespace", &ns])?.ok()?;
        let entries = managed_fields(k, "namespace", &ns)?;
        ensure!(
            entries.len() == 1
                && entries[0].3["f:metadata"]["f:labels"]["f:kubernetes.io/metadata.name"]
                    .is_object(),
            "namespace entries {entries:?}"
        );
        k.run(&["delete", "namespace", &ns, "--wait=false"])?.ok()?;
        Ok(())
    });
}

#[test]
fn wait_for_condition_jsonpath_and_delete() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("wait");
        let file = manifest(&cluster, &name, "yaml", &deployment_yaml(&name, 1))?;
        k.run(&["create", "-f", &file])?.ok()?;
        let target = format!("deployment/{name}");
        let mut available = k.stream(&[
            "wait",
            &target,
            "--for=condition=Available",
            "--timeout=120s",
        ])?;
        k.run(&[
            "patch",
            "deploy",
            &name,
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"conditions":[{"type":"Available","status":"True","reason":"MinimumReplicasAvailable"}]}}"#,
        ])?
        .ok()?;
        available.wait_for("condition met", Duration::from_secs(120), |l| {
            l.contains("condition met")
        })?;
        // The status write is recorded as the patcher's, on the status subresource.
        let entries = managed_fields(k, "deploy", &name)?;
        ensure!(
            entries.iter().any(|(m, _, sub, f)| m == "kubectl-patch"
                && sub == "status"
                && f["f:status"]["f:conditions"].is_object()),
            "no status entry in {entries:?}"
        );

        let mut replicas = k.stream(&[
            "wait",
            &target,
            "--for=jsonpath={.spec.replicas}=3",
            "--timeout=120s",
        ])?;
        k.run(&["scale", &target, "--replicas=3"])?.ok()?;
        replicas.wait_for("condition met", Duration::from_secs(120), |l| {
            l.contains("condition met")
        })?;
        let entries = managed_fields(k, "deploy", &name)?;
        ensure!(
            entries
                .iter()
                .any(|(_, _, sub, f)| sub == "scale" && f["f:spec"]["f:replicas"].is_object()),
            "no scale entry in {entries:?}"
        );

        // A finalizer holds the object while kubectl waits for it to go.
        k.run(&[
            "patch",
            "deploy",
            &name,
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":["example.com/hold"]}}"#,
        ])?
        .ok()?;
        k.run(&["delete", &target, "--wait=false"])?.ok()?;
        let mut deleted = k.stream(&["wait", &target, "--for=delete", "--timeout=120s"])?;
        k.run(&[
            "patch",
            "deploy",
            &name,
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
        ])?
        .ok()?;
        let status = deleted.finish(Duration::from_secs(120))?;
        ensure!(status.success(), "wait --for=delete exited with {status}");
        k.run(&["get", &target])?
            .failed()?
            .stderr_has("(NotFound)")?;
        // Nothing left to wait for: done at once.
        k.run(&["wait", &target, "--for=delete", "--timeout=10s"])?
            .ok()?;
        Ok(())
    });
}

#[test]
fn diff_shows_a_changed_manifest_and_writes_nothing() {
    let cluster = cluster();
    with_every_kubectl(&cluster, |k| {
        let name = k.name("diff");
        let file = manifest(
            &cluster,
            &name,
            "yaml",
            &configmap_yaml(&name, &[("a", "1")]),
        )?;
        k.run(&["apply", "-f", &file])?.ok()?;
        let rv = jsonpath(k, "cm", &name, "{.metadata.resourceVersion}")?;
        let same = k.run(&["diff", "-f", &file])?;
        ensure!(
            same.success() && same.stdout.trim().is_empty(),
            "diff of the applied manifest:\n{same}"
        );

        let changed = manifest(
            &cluster,
            &format!("{name}-2"),
            "yaml",
            &configmap_yaml(&name, &[("a", "2")]),
        )?;
        let out = k.run(&["diff", "-f", &changed])?;
        ensure!(
            out.status.code() == Some(1),
            "diff of a changed manifest should exit 1:\n{out}"
        );
        out.stdout_has("-  a: \"1\"")?;
        out.stdout_has("+  a: \"2\"")?;
        // Only the data differs: the dry run keeps the resourceVersion and every other field.
        let changes: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with(['-', '+']) && !l.starts_with("---") && !l.starts_with("+++"))
            .collect();
        ensure!(
            changes == ["-  a: \"1\"", "+  a: \"2\""],
            "unexpected changes {changes:?}:\n{out}"
        );
        ensure!(
            !out.stdout.contains("resourceVersion"),
            "resourceVersion differs:\n{out}"
        );
        // Server dry runs of a replace and a patch answer with the stored version.
        for args in [
            vec!["replace", "-f", changed.as_str()],
            vec![
                "patch",
                "cm",
                name.as_str(),
                "--type=merge",
                "-p",
                r#"{"data":{"a":"3"}}"#,
            ],
        ] {
            let mut args = args;
            args.extend([
                "--dry-run=server",
                "-o",
                "jsonpath={.metadata.resourceVersion}",
            ]);
            let out = k.run(&args)?.ok()?;
            expect_eq(
                &format!("resourceVersion of {}", args[0]),
                out.stdout.trim(),
                &rv,
            )?;
        }
        expect_eq(
            "resourceVersion after diff",
            &jsonpath(k, "cm", &name, "{.metadata.resourceVersion}")?,
            &rv,
        )?;
        expect_eq(
            ".data.a after diff",
            &jsonpath(k, "cm", &name, "{.data.a}")?,
            "1",
        )?;
        Ok(())
    });
}
