//! The command line: clap derive types. Their doc comments are the `--help` text.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

pub use crate::plan::ids::IdsFormat;
pub use crate::render::Format;
pub use crate::sandbox::{EmptyAnswer, PageZero, PatchSemantics};
pub use crate::schema::SchemaKind;

/// Keep SLASCONE customers and licenses in git: plan and apply YAML manifests.
#[derive(Debug, Parser)]
#[command(name = "slascone-sync", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Use the named profile of `environments` in slascone.yaml.
    #[arg(long, global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// Override the SLASCONE API base URL of slascone.yaml.
    #[arg(long, global = true, value_name = "URL")]
    pub api_url: Option<String>,
    /// Override the ISV id of slascone.yaml.
    #[arg(long, global = true, value_name = "UUID")]
    pub isv_id: Option<Uuid>,
    /// Run against an embedded sandbox seeded from `sandbox.catalog`, state kept in
    /// `.slascone-sandbox.json` beside slascone.yaml.
    #[arg(long, global = true)]
    pub sandbox: bool,
    /// Log every request (method, path, status) to stderr.
    #[arg(long, global = true)]
    pub verbose: bool,
    /// Give up on a request to SLASCONE after this many seconds, retries included (one attempt
    /// gets at most 60 seconds, a connection 10).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = crate::remote::DEFAULT_TOTAL_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// Never colour the output (also: the NO_COLOR environment variable, or a pipe).
    #[arg(long, global = true)]
    pub no_color: bool,
}

/// The values the flags have when none is given.
impl Default for GlobalArgs {
    fn default() -> Self {
        GlobalArgs {
            env: None,
            api_url: None,
            isv_id: None,
            sandbox: false,
            verbose: false,
            timeout: crate::remote::DEFAULT_TOTAL_TIMEOUT.as_secs(),
            no_color: false,
        }
    }
}

