//! The served OpenAPI document stays valid 3.1 for typed-client generators: every
//! response has a description and every operation a unique id.

mod support;

use std::collections::HashSet;

use serde_json::Value;
use support::app::spawn_app;

#[tokio::test]
async fn every_response_is_described_and_every_operation_id_is_unique() {
    let app = spawn_app(&[]).await;
    let doc: Value = app
        .get("/api/openapi.json")
        .await
        .json()
        .await
        .expect("JSON");
    app.stop().await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    let mut ids = HashSet::new();
    let mut undescribed = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            assert!(ids.insert(id.clone()), "operationId {id} is used twice");
            for (code, response) in op["responses"].as_object().expect("responses") {
                if response["description"].as_str().is_none_or(str::is_empty) {
                    undescribed.push(format!("{method} {path} {code}"));
                }
            }
        }
    }
    assert!(
        undescribed.is_empty(),
        "responses without a description: {undescribed:?}"
    );
}

#[tokio::test]
async fn the_agent_progress_event_payload_is_documented() {
    let app = spawn_app(&[]).await;
    let doc: Value = app
        .get("/api/openapi.json")
        .await
        .json()
        .await
        .expect("JSON");
    app.stop().await;
    let schema = &doc["components"]["schemas"]["AgentProgressEvent"];
    let properties = schema["properties"].as_object().expect("properties");
    let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["agent", "text", "tokens"]);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        required.contains(&"agent") && required.contains(&"tokens") && !required.contains(&"text")
    );
    let stream = doc["paths"]["/v1/stream/{job_id}"]["get"]["responses"]["200"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(stream.contains("agent_progress"), "{stream}");
}
