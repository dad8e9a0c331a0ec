//! Stock kubectl against a live berth-apiserver: `kubectl explain` reads the OpenAPI v3
//! documents, and `kubectl apply` trusts the server with field validation.
//!
//! kubectl 1.27 and 1.28 also read the Swagger 2.0 document at `/openapi/v2`, as protobuf:
//! for `explain --output=plaintext-openapiv2` (which later releases keep), for client-side
//! validation where the server cannot validate (a `List` file), and for the strategic-merge
//! metadata of `kubectl apply`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KUBECTL_DIR: &str = "/usr/lib/google-cloud-sdk/bin";
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(50);

/// A berth-apiserver on a kernel-chosen port with a throw-away data directory; killed when
/// dropped, also while a failing test unwinds.
struct Server {
    child: Child,
    dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::Builder::new()
            .prefix("berth-openapi-")
            .tempdir()
            .expect("temp dir");
        let log = std::fs::File::create(dir.path().join("apiserver.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_berth-apiserver"))
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--bind-address", "127.0.0.1", "--secure-port", "0"])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("starting berth-apiserver");
        let mut server = Server { child, dir };
        server.wait_ready();
        server
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("data").join("admin.kubeconfig")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("apiserver.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last = String::from("the kubeconfig was never written");
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("berth-apiserver exited with {status}:\n{}", self.log());
            }
            if self.kubeconfig().is_file() {
                let out = self.kubectl(33, &["get", "--raw", "/readyz"]);
                if out.ok && out.stdout.trim() == "ok" {
                    return;
                }
                last = out.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "/readyz not ok after {READY_TIMEOUT:?}: {last}\n{}",
                self.log()
            );
            std::thread::sleep(POLL);
        }
    }

    /// Runs kubectl 1.`minor` against this server, killing it if it outlives the timeout.
    fn kubectl(&self, minor: u32, args: &[&str]) -> Output {
        let binary = Path::new(KUBECTL_DIR).join(format!("kubectl.1.{minor}"));
        assert!(binary.is_file(), "{} is not installed", binary.display());
        let mut child = Command::new(&binary)
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .arg("--cache-dir")
            .arg(self.dir.path().join(format!("cache-{minor}")))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting kubectl");
        // Readers on their own threads, so a chatty kubectl never blocks on a full pipe.
        let mut stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let out_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for kubectl") {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(POLL);
        };
        Output {
            command: format!("kubectl.1.{minor} {}", args.join(" ")),
            ok: status.is_some_and(|s| s.success()),
            timed_out: status.is_none(),
            stdout: out_reader.join().unwrap_or_default(),
            stderr: err_reader.join().unwrap_or_default(),
        }
    }

    fn manifest(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("writing a manifest");
        path.display().to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Errors only mean the process is already gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Output {
    command: String,
    ok: bool,
    timed_out: bool,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = if self.timed_out {
            "timed out"
        } else if self.ok {
            "succeeded"
        } else {
            "failed"
        };
        write!(
            f,
            "`{}` {how}\n--- stdout\n{}\n--- stderr\n{}",
            self.command, self.stdout, self.stderr
        )
    }
}

const UNKNOWN_FIELDS: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicaz: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: nginx
        imagee: nginx
";

#[test]
fn explain_reads_the_v3_schemas() {
    let server = Server::start();
    let out = server.kubectl(33, &["explain", "deployment.spec.replicas"]);
    assert!(out.ok, "{out}");
    for want in [
        "GROUP:      apps",
        "KIND:       Deployment",
        "FIELD: replicas <integer>",
        "Number of desired pods",
    ] {
        assert!(out.stdout.contains(want), "missing {want:?}: {out}");
    }
    let out = server.kubectl(33, &["explain", "deployment.spec.strategy"]);
    assert!(out.ok, "{out}");
    assert!(
        out.stdout
            .contains("rollingUpdate\t<RollingUpdateDeployment>"),
        "{out}"
    );
    let out = server.kubectl(29, &["explain", "pods.spec.containers"]);
    assert!(out.ok, "{out}");
    assert!(
        out.stdout.contains("FIELD: containers <[]Container>")
            && out.stdout.contains("imagePullPolicy\t<string>"),
        "{out}"
    );
    // 1.27 reads the v2 document first, then explains from v3.
    let out = server.kubectl(27, &["explain", "pods"]);
    assert!(out.ok, "{out}");
    assert!(
        out.stdout.contains("KIND:       Pod") && out.stdout.contains("spec\t<PodSpec>"),
        "{out}"
    );
}

