//! The approver console in a real headless Chromium, driven over WebDriver (chromedriver),
//! against a real Sluice listening on a port: what an approver sees and does, end to end.
//! Each view's screenshot is written beside the console's sources (see the README).
//!
//! Needs Debian's `chromium` and `chromium-driver`, which `tests/run` installs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::access::{DBA1, ONCALL, config};
use crate::harness::{KEY, SQLITE, TempDir, repo};

/// Where the screenshots go: committed, shown in the README.
fn screenshots() -> PathBuf {
    repo().join("core/src/http/console/screenshots")
}

/// chromedriver and the browser session it drives, both ended on drop.
struct Browser {
    driver: std::process::Child,
    client: Client,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = std::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chromedriver is not installed: tests/run installs Debian's chromium-driver");
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1000", "--lang=en-GB"],
            }
        });
        let capabilities = capabilities.as_object().unwrap().clone();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let connected = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
            match connected {
                Ok(client) => return Browser { driver, client },
                Err(e) if Instant::now() > deadline => panic!("cannot start a Chromium session: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        self.client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("{selector}: {e}"))
    }

    /// The text of `selector` once `ready` holds for it, within ten seconds.
    async fn until(&self, selector: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(element) = self.client.find(Locator::Css(selector)).await
                && let Ok(text) = element.text().await
            {
                if ready(&text) {
                    return text;
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        panic!("{selector} never became ready; last text: {last:?}");
    }

    /// Waits until nothing matches `selector`.
    async fn gone(&self, selector: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.client.find_all(Locator::Css(selector)).await.unwrap().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        panic!("{selector} is still there");
    }

    async fn sign_in(&self, base: &str, token: &str) {
        self.client.goto(&format!("{base}/console")).await.unwrap();
        let _ = self.client.execute("sessionStorage.clear()", vec![]).await;
        self.client.goto(&format!("{base}/console")).await.unwrap();
        self.css("#token").await.send_keys(token).await.unwrap();
        self.css("#sign-in-form button[type=submit]").await.click().await.unwrap();
    }

    async fn tab(&self, view: &str) {
        self.css(&format!("#tab-{view}")).await.click().await.unwrap();
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::create_dir_all(screenshots()).unwrap();
        std::fs::write(screenshots().join(name), png).unwrap();
    }
}

/// `POST path` on the running Sluice as `token`.
async fn call(base: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn run(base: &str, token: &str, sql: &str) -> (u16, Value) {
    call(base, "/v1/query", token, json!({"datasource": "app", "sql": sql, "justification": "INC-4711"}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_reviews_grants_and_revokes_from_the_console() {
    let dir = TempDir::new();
    std::fs::write(
        dir.path().join("init.sql"),
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT); INSERT INTO orders VALUES (42, 'stuck');\n",
    )
    .unwrap();
    let toml = config(SQLITE, "approvers = [\"dba\"]\nbreak_glass_roles = [\"oncall\"]");
    let config = sluice_core::config::parse(&toml, &dir.path().join("sluice.toml"), |_| None).unwrap();
    let gateway = sluice::build_gateway(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sluice::server::serve(gateway, listener, async {
        let _ = stopped.await;
    }));

    // The page and its assets carry the security headers; nothing is inline.
    let page = reqwest::get(format!("{base}/console")).await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(page.headers().get("set-cookie").is_none());
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("style=") && !html.contains("<style") && !html.contains("<script>"),
        "inline code"
    );

    let browser = Browser::start().await;

    // A wrong token: a clear error, nothing shown.
    browser.sign_in(&base, "sk_not_a_key").await;
    let error = browser.until("#banner", |t| !t.is_empty()).await;
    assert!(error.contains("not accepted") && error.contains("unauthenticated"), "{error}");
    assert!(!browser.css("#app").await.is_displayed().await.unwrap());
    browser.screenshot("sign-in-error.png").await;

    // The approver signs in and sees who they are.
    browser.sign_in(&base, DBA1).await;
    browser.until("#who-name", |t| t == "dba1").await;
    let roles = browser.until("#who-roles", |t| !t.is_empty()).await;
    assert!(roles.contains("dba"), "{roles}");
    browser.until("#review-list", |t| t.contains("Nothing to review")).await;
    // Keyboard: the arrow keys move between views.
    browser.css("#tab-review").await.send_keys("\u{e014}").await.unwrap();
    let selected = browser.css("#tab-mine").await.attr("aria-selected").await.unwrap();
    assert_eq!(selected.as_deref(), Some("true"));
    browser.css("#tab-mine").await.send_keys("\u{e012}").await.unwrap();
    assert!(browser.css("#view-review").await.is_displayed().await.unwrap());

    // A requester's held statement appears within seconds, without a reload; so does the
    // approver's own, which the page does not offer to approve.
    let fix = "UPDATE orders SET status = 'done' WHERE id = 42";
    let (status, body) = run(&base, KEY, fix).await;
    assert_eq!(status, 202, "{body}");
    let id = body["approval"]["request"]["id"].as_str().unwrap().to_owned();
    let (status, body) = run(&base, DBA1, "DELETE FROM orders WHERE id = 42").await;
    assert_eq!(status, 202, "{body}");
    let own = body["approval"]["request"]["id"].as_str().unwrap().to_owned();
    let card = format!("article[data-request-id='{id}']");
    let text = browser.until(&card, |t| t.contains("UPDATE")).await;
    assert!(text.contains("tester") && text.contains("INC-4711") && text.contains("0 of 1"), "{text}");
    let own_card = format!("article[data-request-id='{own}']");
    let text = browser.until(&own_card, |t| t.contains("your request")).await;
    assert!(text.contains("cannot review your own request"), "{text}");
    let offered =
        browser.client.find_all(Locator::Css(&format!("{own_card} [data-action=approve]"))).await.unwrap();
    assert!(offered.is_empty(), "self-approval is not offered");
    let (status, body) = call(&base, &format!("/v1/access-requests/{own}/approve"), DBA1, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "and the API refuses it");
    browser.screenshot("review.png").await;

    // Approving from the page lets the statement run, once.
    browser.css(&format!("{card} input.comment")).await.send_keys("checked with the customer").await.unwrap();
    browser.css(&format!("{card} [data-action=approve]")).await.click().await.unwrap();
    browser.until("#banner", |t| t.contains("approved")).await;
    browser.gone(&card).await;
    let (status, body) = run(&base, KEY, fix).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows_affected"], 1);

    // A window grant, revoked from the page, covers nothing any more.
    let (status, asked) = call(
        &base,
        "/v1/access-requests",
        KEY,
        json!({"datasource": "app", "sql": "SELECT status FROM orders WHERE id = 42", "uses": "window",
               "duration_seconds": 600, "justification": "INC-4712"}),
    )
    .await;
    assert_eq!(status, 200, "{asked}");
    let path = format!("/v1/access-requests/{}/approve", asked["id"].as_str().unwrap());
    let (status, approved) = call(&base, &path, DBA1, json!({"comment": "for the incident"})).await;
    assert_eq!(status, 200, "{approved}");
    let grant = approved["grant_id"].as_str().unwrap().to_owned();
    assert_eq!(run(&base, KEY, "SELECT status FROM orders WHERE id = 42").await.0, 200);
    browser.tab("grants").await;
    let grant_card = format!("article[data-grant-id='{grant}']");
    let text = browser.until(&grant_card, |t| t.contains("SELECT")).await;
    assert!(text.contains("dba1") && text.contains("any number until it expires"), "{text}");
    browser.screenshot("grants.png").await;
    browser.css(&format!("{grant_card} input.comment")).await.send_keys("incident closed").await.unwrap();
    browser.css(&format!("{grant_card} [data-action=revoke]")).await.click().await.unwrap();
    browser.until("#banner", |t| t.contains("revoked")).await;
    browser.gone(&grant_card).await;
    assert_eq!(run(&base, KEY, "SELECT status FROM orders WHERE id = 42").await.0, 202, "held again");

    // Break-glass use waits for review by someone else, with a comment.
    let (status, glass) = call(
        &base,
        "/v1/access-requests",
        ONCALL,
        json!({"datasource": "app", "sql": "DELETE FROM orders WHERE id = 42", "break_glass": true,
               "justification": "outage, pager 99"}),
    )
    .await;
    assert_eq!(status, 200, "{glass}");
    let glass_id = glass["id"].as_str().unwrap().to_owned();
    browser.tab("breakglass").await;
    let glass_card = format!("article[data-request-id='{glass_id}']");
    let text = browser.until(&glass_card, |t| t.contains("outage")).await;
    assert!(text.contains("break-glass") && text.contains("oncall"), "{text}");
    browser.screenshot("break-glass.png").await;
    browser.css(&format!("{glass_card} [data-action=approve]")).await.click().await.unwrap();
    browser.until("#banner", |t| t.contains("comment is required")).await;
    browser
        .css(&format!("{glass_card} input.comment"))
        .await
        .send_keys("looked at the pager log")
        .await
        .unwrap();
    browser.css(&format!("{glass_card} [data-action=approve]")).await.click().await.unwrap();
    browser.gone(&glass_card).await;
    let reviewed: Value = reqwest::Client::new()
        .get(format!("{base}/v1/access-requests/{glass_id}"))
        .bearer_auth(DBA1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reviewed["reviews"][0]["comment"], "looked at the pager log", "{reviewed}");

    // The requester's own view: their requests, and asking ahead from the page.
    browser.sign_in(&base, KEY).await;
    browser.until("#who-name", |t| t == "tester").await;
    browser.tab("mine").await;
    browser.until("#mine-list", |t| t.contains("INC-4712")).await;
    browser.css("#ask summary").await.click().await.unwrap();
    browser.css("#ask-datasource").await.send_keys("app").await.unwrap();
    browser.css("#ask-target").await.send_keys("DELETE FROM orders WHERE id = 7").await.unwrap();
    browser.css("#ask-justification").await.send_keys("INC-4713 cleanup").await.unwrap();
    browser.css("#ask-form button[type=submit]").await.click().await.unwrap();
    browser.until("#banner", |t| t.contains("Request filed")).await;
    browser.until("#mine-list", |t| t.contains("INC-4713")).await;
    browser.screenshot("mine.png").await;

    // Readable at 400 px wide.
    browser.client.set_window_size(400, 900).await.unwrap();
    browser.sign_in(&base, DBA1).await;
    browser.until("#review-list", |t| t.contains("INC-4713")).await;
    let overflow: Value = browser
        .client
        .execute("return document.documentElement.scrollWidth > window.innerWidth", vec![])
        .await
        .unwrap();
    assert_eq!(overflow, json!(false), "nothing is wider than the window");
    browser.screenshot("review-narrow.png").await;

    let _ = browser.client.clone().close().await;
    let _ = stop.send(());
    let _ = server.await;
}