/// The `Examples:` section of a subcommand's help: one command line each, as a shell takes it.
macro_rules! examples {
    ($($line:literal),+ $(,)?) => {
        concat!("Examples:", $("\n  slascone-sync ", $line),+)
    };
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the manifests offline: syntax, schema, identities, references.
    #[command(after_help = examples!("validate examples/quickstart"))]
    Validate(ValidateArgs),
    /// Read SLASCONE and show what apply would change.
    #[command(after_help = examples!(
        "plan --sandbox examples/quickstart",
        "plan --format markdown --out plan.json --detailed-exitcode"
    ))]
    Plan(PlanArgs),
    /// Plan, confirm, and send the changes to SLASCONE.
    #[command(after_help = examples!(
        "apply --sandbox --auto-approve examples/quickstart",
        "apply --plan plan.json --auto-approve"
    ))]
    Apply(ApplyArgs),
    /// Run a local SLASCONE-compatible server (for tests, demos and CI).
    #[command(after_help = examples!(
        "sandbox --listen 127.0.0.1:8080 --isv-id 2af5fe02-6207-4214-946e-b00ac5309f53 --admin-key secret --catalog catalog.yaml"
    ))]
    Sandbox(SandboxArgs),
    /// Print the JSON Schema of the manifest files.
    #[command(after_help = examples!("schema > schema/manifest.schema.json"))]
    Schema(SchemaArgs),
    /// Write what SLASCONE holds now as manifests: the first step of adopting slascone-sync.
    ///
    /// The tenant is the one plan would read: SOURCE_DIR's slascone.yaml and the global flags.
    /// Review the files, commit them, and `plan` shows No changes.
    #[command(after_help = examples!(
        "export --sandbox --out exported examples/quickstart",
        "export --api-url https://api365.slascone.com --isv-id 2af5fe02-6207-4214-946e-b00ac5309f53 --out slascone"
    ))]
    Export(ExportArgs),
    /// Write SLASCONE's values of the managed fields back into the manifests, in place.
    ///
    /// Reads SLASCONE as plan does. A field written in a manifest whose value SLASCONE holds
    /// otherwise (edited in the portal) gets SLASCONE's value; only that value's text changes, so
    /// comments, key order, anchors and quoting stay. Values an edition gives, fields under
    /// ignore_changes, and values that cannot be rewritten in place are reported, not written.
    /// Exit 3 names a file that changed since it was read: it is not overwritten.
    #[command(after_help = examples!(
        "pull --sandbox examples/quickstart",
        "pull --dry-run slascone > pull.diff"
    ))]
    Pull(PullArgs),
    /// Convert ERP/CRM CSV exports (customers, and optionally licenses) to manifests, offline.
    ///
    /// Customer columns: customer_number, customer_name, customer_type, country (required),
    /// street, zip, city, phone, email, prospect_number. License columns: customer_number,
    /// product, edition, legacy_license_key, token_limit, expiration_date (required), license_type,
    /// goodwill_token_limit, floating_token_limit, user_limit, active, name, description,
    /// start_date, software_release_limitation, temporary. Any bad row: every problem is listed as
    /// file:row:column and nothing is written.
    #[command(after_help = examples!(
        "import-csv --customers customers.csv --licenses licenses.csv --delimiter ';' --out slascone"
    ))]
    ImportCsv(ImportCsvArgs),
    /// Merge an ERP/CRM export (CSV or .xlsx) into the manifests in place, offline.
    ///
    /// The mapping file says which export column feeds which manifest field, how the export
    /// writes dates and empty cells, and the ERP codes of product and edition names (see
    /// docs/erp.md). A customer or license already in the manifests, found by its identity
    /// wherever it is written, gets the export's values of the mapped fields: only the changed
    /// values' text changes, so comments, order and every unmapped field stay. A new customer
    /// gets a file of its own (`customers/<number>.yaml`), a new license goes into its customer's
    /// list. A full export names what it lacks; nothing is deleted. Any bad row: every problem
    /// is listed as file:row:column (a sheet's cell for .xlsx) and nothing is written. A second
    /// run with the same export changes nothing.
    #[command(after_help = examples!(
        "ingest --mapping erp/mapping.yaml --customers kunden.csv --licenses vertraege.csv slascone",
        "ingest --mapping erp/mapping.yaml --customers changes.xlsx --partial --dry-run slascone"
    ))]
    Ingest(IngestArgs),
    /// Print the SLASCONE ids of the managed licenses and customers, for the ERP to store.
    ///
    /// Reads SLASCONE as plan does and matches each license and customer of the manifests as
    /// plan matches them: one row per license (customer number, customer id, product, legacy
    /// key, license id, and the customer's two portal links), then one per customer without a
    /// license. An object SLASCONE does not hold yet (apply would create it) has empty ids, and
    /// stderr counts them. CSV (the default) or JSON on stdout.
    #[command(after_help = examples!(
        "ids --sandbox examples/quickstart",
        "ids --format json slascone > ids.json"
    ))]
    Ids(IdsArgs),
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish.
    #[command(after_help = examples!(
        "completions bash > ~/.local/share/bash-completion/completions/slascone-sync",
        "completions zsh > ~/.zfunc/_slascone-sync",
        "completions fish > ~/.config/fish/completions/slascone-sync.fish"
    ))]
    Completions(CompletionsArgs),
    /// Reconcile continuously: plan (and in apply mode, apply) at every interval and on webhooks,
    /// with health, readiness, metrics, a status JSON and a status page over HTTP.
    ///
    /// DIR is read afresh at every reconcile (keep it current with e.g. a git-sync sidecar), or
    /// --git fetches a branch in-process before every reconcile.
    /// SIGTERM or SIGINT starts no new reconcile, lets one in flight finish within --grace, and
    /// exits 0. See docs/agent.md.
    #[command(after_help = examples!(
        "agent --interval 5m slascone",
        "agent --mode apply --listen 0.0.0.0:9090 --webhook-secret-env WEBHOOK_SECRET slascone"
    ))]
    Agent(AgentArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The manifest directory (holds slascone.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// Options of the read that plan and apply start with.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// Page size of the license listing and of the usage reads behind a lowered limit.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub page_size: u32,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The manifest directory (holds slascone.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Output format of the plan on stdout.
    #[arg(long, default_value = "text", value_parser = choice::<FormatArg, Format>())]
    pub format: Format,
    /// Also save the plan as JSON, for `apply --plan`.
    #[arg(long, value_name = "PLAN.json")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there are changes, 0 when there are none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The manifest directory (holds slascone.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Apply exactly this saved plan (from `plan --out`), if nothing it touches changed since.
    #[arg(long, value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// Do not ask for confirmation (for CI).
    #[arg(long)]
    pub auto_approve: bool,
    /// Apply even a plan with more changes than `safety.max_changes` or a change riskier than
    /// `safety.max_risk`.
    #[arg(long)]
    pub force: bool,
    /// Output format of the apply report on stdout.
    #[arg(long, default_value = "text", value_parser = choice::<FormatArg, Format>())]
    pub format: Format,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The directory whose slascone.yaml names the tenant to read; without one, --isv-id (and
    /// --api-url) name it.
    #[arg(default_value = ".", value_name = "SOURCE_DIR")]
    pub dir: PathBuf,
    /// The directory to write slascone.yaml and customers/*.yaml to; it must be empty or new.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Export only the licenses of this product (repeatable; default: all products).
    #[arg(long, value_name = "NAME")]
    pub product: Vec<String>,
    /// Export only this customer, by customer_number or id (repeatable; default: all).
    #[arg(long, value_name = "NUMBER")]
    pub customer: Vec<String>,
    /// Write into an output directory that already holds files (files of the same name are
    /// replaced, others kept).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// The manifest directory (holds slascone.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Print a unified diff of the files on stdout (the report goes to stderr) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct ImportCsvArgs {
    /// The customers CSV file (header row first).
    #[arg(long, value_name = "FILE")]
    pub customers: PathBuf,
    /// The licenses CSV file (header row first); its customer_numbers must be in --customers.
    #[arg(long, value_name = "FILE")]
    pub licenses: Option<PathBuf>,
    /// The column separator: one character such as `,`, `;`, or `tab`.
    #[arg(long, value_name = "C", default_value = ",", value_parser = crate::authoring::import_csv::parse_delimiter)]
    pub delimiter: u8,
    /// The directory to write slascone.yaml and customers/*.yaml to; it must be empty or new.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Write into an output directory that already holds files (files of the same name are
    /// replaced, others kept).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The manifest directory (holds slascone.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The mapping file: export columns to manifest fields (docs/erp.md).
    #[arg(long, value_name = "FILE")]
    pub mapping: PathBuf,
    /// The customers export: CSV, or .xlsx (its first sheet, or the mapping's `sheet`).
    #[arg(long, value_name = "FILE")]
    pub customers: PathBuf,
    /// The licenses export; a license's customer is in --customers or in the manifests.
    #[arg(long, value_name = "FILE")]
    pub licenses: Option<PathBuf>,
    /// The exports hold changes only: what they lack is not missing.
    #[arg(long)]
    pub partial: bool,
    /// Print a unified diff of the files on stdout (the report goes to stderr) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct IdsArgs {
    /// The manifest directory (holds slascone.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Output format on stdout.
    #[arg(long, default_value = "csv", value_parser = choice::<IdsFormatArg, IdsFormat>())]
    pub format: IdsFormat,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema to print.
    #[arg(long, default_value = "manifest", value_parser = choice::<SchemaKindArg, SchemaKind>())]
    pub kind: SchemaKind,
}

#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The ISV id served under /api/v2/isv/{isv_id}/.
    #[arg(long)]
    pub isv_id: Uuid,
    /// The AdminKey clients must send (or the environment variable SLASCONE_SANDBOX_ADMIN_KEY).
    #[arg(long, env = "SLASCONE_SANDBOX_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: String,
    /// Catalog file (YAML) with customer types, license types and products.
    #[arg(long)]
    pub catalog: PathBuf,
    /// Load the state from this file on start, and append every write to it before answering.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Fixed latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of API requests answered 500 or 503 before they are applied (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Requests per second allowed; more are answered 429 with Retry-After (0 = no limit).
    #[arg(long, default_value_t = 0)]
    pub rate_limit: u32,
    /// Share of writes that are applied and then answered by closing the connection.
    #[arg(long, default_value_t = 0.0)]
    pub drop_after_commit: f64,
    /// What PATCH /customers and PATCH /licenses do with fields left out of the body.
    #[arg(long, default_value = "merge", value_parser = choice::<PatchSemanticsArg, PatchSemantics>())]
    pub patch_semantics: PatchSemantics,
    /// Number of the first page of the license listings (and of a license's assignments, unless
    /// --assignments-page-base says otherwise).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub page_base: u8,
    /// With --page-base 1: what page 0 answers (the rows of page 1, none, 400 or 404).
    #[arg(long, default_value = "same", value_parser = choice::<PageZeroArg, PageZero>())]
    pub page_zero: PageZero,
    /// The most rows a page of those listings holds; bigger page sizes are capped.
    #[arg(long, value_name = "N", default_value_t = crate::sandbox::MAX_PAGE_SIZE as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_page_size: u32,
    /// Number of the first page of a license's assignments, where it differs from the license
    /// listings' (SLASCONE documents neither).
    #[arg(long, value_name = "0|1", value_parser = clap::value_parser!(u8).range(0..=1))]
    pub assignments_page_base: Option<u8>,
    /// With an assignments page base of 1: what their page 0 answers, where it differs.
    #[arg(long, value_name = "same|empty|400|404", value_parser = choice::<PageZeroArg, PageZero>())]
    pub assignments_page_zero: Option<PageZero>,
    /// The most rows a page of a license's assignments holds, where it differs.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub assignments_max_page_size: Option<u32>,
    /// How a listing with nothing in it is answered: 200 with `[]`, or 204 without a body.
    #[arg(long, value_name = "200|204", default_value = "200", value_parser = choice::<EmptyAnswerArg, EmptyAnswer>())]
    pub empty_listing: EmptyAnswer,
    /// How a successful write is answered: 200 with the object, or 204 without a body.
    #[arg(long, value_name = "200|204", default_value = "200", value_parser = choice::<EmptyAnswerArg, EmptyAnswer>())]
    pub write_answer: EmptyAnswer,
}

/// A flag whose values are the variants of `A` (clap's view: names and help) and whose parsed
/// value is the library's `T`, so no module below the CLI layer derives a clap trait.
fn choice<A, T>() -> clap::builder::MapValueParser<clap::builder::EnumValueParser<A>, fn(A) -> T>
where
    A: clap::ValueEnum + Clone + Send + Sync + 'static,
    T: From<A> + Clone + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser;
    clap::builder::EnumValueParser::<A>::new().map(T::from as fn(A) -> T)
}

