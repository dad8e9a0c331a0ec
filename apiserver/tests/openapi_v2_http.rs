//! `/openapi/v2` over HTTPS from a live berth-apiserver: the form each `Accept` gets, the
//! content type kubectl 1.27 and 1.28 require, revalidation with `ETag`, and the `Status` of
//! an `Accept` no form satisfies.

mod common;

use berth_apiserver::openapi::gnostic;
use common::Server;
use prost::Message;
use serde_json::Value;

const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
/// What kubectl 1.27 and 1.28 send.
const KUBECTL_ACCEPT: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

#[tokio::test]
async fn v2_is_served_in_the_form_asked_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[]).await.expect("server");
    let client = server.client().await.expect("client");

    let (status, head, proto) = client
        .get_with_headers("/openapi/v2", &[("accept", KUBECTL_ACCEPT)])
        .await
        .expect("protobuf");
    assert_eq!(status, 200);
    assert_eq!(head["content-type"], PROTOBUF);
    let doc = gnostic::Document::decode(proto.clone()).expect("a gnostic Document");
    assert_eq!(doc.swagger, "2.0");

    let (status, head_json, json) = client
        .get_with_headers("/openapi/v2", &[("accept", "application/json")])
        .await
        .expect("JSON");
    assert_eq!(status, 200);
    assert_eq!(head_json["content-type"], "application/json");
    let json: Value = serde_json::from_slice(&json).expect("JSON document");
    assert_eq!(
        gnostic::document(&json),
        doc,
        "both forms carry the same document"
    );
    assert_eq!(
        json["definitions"]["io.k8s.api.core.v1.Pod"]["properties"]["spec"]["$ref"],
        "#/definitions/io.k8s.api.core.v1.PodSpec"
    );

    // Revalidation: the tag of each form answers 304 for that form only.
    let etag = head["etag"].to_str().expect("ETag").to_owned();
    let (status, _, body) = client
        .get_with_headers(
            "/openapi/v2",
            &[("accept", KUBECTL_ACCEPT), ("if-none-match", &etag)],
        )
        .await
        .expect("revalidation");
    assert_eq!(status, 304);
    assert!(body.is_empty());
    let (status, _, _) = client
        .get_with_headers(
            "/openapi/v2",
            &[("accept", "application/json"), ("if-none-match", &etag)],
        )
        .await
        .expect("JSON revalidation");
    assert_eq!(status, 200);

    let (status, head, body) = client
        .get_with_headers("/openapi/v2", &[("accept", "text/html")])
        .await
        .expect("406");
    assert_eq!(status, 406);
    assert_eq!(head["content-type"], "application/json");
    let st: Value = serde_json::from_slice(&body).expect("a Status");
    assert_eq!(st["kind"], "Status");
    assert_eq!(st["reason"], "NotAcceptable");
    assert_eq!(st["code"], 406);
}