#[test]
fn apply_with_unknown_fields_is_refused_by_the_server() {
    let server = Server::start();
    let file = server.manifest("unknown.yaml", UNKNOWN_FIELDS);
    let out = server.kubectl(33, &["apply", "-f", &file, "-v=6"]);
    assert!(!out.ok, "{out}");
    assert!(
        out.stderr.contains("fieldValidation=Strict"),
        "kubectl did not leave validation to the server: {out}"
    );
    assert!(
        out.stderr.contains(
            r#"Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicaz", unknown field "spec.template.spec.containers[0].imagee""#
        ),
        "{out}"
    );
    let out = server.kubectl(33, &["get", "deployment", "web"]);
    assert!(!out.ok, "a refused object was stored: {out}");

    // Warn accepts, says which fields it dropped, and drops them.
    let out = server.kubectl(33, &["apply", "-f", &file, "--validate=warn"]);
    assert!(out.ok, "{out}");
    assert!(
        out.stderr
            .contains(r#"Warning: unknown field "spec.replicaz""#),
        "{out}"
    );
    let out = server.kubectl(33, &["get", "deployment", "web", "-o", "jsonpath={.spec}"]);
    assert!(
        out.ok && !out.stdout.contains("replicaz") && !out.stdout.contains("imagee"),
        "{out}"
    );

    // A later apply patches the live object, again with Strict, and the patched object is
    // checked: the manifest still names the fields the server dropped.
    let out = server.kubectl(33, &["apply", "-f", &file, "-v=6"]);
    assert!(!out.ok, "{out}");
    assert!(
        out.stderr.contains("PATCH") && out.stderr.contains("fieldValidation=Strict"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains(r#"strict decoding error: unknown field "spec.replicaz""#),
        "{out}"
    );

    // `kubectl patch` names no directive, so the server's default, Warn, applies.
    let out = server.kubectl(
        33,
        &[
            "patch",
            "deployment",
            "web",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicaz":3,"replicas":3}}"#,
        ],
    );
    assert!(out.ok, "{out}");
    assert!(
        out.stderr
            .contains(r#"Warning: unknown field "spec.replicaz""#),
        "{out}"
    );
    let out = server.kubectl(
        33,
        &[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.replicas}",
        ],
    );
    assert!(out.ok && out.stdout.trim() == "3", "{out}");
}

#[test]
fn duplicate_fields_follow_the_directive() {
    let server = Server::start();
    // kubectl never sends duplicate keys itself; `create --raw` posts the file as it is.
    let file = server.manifest(
        "dup.json",
        r#"{"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "first", "name": "dup", "labelz": {}},
            "data": {"a": "1", "a": "2"}}"#,
    );
    let create = |query: &str| {
        let uri = format!("/api/v1/namespaces/default/configmaps{query}");
        server.kubectl(33, &["create", "--raw", &uri, "-f", &file])
    };
    let out = create("?fieldValidation=Strict");
    assert!(!out.ok, "{out}");
    assert!(
        out.stderr.contains(
            r#"Error from server (BadRequest): ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field "metadata.name", unknown field "metadata.labelz", duplicate field "data.a""#
        ),
        "{out}"
    );
    // No directive means Warn: one warning per finding, the last duplicate wins.
    let out = create("");
    assert!(out.ok, "{out}");
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("Warning: "))
        .collect();
    assert_eq!(
        warnings,
        [
            r#"Warning: duplicate field "metadata.name""#,
            r#"Warning: unknown field "metadata.labelz""#,
            r#"Warning: duplicate field "data.a""#
        ],
        "{out}"
    );
    let out = server.kubectl(33, &["get", "configmap", "dup", "-o", "jsonpath={.data.a}"]);
    assert!(out.ok && out.stdout == "2", "{out}");
    let out = server.kubectl(33, &["delete", "configmap", "dup"]);
    assert!(out.ok, "{out}");
    let out = create("?fieldValidation=Ignore");
    assert!(out.ok && !out.stderr.contains("Warning"), "{out}");
}

#[test]
fn explain_reads_the_v2_document() {
    let server = Server::start();
    for minor in [27, 28, 33] {
        let out = server.kubectl(
            minor,
            &[
                "explain",
                "--output=plaintext-openapiv2",
                "pods.spec.containers",
            ],
        );
        assert!(out.ok, "{out}");
        for want in [
            "KIND:     Pod",
            "RESOURCE: containers <[]Object>",
            "List of containers belonging to the pod.",
            "imagePullPolicy\t<string>",
            "ports\t<[]Object>",
        ] {
            assert!(out.stdout.contains(want), "missing {want:?}: {out}");
        }
    }
    let out = server.kubectl(
        27,
        &[
            "explain",
            "--output=plaintext-openapiv2",
            "deployments.spec.strategy",
        ],
    );
    assert!(out.ok, "{out}");
    assert!(
        out.stdout.contains("VERSION:  apps/v1") && out.stdout.contains("rollingUpdate\t<Object>"),
        "{out}"
    );
}

/// A `List` is the one file kubectl validates itself even against a server that validates
/// fields: it cannot ask the server about the kind `List`, so it checks every item against
/// the v2 definitions before sending anything.
const UNKNOWN_FIELDS_LIST: &str = "\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: bad
    labelz: {a: b}
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
  spec:
    replicas: two
    selector:
      matchLabels: {app: web}
    template:
      metadata:
        labels: {app: web}
      spec:
        containers:
        - name: c
          image: nginx
          imagee: nginx
";

#[test]
fn strict_validation_on_the_client_reads_the_v2_definitions() {
    let server = Server::start();
    let file = server.manifest("list.yaml", UNKNOWN_FIELDS_LIST);
    for minor in [27, 28] {
        let out = server.kubectl(minor, &["create", "--validate=strict", "-f", &file]);
        assert!(!out.ok, "{out}");
        for want in [
            r#"error validating data: ["#,
            r#"ValidationError(ConfigMap.metadata): unknown field "labelz" in io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"#,
            r#"ValidationError(Deployment.spec.replicas): invalid type for io.k8s.api.apps.v1.DeploymentSpec.replicas: got "string", expected "integer""#,
            r#"ValidationError(Deployment.spec.template.spec.containers[0]): unknown field "imagee" in io.k8s.api.core.v1.Container"#,
        ] {
            assert!(out.stderr.contains(want), "missing {want:?}: {out}");
        }
        // Nothing was sent.
        let out = server.kubectl(minor, &["get", "configmap", "bad"]);
        assert!(!out.ok && out.stderr.contains("NotFound"), "{out}");
    }
    // The same file without the unknown fields passes the client and is created.
    let good = UNKNOWN_FIELDS_LIST
        .replace("    labelz: {a: b}\n", "")
        .replace("replicas: two", "replicas: 2")
        .replace("          imagee: nginx\n", "");
    let file = server.manifest("good.yaml", &good);
    let out = server.kubectl(27, &["create", "--validate=strict", "-f", &file]);
    assert!(out.ok, "{out}");
    assert!(
        out.stdout.contains("configmap/bad created")
            && out.stdout.contains("deployment.apps/web created"),
        "{out}"
    );
}

const TWO_CONTAINERS: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: a
        image: nginx:1
      - name: b
        image: busybox:1
";

#[test]
fn apply_twice_merges_lists_by_their_key() {
    let server = Server::start();
    for minor in [27, 28] {
        let name = format!("web{minor}");
        let first = TWO_CONTAINERS.replace("name: web\n", &format!("name: {name}\n"));
        let file = server.manifest(&format!("first-{minor}.yaml"), &first);
        let out = server.kubectl(minor, &["apply", "-f", &file]);
        assert!(out.ok && out.stdout.contains("created"), "{out}");
        // Another manager changes container a; the manifest never mentions env.
        let out = server.kubectl(
            33,
            &[
                "set",
                "env",
                &format!("deployment/{name}"),
                "-c",
                "a",
                "FOO=bar",
            ],
        );
        assert!(out.ok, "{out}");
        let second = first
            .replace("busybox:1", "busybox:2")
            .replace("replicas: 1", "replicas: 2");
        let file = server.manifest(&format!("second-{minor}.yaml"), &second);
        let out = server.kubectl(minor, &["apply", "-f", &file, "-v=8"]);
        assert!(out.ok && out.stdout.contains("configured"), "{out}");
        // A strategic merge patch that names only the changed container, by its key.
        assert!(
            out.stderr
                .contains(r#""$setElementOrder/containers":[{"name":"a"},{"name":"b"}]"#)
                && out
                    .stderr
                    .contains(r#""containers":[{"image":"busybox:2","name":"b"}]"#),
            "{out}"
        );
        let out = server.kubectl(
            33,
            &[
                "get",
                "deployment",
                &name,
                "-o",
                "jsonpath={.spec.replicas} {.spec.template.spec.containers[*].image} {.spec.template.spec.containers[0].env[0].value}",
            ],
        );
        assert!(out.ok, "{out}");
        assert_eq!(out.stdout, "2 nginx:1 busybox:2 bar", "{out}");
    }
}
