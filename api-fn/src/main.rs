//! api-fn entry point: `api-fn [serve]` runs the router under the Lambda runtime when
//! `AWS_LAMBDA_RUNTIME_API` is set, else on a local listener (printing `listening on http://…`
//! as its first stdout line); `api-fn migrate [--database-url URL]` applies migrations and exits;
//! `api-fn create-org --slug S --name N [--tier free|pro] [--key-name K]` creates an organization
//! with a signing secret and an API key and prints them as JSON (the secrets are shown once).

use anyhow::{Context, bail};
use api_fn::{AppState, Config, router};
use store::PoolSettings;
use tokio::io::AsyncWriteExt;

/// Request handling allocates many small, short-lived buffers across threads; mimalloc does that
/// with less contention than glibc malloc (as in the dispatcher).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("migrate") => migrate(&args[1..]).await,
        Some("create-org") => create_org(&args[1..]).await,
        Some(other) => bail!("unknown command {other:?}\n{USAGE}"),
    }
}

const USAGE: &str = "usage: api-fn [serve]
       api-fn migrate [--database-url URL]
       api-fn create-org --slug SLUG --name NAME [--tier free|pro] [--key-name NAME] [--database-url URL]";

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

async fn serve() -> anyhow::Result<()> {
    let lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    let config = Config::from_env()?;
    init_tracing(lambda || config.env == api_fn::config::Environment::Production);
    let pool = store::connect(
        &config.database_url,
        &PoolSettings { max_connections: config.db_max_connections, application_name: "prikke-api", ..Default::default() },
    )
    .context("DATABASE_URL is not a usable Postgres URL")?;
    if config.migrate_on_start {
        store::migrate(&pool).await.context("applying migrations")?;
    }
    let bind = config.bind;
    let app = router(AppState::new(pool, config));
    if lambda {
        tracing::info!("serving under the Lambda runtime");
        lambda_http::run(app).await.map_err(|e| anyhow::anyhow!(e))?;
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
    let addr = listener.local_addr()?;
    let mut stdout = tokio::io::stdout();
    stdout.write_all(format!("listening on http://{addr}\n").as_bytes()).await?;
    stdout.flush().await?;
    tracing::info!(%addr, "api-fn listening");
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn migrate(args: &[String]) -> anyhow::Result<()> {
    init_tracing(false);
    let url = match args {
        [] => std::env::var("DATABASE_URL").context("DATABASE_URL is required (or pass --database-url URL)")?,
        [flag, url] if flag == "--database-url" => url.clone(),
        _ => bail!("usage: api-fn migrate [--database-url URL]"),
    };
    let pool = store::connect(&url, &PoolSettings::default())?;
    store::migrate(&pool).await.context("applying migrations")?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn create_org(args: &[String]) -> anyhow::Result<()> {
    init_tracing(false);
    let mut slug = None;
    let mut name = None;
    let mut tier = domain::tier::Tier::Free;
    let mut key_name = "default".to_owned();
    let mut url = std::env::var("DATABASE_URL").ok();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--slug" => slug = Some(value.clone()),
            "--name" => name = Some(value.clone()),
            "--tier" => tier = value.parse().map_err(|e| anyhow::anyhow!("{e}"))?,
            "--key-name" => key_name = value.clone(),
            "--database-url" => url = Some(value.clone()),
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    let (Some(slug), Some(name)) = (slug, name) else { bail!("--slug and --name are required\n{USAGE}") };
    let url = url.context("DATABASE_URL is required (or pass --database-url URL)")?;
    // read as every service reads it: `prod` is production too (before, it sealed with the development key)
    let env = domain::runtime::Environment::from_setting(std::env::var(domain::runtime::ENV_VAR).ok().as_deref()).map_err(|e| anyhow::anyhow!(e))?;
    let production = env.is_production();
    let master = store::keyring::master_keys_setting(std::env::var("PRIKKE_ENCRYPTION_KEYS").ok().as_deref(), production).map_err(|e| anyhow::anyhow!(e))?;
    let pool = store::connect(&url, &PoolSettings { max_connections: 1, ..PoolSettings::default() })?;
    let created = api_fn::provision::create_organization(
        &pool,
        &store::keyring::Keyring::new(master),
        &api_fn::provision::NewOrganization { name: &name, slug: &slug, tier, key_name: &key_name },
    )
    .await?;
    println!("{}", serde_json::to_string_pretty(&created)?);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
