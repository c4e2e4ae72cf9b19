//! Dispatcher entry point (the container's command): reads the configuration from the
//! environment, refuses to start with a clear message when it is wrong, serves /health and
//! /metrics, and runs until SIGTERM or Ctrl-C, then shuts down gracefully.

use std::sync::Arc;

use anyhow::Context;
use dispatcher::{Dispatcher, DispatcherConfig, SystemClock, ops};
use tokio::io::AsyncWriteExt;

/// glibc malloc was a fifth of the delivery path's CPU (many small, short-lived allocations
/// across threads); mimalloc handles that pattern with far less contention.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = match DispatcherConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("dispatcher: {e}");
            std::process::exit(2);
        }
    };
    init_tracing(config.env.is_production());
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
        .context("metrics buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;

    let ops_bind = config.ops_bind;
    let (sha, env, instance_id) = (config.sha.clone(), config.env, config.instance_id.clone());
    tracing::info!(instance_id = %instance_id, env = %env, allow_targets = ?config.allow_targets, "dispatcher starting");
    let dispatcher = Dispatcher::start(config, Arc::new(SystemClock))?;

    let listener = tokio::net::TcpListener::bind(ops_bind).await.with_context(|| format!("binding {ops_bind}"))?;
    let addr = listener.local_addr()?;
    let mut stdout = tokio::io::stdout();
    stdout.write_all(format!("listening on http://{addr}\n").as_bytes()).await?;
    stdout.flush().await?;
    let app = ops::router(ops::OpsState {
        pool: dispatcher.pool.clone(),
        status: dispatcher.status.clone(),
        sha,
        env,
        instance_id,
        metrics: Some(metrics),
    });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    shutdown_signal().await;
    tracing::info!("shutdown requested");
    dispatcher.shutdown().await;
    server.abort();
    Ok(())
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