/// Mirrors an enum of the library for clap: the same variants, named and documented for
/// `--help`, each mapped onto the library's.
macro_rules! choices {
    ($arg:ident => $lib:ty { $($(#[$meta:meta])* $variant:ident),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, clap::ValueEnum)]
        enum $arg {
            $($(#[$meta])* $variant),+
        }

        impl From<$arg> for $lib {
            fn from(arg: $arg) -> Self {
                match arg {
                    $($arg::$variant => <$lib>::$variant),+
                }
            }
        }
    };
}

choices!(FormatArg => Format {
    /// Terraform-style `+`/`~` blocks with field-level changes.
    Text,
    /// The plan JSON (format_version 2), as read by `apply --plan`.
    Json,
    /// A pull-request comment: summary table and collapsible changes, under 65,536 characters.
    Markdown,
});

choices!(IdsFormatArg => IdsFormat {
    /// A header row, then one row per license or customer; what SLASCONE lacks is empty.
    Csv,
    /// An array of objects named as the CSV columns; what SLASCONE lacks is null.
    Json,
});

choices!(SchemaKindArg => SchemaKind {
    /// Manifest files (customers and their licenses).
    Manifest,
    /// The project file, slascone.yaml.
    Project,
    /// The plan JSON of `plan --format json` and `plan --out`.
    Plan,
    /// The mapping file of `ingest`.
    Mapping,
});

choices!(PatchSemanticsArg => PatchSemantics {
    /// Fields left out of a PATCH body keep their value.
    Merge,
    /// Fields left out of a PATCH body are cleared.
    Replace,
});

choices!(PageZeroArg => PageZero {
    /// The same rows as page 1.
    Same,
    /// No rows.
    Empty,
    /// 400 Bad Request.
    #[value(name = "400")]
    BadRequest,
    /// 404 Not Found.
    #[value(name = "404")]
    NotFound,
});

choices!(EmptyAnswerArg => EmptyAnswer {
    /// 200 with the body (`[]` for an empty listing).
    #[value(name = "200")]
    Ok,
    /// 204 and no body.
    #[value(name = "204")]
    NoContent,
});

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The manifest directory (holds slascone.yaml), read afresh at every reconcile [default: .].
    #[arg(conflicts_with = "git")]
    pub dir: Option<PathBuf>,
    /// Fetch the manifests from this git repository (https:// or file://) before every
    /// reconcile, in-process, instead of reading DIR.
    #[arg(long, value_name = "URL")]
    pub git: Option<String>,
    /// The branch of --git whose head is reconciled.
    #[arg(long, value_name = "NAME", default_value = "main", requires = "git")]
    pub branch: String,
    /// The manifest directory inside the --git repository.
    #[arg(long, value_name = "SUBDIR", default_value = ".", requires = "git")]
    pub path: PathBuf,
    /// Where --git keeps its clone [default: slascone-sync/agent/ under the system's cache
    /// directory].
    #[arg(long, value_name = "DIR", requires = "git")]
    pub cache_dir: Option<PathBuf>,
    /// The environment variable holding a token for an HTTPS --git repository (sent as the
    /// password of the user x-access-token).
    #[arg(long, value_name = "NAME", requires = "git")]
    pub git_token_env: Option<String>,
    /// detect: plan only and report drift; apply: also apply, within safety.max_changes and
    /// safety.max_risk (a plan beyond either is reported as blocked).
    #[arg(long, default_value = "detect", value_parser = choice::<ModeArg, crate::agent::Mode>())]
    pub mode: crate::agent::Mode,
    /// Time between reconciles, e.g. 30s, 5m, 1h30m; failures retry sooner, with backoff.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::agent::duration::parse)]
    pub interval: std::time::Duration,
    /// Address of the HTTP endpoints (/healthz, /readyz, /metrics, /status, /, the triggers).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9090")]
    pub listen: SocketAddr,
    /// /readyz answers 503 after this many failed reconciles in a row.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub unready_after: u32,
    /// The environment variable holding the bearer token of POST /reconcile (404 without it).
    #[arg(long, value_name = "NAME")]
    pub api_token_env: Option<String>,
    /// The environment variable holding the secret of POST /hooks/github and /hooks/gitlab
    /// (404 without it).
    #[arg(long, value_name = "NAME")]
    pub webhook_secret_env: Option<String>,
    /// POST a JSON message with a `text` field (as Slack and Teams incoming webhooks take) here
    /// when drift is found, changes are applied, or a reconcile is blocked or fails; the same
    /// plan is announced once.
    #[arg(long, value_name = "URL")]
    pub notify_url: Option<String>,
    /// Log lines as text (key=value) or JSON, one per line on stderr.
    #[arg(long, default_value = "text", value_parser = choice::<LogFormatArg, crate::agent::LogFormat>())]
    pub log_format: crate::agent::LogFormat,
    /// On SIGTERM or SIGINT, how long a reconcile in flight may take to finish.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::agent::duration::parse)]
    pub grace: std::time::Duration,
    #[command(flatten)]
    pub read: ReadArgs,
}

choices!(ModeArg => crate::agent::Mode {
    /// Plan only, and report drift.
    Detect,
    /// Apply what the plan holds, within the project's safety rules.
    Apply,
});

choices!(LogFormatArg => crate::agent::LogFormat {
    /// `2026-12-02T03:04:05Z reconcile result=drift trigger=interval changes=2 …`
    Text,
    /// `{"time":"…","event":"reconcile","result":"drift","trigger":"interval",…}`
    Json,
});
