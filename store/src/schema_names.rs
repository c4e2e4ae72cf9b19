//! The names the schema's CHECK constraints allow are the domain's, no more and no fewer: the
//! migrations and `domain` spell each stored enum once each, and this test holds them together.

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use domain::account::{LinkPurpose, MailKind, Role};
    use domain::alert::AlertKind;
    use domain::audit::AuditAction;
    use domain::billing::PauseReason;
    use domain::execution::{ExecutionStatus, Source};
    use domain::monitor::{MonitorStatus, PingKind};
    use domain::notification::{ChannelKind, SendStatus};
    use domain::tier::Tier;
    use sqlx::PgPool;

    /// The quoted names in the CHECK constraint of `table` that mentions `column`.
    async fn allowed(pool: &PgPool, table: &str, column: &str) -> BTreeSet<String> {
        let defs: Vec<String> = sqlx::query_scalar(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'",
        )
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
        let def = defs
            .iter()
            .find(|d| [format!("({column} = "), format!("({column})::text = "), format!("({column} <@ ")].iter().any(|p| d.contains(p)))
            .unwrap_or_else(|| panic!("no CHECK on {table}.{column} in {defs:?}"));
        def.split('\'').skip(1).step_by(2).map(str::to_owned).collect()
    }

    fn names<T: std::fmt::Display>(values: &[T]) -> BTreeSet<String> {
        values.iter().map(ToString::to_string).collect()
    }

    /// Every stored enum: its table and column, and the names the domain has for it.
    fn stored_enums() -> Vec<(&'static str, &'static str, BTreeSet<String>)> {
        let final_attempts = [ExecutionStatus::Success, ExecutionStatus::Failed, ExecutionStatus::Timeout];
        let invitable = [Role::Member, Role::Admin];
        vec![
            ("executions", "status", names(ExecutionStatus::ALL)),
            ("executions", "source", names(Source::ALL)),
            ("execution_attempts", "status", names(&final_attempts)),
            ("monitors", "status", names(MonitorStatus::ALL)),
            ("pings", "kind", names(PingKind::ALL)),
            ("alert_events", "kind", names(AlertKind::ALL)),
            ("organizations", "tier", names(&Tier::ALL)),
            ("notification_channels", "kind", names(ChannelKind::ALL)),
            ("notification_deliveries", "status", names(SendStatus::ALL)),
            ("jobs", "paused_reason", names(PauseReason::ALL)),
            ("audit_log", "action", names(AuditAction::ALL)),
            ("memberships", "role", names(Role::ALL)),
            ("invites", "role", names(&invitable)),
            ("email_tokens", "purpose", names(LinkPurpose::ALL)),
            ("outgoing_mail", "kind", names(MailKind::ALL)),
            // the event filter's own CHECK lists every alert kind
            ("notification_channels", "events", names(AlertKind::ALL)),
        ]
    }

    /// What the code writes, the schema takes. This half must also hold for the previous
    /// release's code on today's schema (`scripts/migration-compat.sh` runs it there).
    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn every_name_the_domain_has_is_allowed_by_the_schema(pool: PgPool) {
        for (table, column, domain) in stored_enums() {
            let schema = allowed(&pool, table, column).await;
            let missing: Vec<_> = domain.difference(&schema).collect();
            assert!(missing.is_empty(), "{table}.{column}: the schema does not allow {missing:?}");
        }
    }

    /// And no more: a name only the schema knows is one the code cannot read back. An expand
    /// migration breaks this for the previous release on purpose, so the compatibility check
    /// leaves this half out.
    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn the_schema_allows_no_name_the_domain_lacks(pool: PgPool) {
        for (table, column, domain) in stored_enums() {
            let schema = allowed(&pool, table, column).await;
            let extra: Vec<_> = schema.difference(&domain).collect();
            assert!(extra.is_empty(), "{table}.{column}: the schema allows {extra:?}, which the domain does not have");
        }
    }
}
