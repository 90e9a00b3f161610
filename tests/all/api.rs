//! The HTTP surface beyond queries: OpenAPI, health, and graceful shutdown on a real socket.

use std::time::Duration;

use serde_json::json;

use crate::harness::{KEY, PgSchema, SQLITE, Sluice};

#[tokio::test]
async fn openapi_document_is_generated_from_the_code() {
    let sluice = Sluice::with_datasource(SQLITE).await;
    let (status, doc) = sluice.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let query = &doc["paths"]["/v1/query"]["post"];
    for code in ["200", "400", "401", "403", "413", "502", "503", "504"] {
        assert!(query["responses"][code].is_object(), "response {code} documented");
    }
    let schemas = &doc["components"]["schemas"];
    for field in ["datasource", "sql", "params", "justification"] {
        assert!(schemas["QueryRequest"]["properties"][field].is_object(), "{field}");
    }
    assert!(schemas["QueryResponse"]["properties"]["trace_id"].is_object());
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let (status, body) = sluice.get("/healthz").await;
    assert_eq!((status.as_u16(), body), (200, json!({"status": "ok"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_in_flight_requests() {
    let schema = PgSchema::new("").await;
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sluice::server::serve(sluice.gateway.clone(), listener, async {
        let _ = stop_rx.await;
    }));

    let client = reqwest::Client::new();
    let url = format!("http://{address}/v1/query");
    let in_flight = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move {
            client
                .post(url)
                .bearer_auth(KEY)
                .json(&json!({"datasource": "app", "sql": "SELECT pg_sleep(1)::text AS slept"}))
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_tx.send(()).unwrap();

    let response = in_flight.await.unwrap().expect("the in-flight request completes");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["rows"], json!([[""]]));
    server.await.unwrap().expect("server stops cleanly");
    assert!(
        reqwest::Client::new().get(format!("http://{address}/healthz")).send().await.is_err(),
        "no longer listening"
    );
}
