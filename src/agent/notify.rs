//! `--notify-url`: a JSON POST with a `text` field (what Slack and Teams incoming webhooks show)
//! when drift is found, changes are applied, or a reconcile is blocked or fails. The same plan
//! with the same result is announced once: an agent finding the same drift every five minutes
//! would otherwise teach its readers to ignore it.

use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use sha2::{Digest, Sha256};

use super::status::{Last, Outcome};
use super::{Redactor, lock};

/// How many changes a message names before it only counts the rest.
const NAMED: usize = 10;

pub struct Notifier {
    url: String,
    client: reqwest::Client,
    /// The fingerprint of the last announcement.
    announced: Mutex<Option<Vec<u8>>>,
}

impl Notifier {
    /// Refuses plain `http` off loopback (the rule `api_url` follows): the URL is a credential
    /// and the messages name customers. Messages never mention the URL: it is a secret.
    pub fn new(url: &str) -> anyhow::Result<Notifier> {
        let parsed = url::Url::parse(url).context("--notify-url is not a URL")?;
        let loopback = crate::remote::client::is_loopback(&parsed);
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => anyhow::bail!(
                "--notify-url uses plain http; only https is allowed (plain http only for loopback addresses)"
            ),
            _ => anyhow::bail!("--notify-url must be an https:// URL"),
        }
        let mut client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            // A redirect would send the message, and with it the names of customers, wherever
            // it points, with a Referer holding the secret URL: a 3xx is a failed notification.
            .redirect(reqwest::redirect::Policy::none())
            .referer(false);
        if parsed.scheme() == "http" {
            // Plain http is allowed because it never leaves the machine; a proxy from the
            // environment would carry it off in clear text.
            client = client.no_proxy();
        }
        let client = client
            .build()
            .context("cannot build the notification client")?;
        Ok(Notifier {
            url: url.to_owned(),
            client,
            announced: Mutex::new(None),
        })
    }

    /// The URL, which often holds a token itself (Slack's do), for the redactor.
    pub(super) fn url(&self) -> &str {
        &self.url
    }

    /// Announces `last` unless it is in sync or was announced already. `Ok(false)`: nothing
    /// was sent.
    pub(super) async fn after(
        &self,
        last: &Last,
        revision: Option<&str>,
        redactor: &Redactor,
    ) -> anyhow::Result<bool> {
        let Some((fingerprint, text)) = message(last, revision) else {
            *lock(&self.announced) = None;
            return Ok(false);
        };
        {
            let mut announced = lock(&self.announced);
            if announced.as_deref() == Some(&fingerprint[..]) {
                return Ok(false);
            }
            *announced = Some(fingerprint);
        }
        // Slack and Teams show the text as it is: a bidirectional override in a key would
        // reorder the message. Redacted first, while the secrets are still as written; the
        // line breaks of a list of problems stay.
        let text = crate::text::terminal(&redactor.apply(&text), false);
        let mut body = serde_json::json!({
            "text": text,
            "result": last.result.as_str(),
            "changes": last.changes,
            "revision": revision,
        });
        redactor.value(&mut body);
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(crate::text::json_line(&body))
            .send()
            .await
            .map_err(|err| anyhow::anyhow!("{}", err.without_url()))?;
        let status = response.status();
        anyhow::ensure!(
            status.is_success(),
            "the notification was answered {status}"
        );
        Ok(true)
    }
}

/// What to announce about `last`, and what makes it the same announcement as another; `None`
/// when in sync.
fn message(last: &Last, revision: Option<&str>) -> Option<(Vec<u8>, String)> {
    let at = revision.map(|r| format!(" at {r}")).unwrap_or_default();
    let names = || {
        let mut names: Vec<String> = last
            .plan
            .iter()
            .take(NAMED)
            .map(|c| format!("{} {}", c.kind, c.key))
            .collect();
        if last.plan.len() > NAMED {
            names.push(format!("and {} more", last.plan.len() - NAMED));
        }
        names.join(", ")
    };
    let changes = crate::render::count(last.changes, "change", "changes");
    let text = match last.result {
        Outcome::InSync => return None,
        Outcome::Drift => format!(
            "slascone-sync: SLASCONE differs from the manifests{at}: {changes} pending ({})",
            names()
        ),
        Outcome::Applied => format!("slascone-sync applied {changes}{at}: {}", names()),
        Outcome::Blocked => format!(
            "slascone-sync did not apply {changes}{at}: {}",
            last.blocked
                .iter()
                .map(|b| format!("{} ({})", b.message, b.rule))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Outcome::Failed => format!(
            "slascone-sync: a reconcile failed{at}: {}",
            last.error.as_deref().unwrap_or("no reason given")
        ),
    };
    let mut digest = Sha256::new();
    digest.update(last.result.as_str());
    digest.update([0]);
    // The plan as rendered holds every change's fields, so a plan that differs in any value
    // is announced anew.
    digest.update(last.plan_text.as_deref().unwrap_or(""));
    digest.update([0]);
    digest.update(last.error.as_deref().unwrap_or(""));
    Some((digest.finalize().to_vec(), text))
}
